import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Command } from 'commander';
import { openAuditStore } from '../../src/activities/audit';
import { driftCsv, driftTable, registerDriftCommands, withCurrentLag } from '../../src/client/cli-drift';
import type { DriftReport } from '../../src/workflows/reconcile/types';

const report = (runId: string, oldestSince?: string): DriftReport => ({
  runId,
  startedAt: '2026-03-01T06:30:00.000Z',
  finishedAt: '2026-03-01T06:31:00.000Z',
  people: 3,
  systems: [
    { systemId: 'idp', accounts: 3, counts: { matching: 3 }, lagSeconds: 0 },
    {
      systemId: 'wiki',
      accounts: 4,
      counts: { matching: 2, orphan: 1, manual_override: 1 },
      lagSeconds: 60,
      ...(oldestSince ? { oldestSince } : {}),
    },
  ],
  totals: { matching: 5, orphan: 1, manual_override: 1 },
  findings: [
    {
      situation: 'orphan',
      systemId: 'wiki',
      accountId: 'a1',
      active: true,
      reaction: 'fix',
      outcome: 'disabled',
      firstSeenAt: oldestSince ?? '2026-03-01T06:30:00.000Z',
    },
    {
      situation: 'manual_override',
      systemId: 'wiki',
      hrId: 'E1',
      accountId: 'a2',
      fields: ['title', 'department'],
      reaction: 'report',
      outcome: 'reported',
      reason: 'a, "quoted" reason',
      firstSeenAt: '2026-03-01T06:30:00.000Z',
    },
  ],
  findingsOmitted: 0,
  converged: [],
  unreachable: [],
});

describe('reconcile: tenure drift output', () => {
  it('CSV: one row per finding, lists joined, quotes escaped', () => {
    const lines = driftCsv(report('r1')).trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0] ?? '', /^situation,systemId,hrId,accountId,active,fields/);
    assert.equal(lines[1]?.split(',').slice(0, 5).join(','), 'orphan,wiki,,a1,true');
    assert.match(lines[2] ?? '', /,title department,/);
    assert.match(lines[2] ?? '', /,"a, ""quoted"" reason",/);
  });

  it('table: every system with its counts and lag, then the findings', () => {
    const text = driftTable(report('r1', '2026-03-01T05:31:00.000Z'));
    assert.match(text, /^system\s+accounts\s+matching\s+attribute_drift\s+manual_override\s+missing/m);
    assert.match(text, /^wiki\s+4\s+2\s+0\s+1\s+0\s+0\s+1\s+0\s+0\s+60s$/m);
    assert.match(text, /^idp\s+3\s+3(\s+0){7}\s+-$/m);
    assert.match(text, /^orphan\s+wiki\s+a1\s+fix\s+disabled$/m);
  });

  it('the lag is brought up to now: the oldest unresolved finding keeps ageing', () => {
    const now = new Date('2026-03-02T05:31:00.000Z');
    const r = withCurrentLag(report('r1', '2026-03-01T05:31:00.000Z'), now);
    assert.equal(r.systems.find((s) => s.systemId === 'wiki')?.lagSeconds, 86_400);
    assert.equal(r.systems.find((s) => s.systemId === 'idp')?.lagSeconds, 0);
  });

  it('`tenure drift --format json` prints the newest drift_report in the store; none yet is exit code 1', async function () {
    this.timeout(60_000);
    const store = await openAuditStore();
    try {
      const run = async (): Promise<{ out: string; err: string; code: number }> => {
        let out = '';
        let err = '';
        let code = 0;
        const sink = (f: (s: string) => void) =>
          new Writable({
            write(chunk: Buffer, _e, cb) {
              f(String(chunk));
              cb();
            },
          });
        const program = new Command('tenure').exitOverride();
        registerDriftCommands(program, {
          // The test owns the store: a view whose close() leaves it open.
          openStore: () =>
            Promise.resolve({
              append: (e) => store.append(e),
              stream: (q) => store.stream(q),
              count: (q) => store.count(q),
              verify: () => store.verify(),
              close: () => Promise.resolve(),
            }),
          stdout: sink((s) => (out += s)),
          stderr: sink((s) => (err += s)),
          setExitCode: (c) => {
            code = c;
          },
        });
        await program.parseAsync(['node', 'tenure', 'drift', '--format', 'json']);
        return { out, err, code };
      };
      const none = await run();
      assert.equal(none.code, 1);
      assert.match(none.err, /no drift report yet/);
      for (const id of ['r1', 'r2']) {
        await store.append({
          key: `reconcile:${id}:report`,
          at: '2026-03-01T06:31:00.000Z',
          actor: { type: 'system', id: 'tenure-reconcile' },
          action: 'drift_report',
          requestId: id,
          outcome: 'drift',
          detail: { ...report(id) },
        });
      }
      const printed = JSON.parse((await run()).out) as DriftReport;
      assert.equal(printed.runId, 'r2');
      assert.equal(printed.findings.length, 2);
    } finally {
      await store.close();
    }
  });
});
