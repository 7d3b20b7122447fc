import assert from 'node:assert/strict';
import { ConnectorError, isGroupCapable, type AccountSpec } from '../../src/activities/identity';
import { ScimConnector, type ScimDialect } from '../../src/activities/scim/client';
import { SCIM_VENDORS, startScimPeer, type ScimPeer, type ScimVendor } from '../../src/dev/scim-peer';

const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

function spec(n: number | string, overrides: Partial<AccountSpec> = {}): AccountSpec {
  return {
    hrId: `hr-${n}`,
    userName: `user${n}@example.com`,
    givenName: `Given${n}`,
    familyName: `Family${n}`,
    email: `user${n}@example.com`,
    title: 'Engineer',
    department: 'R&D',
    active: true,
    ...overrides,
  };
}

async function rejection(promise: Promise<unknown>): Promise<ConnectorError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ConnectorError, `expected ConnectorError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

async function raw(peer: ScimPeer, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${peer.url}${path}`, {
    method,
    headers: { 'content-type': 'application/scim+json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** What a PATCH to /Users asked for, from the peer's request log. */
function patchBodies(peer: ScimPeer): unknown[] {
  return peer.requests.filter((r) => r.method === 'PATCH' && r.path.includes('/Users/')).map((r) => r.body);
}

describe('SCIM vendor dialects against the peer in each vendor mode', function () {
  this.timeout(20_000);

  for (const vendor of SCIM_VENDORS) {
    const dialect: ScimDialect = vendor;

    describe(`${vendor}: the whole account lifecycle with the ${dialect} dialect`, () => {
      let peer: ScimPeer;
      const connector = (patchStyle?: 'value' | 'path'): ScimConnector =>
        new ScimConnector({ systemId: vendor, baseUrl: peer.url, dialect, ...(patchStyle ? { patchStyle } : {}) });

      beforeEach(async () => {
        peer = await startScimPeer({ name: vendor, vendor });
      });
      afterEach(async () => {
        await peer.close();
      });

      it('creates, then adopts: one account', async () => {
        const scim = connector();
        const first = await scim.ensureAccount(spec(1));
        assert.equal(first.outcome, 'created');
        assert.equal(first.account.active, true);
        const again = await scim.ensureAccount(spec(1));
        assert.equal(again.outcome, 'adopted', 'nothing differs, so nothing is written');
        assert.equal(again.account.id, first.account.id);
        assert.equal(peer.users().length, 1);
        assert.equal((await scim.findByHrKey('hr-1'))?.id, first.account.id, 'found by HR id alone');
        assert.deepEqual(
          (await collect(scim.listAccounts())).map((a) => [a.hrId, a.active]),
          [['hr-1', true]],
        );
      });

      for (const patchStyle of ['value', 'path'] as const) {
        it(`deactivates with PATCH active=false in the ${patchStyle} form`, async () => {
          const scim = connector(patchStyle);
          const { account } = await scim.ensureAccount(spec(2));
          const off = await scim.setActive(account.id, false);
          assert.equal(off.active, false);
          assert.equal(off.id, account.id);

          const sent = patchBodies(peer).at(-1) as { Operations: Record<string, unknown>[] };
          assert.deepEqual(
            sent.Operations,
            patchStyle === 'value'
              ? [{ op: 'replace', value: { active: false } }]
              : [{ op: 'replace', path: 'active', value: false }],
          );

          if (vendor === 'github') {
            assert.equal(peer.users().length, 0, 'GitHub: deactivation removes the user');
            assert.equal(await scim.findByHrKey('hr-2'), undefined);
          } else {
            assert.equal(peer.users()[0]?.active, false);
            assert.equal((await scim.findByHrKey('hr-2'))?.active, false);
          }
          // Again (a retry after a lost answer): still fine, still off.
          assert.equal((await scim.setActive(account.id, false)).active, false);
          if (vendor !== 'github') assert.equal((await scim.setActive(account.id, true)).active, true);
        });
      }

      it('deletes; deleting again is fine', async () => {
        const scim = connector();
        const { account } = await scim.ensureAccount(spec(3));
        await scim.delete(account.id);
        if (vendor === 'slack') {
          assert.equal(peer.users().length, 1, 'Slack: DELETE only deactivates');
          assert.equal(peer.users()[0]?.active, false);
          assert.equal((await scim.findByHrKey('hr-3'))?.active, false);
        } else {
          assert.equal(peer.users().length, 0);
        }
        await scim.delete(account.id);
      });

      it('adds and removes group members, by display name or id, idempotently', async () => {
        const scim = connector();
        assert.ok(isGroupCapable(scim));
        const { account } = await scim.ensureAccount(spec(4));
        const other = await scim.ensureAccount(spec(5));
        const groupId = peer.createGroup('Engineering', [other.account.id]);

        assert.deepEqual(await scim.addToGroup('Engineering', account.id), { groupId, outcome: 'changed' });
        assert.deepEqual(await scim.addToGroup(groupId, account.id), { groupId, outcome: 'unchanged' });
        assert.deepEqual(peer.groupMembers(groupId), [other.account.id, account.id]);

        assert.deepEqual(await scim.removeFromGroup('Engineering', account.id), { groupId, outcome: 'changed' });
        assert.deepEqual(await scim.removeFromGroup(groupId, account.id), { groupId, outcome: 'unchanged' });
        assert.deepEqual(peer.groupMembers(groupId), [other.account.id], 'the other member stays');

        const groupPatches = peer.requests.filter((r) => r.method === 'PATCH' && r.path.includes('/Groups/'));
        const removal = (groupPatches.at(-1)?.body as { Operations: unknown[] }).Operations;
        assert.deepEqual(
          removal,
          vendor === 'github'
            ? [{ op: 'remove', path: 'members', value: [{ value: account.id }] }]
            : [{ op: 'remove', path: `members[value eq "${account.id}"]` }],
        );

        const missing = await rejection(scim.addToGroup('No such group', account.id));
        assert.equal(missing.type, 'not_found');
      });
    });
  }

  describe('entra: string booleans and capitalised ops', () => {
    const entraPatch = {
      schemas: [PATCH_SCHEMA],
      Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
    };
    const entraCreate = {
      schemas: [USER_SCHEMA],
      userName: 'entra@example.com',
      externalId: 'hr-entra',
      active: 'True',
      emails: [{ value: 'entra@example.com', type: 'work', primary: 'True' }],
    };

    it('a strict (generic) server rejects them with 400, as SCIMMY does', async () => {
      const peer = await startScimPeer({ vendor: 'generic' });
      try {
        const created = await raw(peer, 'POST', '/Users', entraCreate);
        assert.equal(created.status, 400);
        assert.equal(((await created.json()) as { scimType?: string }).scimType, 'invalidValue');

        const ok = await raw(peer, 'POST', '/Users', { ...entraCreate, active: true, emails: [] });
        const { id } = (await ok.json()) as { id: string };
        const patched = await raw(peer, 'PATCH', `/Users/${id}`, entraPatch);
        assert.equal(patched.status, 400);
        assert.equal(peer.users()[0]?.active, true);
      } finally {
        await peer.close();
      }
    });

    it('an entra server accepts them, and answers with "True"/"False" that the client reads', async () => {
      const peer = await startScimPeer({ vendor: 'entra' });
      try {
        const created = await raw(peer, 'POST', '/Users', entraCreate);
        assert.equal(created.status, 201);
        const body = (await created.json()) as { id: string; active: unknown };
        assert.equal(body.active, 'True', 'sent back as a string');
        assert.equal(peer.users()[0]?.active, true);
        assert.equal(peer.users()[0]?.emails?.[0]?.primary, true);

        const patched = await raw(peer, 'PATCH', `/Users/${body.id}`, {
          ...entraPatch,
          Operations: [
            { op: 'Replace', path: 'active', value: 'False' },
            { op: 'Replace', path: 'emails[type eq "work"].primary', value: 'True' },
          ],
        });
        assert.equal(patched.status, 200, await patched.clone().text());
        assert.equal(((await patched.json()) as { active: unknown }).active, 'False');
        assert.equal(peer.users()[0]?.active, false);

        const scim = new ScimConnector({ systemId: 'entra', baseUrl: peer.url, dialect: 'entra' });
        const found = await scim.findByHrKey('hr-entra');
        assert.equal(found?.active, false, '"False" read as false');
        const on = await scim.setActive(body.id, true);
        assert.equal(on.active, true, '"True" read as true');
        const adopted = await scim.ensureAccount({
          hrId: 'hr-entra',
          userName: 'entra@example.com',
          givenName: 'E',
          familyName: 'Ntra',
          email: 'entra@example.com',
          active: true,
        });
        assert.equal(adopted.account.active, true);
        assert.ok(
          !patchBodies(peer)
            .slice(1)
            .some((b) => JSON.stringify(b).includes('"active"') && JSON.stringify(b).includes('"emails"')),
          'the primary email read as "True" was not rewritten',
        );
      } finally {
        await peer.close();
      }
    });
  });

  describe('okta: filters only on userName', () => {
    let peer: ScimPeer;
    beforeEach(async () => {
      peer = await startScimPeer({ vendor: 'okta' });
    });
    afterEach(async () => {
      await peer.close();
    });

    it('refuses an externalId filter; the generic dialect fails visibly, the okta dialect works', async () => {
      const refused = await fetch(`${peer.url}/Users?filter=${encodeURIComponent('externalId eq "hr-1"')}`);
      assert.equal(refused.status, 400);
      assert.equal(((await refused.json()) as { scimType?: string }).scimType, 'invalidFilter');

      const generic = new ScimConnector({ systemId: 'okta', baseUrl: peer.url });
      const err = await rejection(generic.ensureAccount(spec(1)));
      assert.equal(err.type, 'invalid_request');
      assert.equal(err.details.scimType, 'invalidFilter');
      assert.equal(peer.users().length, 0, 'nothing created blind');

      const okta = new ScimConnector({ systemId: 'okta', baseUrl: peer.url, dialect: 'okta' });
      const before = peer.requests.length;
      assert.equal((await okta.ensureAccount(spec(1))).outcome, 'created');
      assert.equal((await okta.ensureAccount(spec(1))).outcome, 'adopted');
      assert.ok(
        peer.requests.slice(before).every((r) => !decodeURIComponent(r.url).includes('externalId eq')),
        'the okta dialect never filters on externalId',
      );
    });

    it('the okta dialect still refuses a userName held by someone else', async () => {
      await raw(peer, 'POST', '/Users', { schemas: [USER_SCHEMA], userName: 'user2@example.com', externalId: 'x' });
      const okta = new ScimConnector({ systemId: 'okta', baseUrl: peer.url, dialect: 'okta' });
      assert.equal((await rejection(okta.ensureAccount(spec(2)))).type, 'conflict');
    });
  });

  describe('github: no filters in PATCH paths; required attributes', () => {
    let peer: ScimPeer;
    beforeEach(async () => {
      peer = await startScimPeer({ vendor: 'github' });
    });
    afterEach(async () => {
      await peer.close();
    });

    it('refuses a filtered PATCH path; the generic dialect fails visibly on member removal', async () => {
      const github = new ScimConnector({ systemId: 'gh', baseUrl: peer.url, dialect: 'github' });
      const { account } = await github.ensureAccount(spec(1));
      const filtered = await raw(peer, 'PATCH', `/Users/${account.id}`, {
        schemas: [PATCH_SCHEMA],
        Operations: [{ op: 'replace', path: 'emails[type eq "work"].value', value: 'x@example.com' }],
      });
      assert.equal(filtered.status, 400);
      assert.equal(((await filtered.json()) as { scimType?: string }).scimType, 'invalidPath');

      const groupId = peer.createGroup('Org', [account.id]);
      const generic = new ScimConnector({ systemId: 'gh', baseUrl: peer.url });
      const err = await rejection(generic.removeFromGroup('Org', account.id));
      assert.equal(err.type, 'invalid_request');
      assert.deepEqual(peer.groupMembers(groupId), [account.id], 'still a member: the failure is not hidden');
    });

    it('refuses a create without emails or name', async () => {
      const noEmails = await raw(peer, 'POST', '/Users', {
        schemas: [USER_SCHEMA],
        userName: 'a',
        name: { givenName: 'A', familyName: 'B' },
      });
      assert.equal(noEmails.status, 400);
      const noName = await raw(peer, 'POST', '/Users', {
        schemas: [USER_SCHEMA],
        userName: 'a',
        emails: [{ value: 'a@example.com' }],
      });
      assert.equal(noName.status, 400);
      assert.equal(peer.users().length, 0);
    });

    it('deactivating an account that is already gone reports it inactive', async () => {
      const github = new ScimConnector({ systemId: 'gh', baseUrl: peer.url, dialect: 'github' });
      const { account } = await github.ensureAccount(spec(3));
      await github.delete(account.id);
      assert.deepEqual(await github.setActive(account.id, false), { id: account.id, userName: '', active: false });
      // Re-activation of a removed account is not possible: it is a 404, not a silent success.
      assert.equal((await rejection(github.setActive(account.id, true))).type, 'not_found');
    });
  });

  describe('slack: DELETE only deactivates; emails required', () => {
    it('a generic server removes on DELETE, a slack server keeps the user inactive', async () => {
      for (const vendor of ['generic', 'slack'] as ScimVendor[]) {
        const peer = await startScimPeer({ vendor });
        try {
          const scim = new ScimConnector({ systemId: vendor, baseUrl: peer.url, dialect: vendor });
          const { account } = await scim.ensureAccount(spec(1));
          const res = await raw(peer, 'DELETE', `/Users/${account.id}`);
          assert.equal(res.status, 204);
          assert.deepEqual(
            peer.users().map((u) => u.active),
            vendor === 'slack' ? [false] : [],
          );
          const noEmails = await raw(peer, 'POST', '/Users', { schemas: [USER_SCHEMA], userName: 'x' });
          assert.equal(noEmails.status, vendor === 'slack' ? 400 : 201);
        } finally {
          await peer.close();
        }
      }
    });

    it('a DELETE that leaves the account active is never reported as success', async () => {
      const peer = await startScimPeer({ vendor: 'generic' });
      try {
        const scim = new ScimConnector({ systemId: 'app', baseUrl: peer.url });
        const { account } = await scim.ensureAccount(spec(2));
        // A server that says 204 but does nothing.
        peer.faults.next(1, { method: 'DELETE', status: 204, body: '' });
        const err = await rejection(scim.delete(account.id));
        assert.equal(err.type, 'invalid_request');
        assert.match(err.message, /still there and active/);
      } finally {
        await peer.close();
      }
    });
  });

  it('a PATCH active=false that the server ignores is never reported as success', async () => {
    const peer = await startScimPeer();
    try {
      const scim = new ScimConnector({ systemId: 'app', baseUrl: peer.url });
      const { account } = await scim.ensureAccount(spec(9));
      peer.faults.next(1, { method: 'PATCH', status: 204, body: '' });
      const err = await rejection(scim.setActive(account.id, false));
      assert.equal(err.type, 'invalid_request');
      assert.match(err.message, /still active/);
      assert.equal(peer.users()[0]?.active, true);
    } finally {
      await peer.close();
    }
  });
});
