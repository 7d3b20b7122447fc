import assert from 'node:assert/strict';
import { parsePolicy } from '../../src/config/policy-file';
import { startLocalPeers } from '../../src/dev/local-peers';
import { freePort } from '../../src/dev/ports';

/**
 * `npm start` with `TENURE_POLICY` set: a stand-in is started for every system the policy names on this machine,
 * and a system elsewhere is named as left alone, never skipped silently.
 */
describe('npm start with a policy of its own: local stand-ins for what is local, the rest said', () => {
  it('starts a SCIM server on the port the policy names, and says which system it did not start', async () => {
    const port = await freePort();
    const policy = parsePolicy({
      systems: [
        {
          id: 'idp',
          name: 'IdP',
          kind: 'identity-provider',
          connector: { type: 'scim', baseUrl: `http://127.0.0.1:${port}/scim/v2` },
        },
        {
          id: 'github',
          name: 'GitHub',
          kind: 'app',
          connector: { type: 'scim', baseUrl: 'https://api.github.example/scim/v2/organizations/acme' },
          dependsOn: ['idp'],
        },
      ],
      birthright: [{ name: 'everyone', systems: ['idp', 'github'] }],
    });
    const peers = await startLocalPeers(policy.policy, {});
    try {
      assert.deepEqual([...peers.scim.keys()], ['idp']);
      const res = await fetch(`http://127.0.0.1:${port}/scim/v2/ServiceProviderConfig`);
      assert.equal(res.status, 200, 'the stand-in answers on the policy port');
      const lines = peers.describe().join('\n');
      assert.match(lines, /SCIM idp .*local stand-in/);
      assert.match(lines, /github .*not on this machine: no stand-in/);
    } finally {
      await peers.close();
    }
  });
});
