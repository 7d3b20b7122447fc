import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { EmployeeRecord } from '../../src/domain/employee';
import { employeeWorkflowId, eventWorkflowId } from '../../src/domain/ids';
import { decideHold, listHolds, showHold } from '../../src/client/cli-guard';
import { employeeStatusQuery } from '../../src/workflows/employee/messages';
import { makeRecord } from '../helpers/records';
import { workflowBundle } from '../helpers/temporal';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { resultWhenStarted, waitFor } from '../helpers/wait';

/**
 * The mass-change guard (issue 14, item 4): a roster that would disable 30 % of the company is held, nothing of it
 * runs, the operator sees it (`tenure guard list`, the real CLI as a process), and only a release disables anyone.
 */
describe('mass-change guard: a run that would disable too many people is held until an operator decides', function () {
  this.timeout(300_000);
  let t: TenureHarness;
  const people: EmployeeRecord[] = [];

  before(async () => {
    await workflowBundle();
    // The shipped defaults (the harness raises the percentage floor for its small test companies).
    t = await startTenure({ slack: true, policy: (p) => ({ ...p, guard: { notifyChannel: 'C0GUARD01' } }) });
    // Twenty people who started already: their accounts are active at once.
    for (let i = 0; i < 20; i++) people.push(makeRecord({ hireDate: '2026-01-05', status: 'active' }));
    await Promise.all(
      people.map(async (record) => {
        const eventId = `hire-${record.hrId}`;
        const a = await t.tenure.sendEvent({ eventId, kind: 'hire', record });
        assert.equal(a.outcome, 'accepted', JSON.stringify(a));
        await resultWhenStarted(t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'hire', eventId)));
      }),
    );
    await waitFor(() => people.every((p) => activeIn(p.hrId) === true), 120_000);
  });
  after(async () => {
    await t?.stop();
  });

  function activeIn(hrId: string): boolean | undefined {
    const u = t.idp.users().find((x) => x.externalId === hrId);
    return u?.active;
  }

  const leaving = (r: EmployeeRecord): EmployeeRecord => ({
    ...r,
    status: 'terminated',
    exitDate: '2026-02-01',
    exitKind: 'involuntary',
    sourceUpdatedAt: new Date().toISOString(),
  });

  async function evidence(action: string) {
    const out = [];
    for await (const e of t.audit.stream({})) if (e.action === action) out.push(e);
    return out;
  }

  function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['-r', 'tsx/cjs', 'src/client/cli.ts', ...args], {
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: t.settings.temporal.connectionOptions.address,
          TEMPORAL_NAMESPACE: 'default',
          TENURE_TASK_QUEUE: t.taskQueue,
          TENURE_CODEC_KEYS: t.settings.vars.TENURE_CODEC_KEYS ?? '',
          TENURE_OPERATOR: 'ops-lead',
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

  it('holds a roster terminating 6 of 20 people (30 %), runs nothing of it, and disables them only on release', async () => {
    const six = people.slice(0, 6);
    const batchId = `roster-${Date.now().toString(36)}`;
    const answer = await t.tenure.sendBatch({
      batchId,
      path: 'import',
      events: six.map((r) => ({ eventId: `exit-${r.hrId}`, kind: 'termination' as const, record: leaving(r) })),
    });
    assert.equal(answer.outcome, 'delivered', JSON.stringify(answer));
    if (answer.outcome !== 'delivered') return;
    assert.equal(answer.status, 202);
    assert.equal(answer.held, true);
    assert.ok(answer.holdId);
    assert.ok(
      answer.reasons.some((r) => /disable/.test(r)),
      answer.reasons.join('; '),
    );
    assert.equal(answer.results.filter((r) => r.held).length, 6);

    // Nothing ran: no entity saw a termination, every account is still active.
    for (const r of six) {
      const s = await t.client.workflow.getHandle(employeeWorkflowId(r.hrId)).query(employeeStatusQuery);
      assert.notEqual(s.record?.status, 'terminated');
      assert.equal(activeIn(r.hrId), true);
    }
    // The hold's evidence is written by the guard's activity after the answer (with the Slack notice): wait for it.
    await waitFor(
      async () => (await evidence('guard_hold')).some((e) => e.requestId === answer.holdId),
      30_000,
      'the hold evidence',
    );
    // The owners are told in Slack, with what to run; no names in the notice.
    await waitFor(() => (t.slack?.messages ?? []).some((m) => m.channel === 'C0GUARD01'), 30_000);
    const notice = t.slack?.messages.find((m) => m.channel === 'C0GUARD01');
    assert.match(notice?.text ?? '', new RegExp(`tenure guard release ${answer.holdId ?? '-'}`));
    assert.ok(!(notice?.text ?? '').includes(six[0]?.hrId ?? '\u0000'));

    // Sending the same roster again is the same batch: the same hold, not a second one.
    const again = await t.tenure.sendBatch({
      batchId,
      path: 'import',
      events: six.map((r) => ({ eventId: `exit-${r.hrId}`, kind: 'termination' as const, record: leaving(r) })),
    });
    assert.equal(again.outcome === 'delivered' && again.holdId, answer.holdId);

    // The operator lists it with the real CLI.
    const listed = await cli(['guard', 'list', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const holds = JSON.parse(listed.stdout) as { holdId: string; status: string; events: number }[];
    const mine = holds.find((h) => h.holdId === answer.holdId);
    assert.equal(mine?.status, 'held');
    assert.equal(mine?.events, 6);
    const detail = await showHold(t.client, t.taskQueue, answer.holdId ?? '');
    assert.deepEqual(detail?.items.map((i) => i.hrId).sort(), six.map((r) => r.hrId).sort());
    // `show` names people by HR id only.
    assert.ok(!JSON.stringify(detail?.items).includes(six[0]?.legalLastName ?? '\u0000'));

    // Release through the CLI: the held terminations reach their entities and the accounts are disabled.
    const released = await cli(['guard', 'release', answer.holdId ?? '', '--json']);
    assert.equal(released.code, 0, released.stderr);
    const summary = JSON.parse(released.stdout) as {
      status: string;
      decidedBy: string;
      released: { accepted: number };
    };
    assert.equal(summary.status, 'released');
    assert.equal(summary.decidedBy, 'cli:ops-lead');
    assert.equal(summary.released.accepted, 6);
    await waitFor(() => six.every((r) => activeIn(r.hrId) === false), 120_000);
    // The other fourteen were never touched.
    assert.ok(people.slice(6).every((r) => activeIn(r.hrId) === true));
    const releaseEvidence = await evidence('guard_release');
    assert.ok(releaseEvidence.some((e) => e.requestId === answer.holdId && e.actor.id === 'cli:ops-lead'));

    // A decided hold cannot be decided again.
    const twice = await cli(['guard', 'discard', answer.holdId ?? '']);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /released|not open|no open hold/i);
  });

  it('a discarded hold never runs, and a small roster (one leaver) is not held at all', async () => {
    const [a, b, c, d, e, f, one] = people.slice(6);
    const batch = [a, b, c, d, e, f].filter((r): r is EmployeeRecord => r !== undefined);
    const answer = await t.tenure.sendBatch({
      batchId: `roster-discard-${Date.now().toString(36)}`,
      path: 'sync',
      events: batch.map((r) => ({ eventId: `exit2-${r.hrId}`, kind: 'termination' as const, record: leaving(r) })),
    });
    assert.ok(answer.outcome === 'delivered' && answer.held && answer.holdId, JSON.stringify(answer));
    const holdId = answer.holdId;
    const discarded = await decideHold(t.client, t.taskQueue, 'discard', {
      holdId,
      by: 'cli:test',
      note: 'bad export',
    });
    assert.equal(discarded.status, 'discarded');
    assert.ok((await listHolds(t.client, t.taskQueue)).some((h) => h.holdId === holdId && h.status === 'discarded'));
    assert.ok(batch.every((r) => activeIn(r.hrId) === true));

    // One leaver is within every threshold: delivered at once.
    assert.ok(one);
    const small = await t.tenure.sendBatch({
      batchId: `roster-one-${Date.now().toString(36)}`,
      path: 'import',
      events: [{ eventId: `exit3-${one.hrId}`, kind: 'termination', record: leaving(one) }],
    });
    assert.ok(small.outcome === 'delivered' && !small.held, JSON.stringify(small));
    assert.equal(small.results[0]?.result?.outcome, 'accepted');
    await waitFor(() => activeIn(one.hrId) === false, 120_000);
    // The discarded ones still never ran.
    assert.ok(batch.every((r) => activeIn(r.hrId) === true));
  });
});

