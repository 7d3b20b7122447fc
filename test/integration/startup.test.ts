import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Configuration is validated once, at start: a bad policy stops the worker with a message naming the field. */
describe('start-up: a bad policy file stops the worker before it connects to anything', function () {
  this.timeout(60_000);

  it('exits 1 naming the file, the path and the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tenure-bad-policy-'));
    const file = join(dir, 'policy.yaml');
    writeFileSync(
      file,
      [
        'timing: { activationTime: "9am" }',
        'systems:',
        '  - { id: idp, name: IdP, kind: identity-provider, connector: { type: scim, baseUrl: "http://x/scim/v2" } }',
        'birthright:',
        '  - { name: all, systems: [idp, nope] }',
      ].join('\n'),
    );
    const r = spawnSync(process.execPath, ['-r', 'tsx/cjs', 'src/workers/main.ts'], {
      env: {
        ...process.env,
        TENURE_POLICY: file,
        TENURE_WEBHOOK_SECRET: randomBytes(24).toString('hex'),
        TEMPORAL_ADDRESS: '127.0.0.1:1',
      },
      encoding: 'utf8',
      timeout: 50_000,
    });
    assert.equal(r.status, 1, r.stderr);
    assert.ok(r.stderr.includes(file), r.stderr);
    assert.match(r.stderr, /timing\.activationTime: must be HH:MM or HH:MM:SS/);
    assert.match(r.stderr, /birthright\.0\.systems\.1: unknown system "nope"/);
  });
});
