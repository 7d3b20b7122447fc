import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/config/local-env';
import type { TenureProcess } from '../helpers/processes';
import { spawnEntryPoint } from '../helpers/processes';
import { waitFor } from '../helpers/wait';

/**
 * What a new user does on a fresh clone: `npm start` (here its program, src/dev/start.ts, in a data folder of its
 * own), then `npm run demo -- hire`, then a click on Approve in the local Slack workspace. The hire goes through the
 * manager's approval, the work email is written back to BambooHR, and the manager gets the welcome, with no other
 * set-up. It uses npm start's fixed ports (7233, 8233, 8080, 7301-7303, 7310, 7311, 7320).
 */
describe('npm start on embedded defaults: a hire with a Slack approval, a welcome and a write-back', function () {
  this.timeout(300_000);
  let dir: string;
  let start: TenureProcess;
  const env = (): Record<string, string | undefined> => ({
    TENURE_DATA_DIR: dir,
    TEMPORAL_CLI: process.env.TEMPORAL_CLI,
  });
  const run = (script: string, args: string[]): string => {
    const r = spawnSync(process.execPath, ['-r', 'tsx/cjs', join(PROJECT_ROOT, script), ...args], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env() },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, `${script} ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tenure-npm-start-'));
    start = spawnEntryPoint('dev', env(), 'npm start');
    await start.waitForLine(/Try a hire/, 240_000);
  });
  after(async () => {
    await start?.kill('SIGINT');
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the demo hire end to end through the real intake, Slack endpoint, worker and BambooHR', async () => {
    const out = run('src/dev/demo.ts', ['hire']);
    const hrId = /HR id (\S+)\./.exec(out)?.[1];
    assert.ok(hrId, out);
    assert.match(out, /"status": 202/);

    // The manager's request appears in the local Slack workspace; clicking Approve posts a signed click.
    let form: { channel: string; ts: string } | undefined;
    await waitFor(
      async () => {
        const html = await (await fetch('http://127.0.0.1:7311/')).text();
        const m = /value="(UMARIA)"><input type="hidden" name="ts" value="([0-9.]+)">[^]*?value="approve"/.exec(html);
        if (m?.[1] && m[2] && /Access request: CRM/.test(html)) form = { channel: m[1], ts: m[2] };
        return form !== undefined;
      },
      60_000,
      'the approval request in the Slack workspace',
    );
    assert.ok(form);
    const click = await fetch('http://127.0.0.1:7311/click', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...form, user: 'UMARIA', action: 'approve' }).toString(),
      redirect: 'manual',
    });
    assert.equal(click.status, 303);
    assert.match(click.headers.get('location') ?? '', /clicked=200/);

    let steps: Record<string, { state: string }> = {};
    await waitFor(
      () => {
        const status = JSON.parse(run('src/client/cli.ts', ['status', hrId])) as {
          run?: { steps: { id: string; state: string }[] };
        };
        steps = Object.fromEntries((status.run?.steps ?? []).map((s) => [s.id, s]));
        return steps.notify_manager?.state === 'succeeded';
      },
      120_000,
      'the welcome notice',
    );
    for (const id of [
      'approve:crm',
      'create_account:crm',
      'activate_account:crm',
      'write_back_email',
      'notify_manager',
    ]) {
      assert.equal(steps[id]?.state, 'succeeded', id);
    }
    const evidence = run('src/client/cli.ts', ['evidence', hrId]);
    assert.match(evidence, /write_back_email/);
  });
});