describe('mass-change guard on the webhook path: a burst of single exits is counted per rolling hour', function () {
  this.timeout(300_000);
  let t: TenureHarness;

  before(async () => {
    await workflowBundle();
    // Only the rolling hour counts here: at most two disables an hour, by any path.
    t = await startTenure({
      policy: (p) => ({
        ...p,
        guard: { perRun: { disables: 'off' }, perSystem: { disables: 'off' }, perHour: { disables: { count: 2 } } },
      }),
    });
  });
  after(async () => {
    await t?.stop();
  });

  it('the third exit webhook within the hour is answered 202 held, audited, and runs only after a release', async () => {
    const people = [0, 1, 2].map(() => makeRecord({ hireDate: '2026-01-05', status: 'active' }));
    for (const record of people) {
      const eventId = `hire-${record.hrId}`;
      assert.equal((await t.tenure.sendEvent({ eventId, kind: 'hire', record })).outcome, 'accepted');
      await resultWhenStarted(t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'hire', eventId)));
    }
    const active = (hrId: string) => t.idp.users().find((u) => u.externalId === hrId)?.active;
    await waitFor(() => people.every((p) => active(p.hrId) === true), 120_000);
    const answers: Awaited<ReturnType<TenureHarness['tenure']['sendEvent']>>[] = [];
    for (const r of people) {
      const record: EmployeeRecord = {
        ...r,
        status: 'terminated',
        exitDate: '2026-02-01',
        exitKind: 'voluntary',
        sourceUpdatedAt: new Date().toISOString(),
      };
      answers.push(await t.tenure.sendEvent({ eventId: `exit-${r.hrId}`, kind: 'termination', record }));
    }
    assert.equal(answers[2]?.status, 202);
    assert.equal(answers[0]?.outcome, 'accepted');
    assert.equal(answers[1]?.outcome, 'accepted');
    const held = answers[2] as unknown as { outcome: string; holdId: string; reasons: string[] };
    assert.equal(held.outcome, 'held', JSON.stringify(held));
    assert.ok(
      held.reasons.some((r) => /hour/.test(r)),
      held.reasons.join('; '),
    );
    const third = people[2]?.hrId ?? '';
    await waitFor(() => active(people[0]?.hrId ?? '') === false && active(people[1]?.hrId ?? '') === false, 120_000);
    assert.equal(active(third), true);
    const refusals = [];
    for await (const e of t.audit.stream({ hrId: third })) if (e.action === 'hr_event_held') refusals.push(e);
    assert.equal(refusals.length, 1);

    await decideHold(t.client, t.taskQueue, 'release', { holdId: held.holdId, by: 'cli:test' });
    await waitFor(() => active(third) === false, 120_000);
  });
});
