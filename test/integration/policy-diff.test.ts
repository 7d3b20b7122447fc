import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventWorkflowId } from '../../src/domain/ids';
import type { PolicyInput } from '../../src/domain/policy';
import type { PolicyDiffReport } from '../../src/client/cli-policy';
import { makeRecord } from '../helpers/records';
import { workflowBundle } from '../helpers/temporal';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { resultWhenStarted, waitFor } from '../helpers/wait';

/** `tenure policy diff` (issue 14, item 5), the real CLI against the people a running Tenure knows. */
describe('tenure policy diff: every person, the accounts and groups a new rule gives and takes', function () {
  this.timeout(300_000);
  let t: TenureHarness;
  let input: PolicyInput;
  const dir = mkdtempSync(join(tmpdir(), 'tenure-policy-diff-'));

  before(async () => {
    await workflowBundle();
    t = await startTenure({
      policy: (p) => {
        input = p;
        return p;
      },
    });
  });
  after(async () => {
    await t?.stop();
  });

  function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['-r', 'tsx/cjs', 'src/client/cli.ts', ...args], {
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: t.settings.temporal.connectionOptions.address,
          TEMPORAL_NAMESPACE: 'default',
          TENURE_TASK_QUEUE: t.taskQueue,
          TENURE_CODEC_KEYS: t.settings.vars.TENURE_CODEC_KEYS ?? '',
          TENURE_POLICY: join(dir, 'current.json'),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  it('a rule that gives Sales a wiki group and takes the wiki from Support lists exactly those people', async () => {
    const people = [
      makeRecord({ department: 'Sales' }),
      makeRecord({ department: 'Support' }),
      makeRecord({ department: 'Engineering' }),
    ];
    for (const record of people) {
      const eventId = `hire-${record.hrId}`;
      assert.equal((await t.tenure.sendEvent({ eventId, kind: 'hire', record })).outcome, 'accepted');
      await resultWhenStarted(t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'hire', eventId)));
    }
    const [sales, support, eng] = people.map((p) => p.hrId);
    writeFileSync(join(dir, 'current.json'), JSON.stringify(input));
    const next: PolicyInput = {
      ...input,
      birthright: [
        { name: 'everyone', systems: ['idp'] },
        { name: 'not-support', match: { department: ['Sales', 'Engineering'] }, systems: ['wiki'] },
        { name: 'sales-wiki', match: { department: ['Sales'] }, systems: [{ system: 'wiki', groups: ['sales'] }] },
      ],
    };
    writeFileSync(join(dir, 'next.json'), JSON.stringify(next));

    let report: PolicyDiffReport | undefined;
    await waitFor(async () => {
      const r = await cli(['policy', 'diff', '--policy', join(dir, 'next.json'), '--json']);
      assert.equal(r.code, 0, r.stderr);
      report = JSON.parse(r.stdout) as PolicyDiffReport;
      return report.people === 3;
    }, 60_000);
    assert.ok(report);
    assert.deepEqual(
      report.changed,
      [
        { hrId: sales, gains: [{ systemId: 'wiki', account: false, groups: ['sales'] }], losses: [] },
        { hrId: support, gains: [], losses: [{ systemId: 'wiki', account: true, groups: [] }] },
      ].sort((a, b) => (a.hrId ?? '').localeCompare(b.hrId ?? '')),
    );
    assert.ok(!report.changed.some((p) => p.hrId === eng));
    assert.equal(report.guard.hold, false);

    const table = await cli(['policy', 'diff', '--policy', join(dir, 'next.json')]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /2 of 3 people change/);
    assert.match(table.stdout, new RegExp(`${support}:\\n  - wiki`));
  });
});
