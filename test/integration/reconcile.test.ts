import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { openAuditStore } from '../../src/activities/audit';
import type { EvidenceRecord } from '../../src/activities/audit';
import { generateKey } from '../../src/codec';
import { DRIFT_METRIC, defaultTenureMetrics } from '../../src/observability';
import type { EmployeeRecord } from '../../src/domain/employee';
import { employeeWorkflowId, eventWorkflowId } from '../../src/domain/ids';
import { manualTaskWorkflowId } from '../../src/domain/people-ids';
import { reconcileScheduleId, runReconcileNow } from '../../src/reconcile/schedule';
import { guardWorkflowId, releaseHoldUpdate } from '../../src/workflows/guard/messages';
import { employeeStatusQuery } from '../../src/workflows/employee/messages';
import type { DriftFinding, DriftReport } from '../../src/workflows/reconcile/types';
import { taskStatusQuery } from '../../src/workflows/task/messages';
import type { ScimPeer } from '../../src/dev/scim-peer';
import { spawnEntryPoint } from '../helpers/processes';
import { daysAgo, makeRecord } from '../helpers/records';
import { devServer, workflowBundle } from '../helpers/temporal';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { resultWhenStarted, waitFor } from '../helpers/wait';

/**
 * Issue 14 item 3, done when: the peers are seeded with drift of every kind (an orphan, a leaver still active, a
 * hand-edited title, a missing account, a collision), the real Temporal Schedule runs the reconciliation, and each
 * situation gets the policy's reaction: fixes through the guard and the entity's normal runs, a task for the owner.
 */
const RECONCILE_RUNS = (taskQueue: string): string =>
  `WorkflowType = 'reconcileWorkflow' AND TaskQueue = '${taskQueue}'`;

describe('reconcile: the scheduled reconciliation reacts to every kind of drift as the policy says', function () {
  this.timeout(300_000);
  const codecKeys = `test:${generateKey()}`;
  const owner = { id: 'UWIKIOWNER', email: 'wiki-owner@acme.example', name: 'wiki owner' };
  let t: TenureHarness;

  before(async () => {
    await workflowBundle();
    t = await startTenure({
      slack: true,
      codecKeys,
      policy: (p) => ({
        ...p,
        people: { teams: { wiki: [owner.email] }, fallbackApprovers: [owner.email] },
        systems: p.systems.map((s) => (s.id === 'wiki' ? { ...s, owner: 'wiki' } : s)),
        reconcile: {
          schedule: { cron: '0 3 * * *', timeZone: 'Europe/Lisbon' },
          reactions: {
            orphan: 'fix',
            leaver_active: 'fix',
            manual_override: 'fix',
            attribute_drift: 'fix',
            missing: 'fix',
            collision: 'task',
          },
        },
      }),
    });
    t.slack?.addUser(owner);
  });
  after(async () => {
    await t?.stop();
  });

  // ── helpers ─────────────────────────────────────────────────────────────────────────────────────────
  const wikiUser = (hrId: string) => t.app.users().find((u) => u.externalId === hrId);

  async function settled(hrId: string): Promise<void> {
    const entity = t.client.workflow.getHandle(employeeWorkflowId(hrId));
    await waitFor(
      async () => {
        const s = await entity.query(employeeStatusQuery);
        return s.current === undefined && s.queued === 0;
      },
      90_000,
      `${hrId} settled`,
    );
  }

  async function hire(over: Partial<EmployeeRecord> = {}): Promise<EmployeeRecord> {
    const record = makeRecord({ status: 'active', hireDate: daysAgo(3), ...over });
    const eventId = `hire-${record.hrId}`;
    const a = await t.tenure.sendEvent({ eventId, kind: 'hire', record });
    assert.equal(a.outcome, 'accepted', JSON.stringify(a));
    await resultWhenStarted(t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'hire', eventId)), 60_000);
    await settled(record.hrId);
    assert.ok(wikiUser(record.hrId)?.active, 'hired into the wiki');
    return record;
  }

  /** A SCIM call by hand, as an administrator in the app would make it. */
  async function scim(peer: ScimPeer, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const res = await fetch(`${peer.url}${path}`, {
      method,
      headers: { 'content-type': 'application/scim+json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    assert.ok(res.ok, `${method} ${path}: ${res.status} ${await res.clone().text()}`);
    return res.status === 204 ? {} : ((await res.json()) as Record<string, unknown>);
  }
  const patch = (peer: ScimPeer, id: string, op: Record<string, unknown>) =>
    scim(peer, 'PATCH', `/Users/${id}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [op],
    });

  async function evidence(): Promise<EvidenceRecord[]> {
    const out: EvidenceRecord[] = [];
    for await (const e of t.audit.stream()) out.push(e);
    return out;
  }

  /**
   * Triggers the real schedule and answers the report of the first run it started. On a loaded machine the scheduler
   * was seen to act on a trigger only minutes later, or not at all: a trigger nothing came of within 30 s is sent
   * again. Every run this started is waited for, so none is left to run into the next test.
   */
  async function triggerScheduledRun(
    client: Client,
    before: Set<string>,
  ): Promise<{ runId: string; report: DriftReport }> {
    const schedule = client.schedule.getHandle(reconcileScheduleId(t.taskQueue));
    let started: string[] = [];
    for (let attempt = 1; started.length === 0; attempt++) {
      // ALLOW_ALL: the scheduler may not have seen the previous run end yet; SKIP would drop the trigger.
      await schedule.trigger(ScheduleOverlapPolicy.ALLOW_ALL);
      try {
        await waitFor(
          async () => {
            started = [...(await scheduledRuns())].filter((id) => !before.has(id)).sort();
            return started.length > 0;
          },
          30_000,
          'the schedule started a run',
        );
      } catch (err) {
        if (attempt >= 4) throw err;
      }
    }
    const runId = started[0] ?? '';
    const report = (await client.workflow.getHandle(runId).result()) as DriftReport;
    await waitFor(
      async () => {
        for await (const wf of client.workflow.list({
          query: `${RECONCILE_RUNS(t.taskQueue)} AND ExecutionStatus = 'Running'`,
        })) {
          if (!before.has(wf.workflowId)) return false;
        }
        return true;
      },
      120_000,
      'every run the trigger started has ended',
    );
    return { runId, report };
  }

  /**
   * The runs the schedule started: what it describes, and what visibility lists under its action's workflow id (on a
   * loaded machine the schedule's description was seen to lag the run it had started by more than 30 s).
   */
  async function scheduledRuns(): Promise<Set<string>> {
    const d = await t.client.schedule.getHandle(reconcileScheduleId(t.taskQueue)).describe();
    const ids = new Set(
      [...d.info.recentActions.map((a) => a.action), ...d.info.runningActions].map((a) => a.workflow.workflowId),
    );
    const prefix = d.action.type === 'startWorkflow' ? d.action.workflowId : undefined;
    if (prefix) {
      for await (const wf of t.client.workflow.list({ query: RECONCILE_RUNS(t.taskQueue) })) {
        if (wf.workflowId.startsWith(prefix)) ids.add(wf.workflowId);
      }
    }
    return ids;
  }

  const find = (r: DriftReport, situation: string, pred: (f: DriftFinding) => boolean = () => true) =>
    r.findings.filter((f) => f.situation === situation && pred(f));

  // ── the story ───────────────────────────────────────────────────────────────────────────────────────
  it('the worker created the schedule from the policy: cron and time zone', async () => {
    const d = await t.client.schedule.getHandle(reconcileScheduleId(t.taskQueue)).describe();
    assert.deepEqual(d.spec.timezone, 'Europe/Lisbon');
    assert.equal(d.state.paused, false);
    assert.equal(d.action.type, 'startWorkflow');
    assert.equal(d.action.type === 'startWorkflow' ? d.action.workflowType : '', 'reconcileWorkflow');
  });

  let edited: EmployeeRecord;
  let missing: EmployeeRecord;
  let leaver: EmployeeRecord;
  let claimed: EmployeeRecord;
  let steady: EmployeeRecord;
  let orphanId: string;
  let aliasId: string;
  let first: { runId: string; report: DriftReport };

  it('drift of every kind: each situation gets the policy’s reaction', async () => {
    [edited, missing, leaver, claimed, steady] = await Promise.all([
      hire({ title: 'Software Engineer' }),
      hire(),
      hire(),
      hire(),
      hire(),
    ]);

    // A leaver still active: HR terminated them, Tenure disabled them, someone turned the account back on.
    const exitId = `exit-${leaver.hrId}`;
    const left = { ...leaver, status: 'terminated' as const, exitKind: 'involuntary' as const };
    left.sourceUpdatedAt = new Date().toISOString();
    assert.equal(
      (await t.tenure.sendEvent({ eventId: exitId, kind: 'termination', record: left })).outcome,
      'accepted',
    );
    await resultWhenStarted(t.client.workflow.getHandle(eventWorkflowId(leaver.hrId, 'termination', exitId)), 60_000);
    await waitFor(() => wikiUser(leaver.hrId)?.active === false, 60_000, 'leaver disabled');
    await settled(leaver.hrId);
    await patch(t.app, wikiUser(leaver.hrId)?.id ?? '', { op: 'replace', path: 'active', value: true });

    // A hand-edited title.
    await patch(t.app, wikiUser(edited.hrId)?.id ?? '', { op: 'replace', path: 'title', value: 'Chief Wizard' });
    // A missing account: deleted in the app.
    await scim(t.app, 'DELETE', `/Users/${wikiUser(missing.hrId)?.id ?? ''}`);
    // An orphan: nobody in HR.
    orphanId = String(
      (
        await scim(t.app, 'POST', '/Users', {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
          userName: 'stranger@elsewhere.example',
          active: true,
        })
      ).id,
    );
    // A collision: a second account carrying the claimed person's work e-mail.
    aliasId = String(
      (
        await scim(t.app, 'POST', '/Users', {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
          userName: 'claimed-alias',
          emails: [{ value: claimed.workEmail, type: 'work', primary: true }],
          active: true,
        })
      ).id,
    );

    first = await triggerScheduledRun(t.client, await scheduledRuns());
    const r = first.report;

    const orphan = find(r, 'orphan');
    assert.deepEqual(
      orphan.map((f) => [f.systemId, f.accountId, f.reaction, f.outcome]),
      [['wiki', orphanId, 'fix', 'disabled']],
    );
    const leavers = find(r, 'leaver_active');
    assert.deepEqual(
      leavers.map((f) => [f.systemId, f.hrId, f.reaction, f.outcome]),
      [['wiki', leaver.hrId, 'fix', 'disabled']],
    );
    const override = find(r, 'manual_override');
    assert.deepEqual(
      override.map((f) => [f.systemId, f.hrId, f.fields, f.reaction, f.outcome]),
      [['wiki', edited.hrId, ['title'], 'fix', 'sent']],
    );
    const absent = find(r, 'missing');
    assert.deepEqual(
      absent.map((f) => [f.systemId, f.hrId, f.missing, f.reaction, f.outcome]),
      [['wiki', missing.hrId, 'absent', 'fix', 'sent']],
    );
    const collision = find(r, 'collision');
    assert.equal(collision.length, 1, JSON.stringify(r.findings));
    assert.equal(collision[0]?.hrId, claimed.hrId);
    assert.deepEqual(collision[0]?.accountIds, [aliasId, wikiUser(claimed.hrId)?.id].sort());
    assert.equal(collision[0]?.outcome, 'task_opened');
    assert.equal(find(r, 'attribute_drift').length, 0);
    // The identity provider matches HR; the steady person matches everywhere.
    assert.equal(r.findings.filter((f) => f.systemId === 'idp').length, 0, JSON.stringify(r.findings));
    assert.equal(r.findings.filter((f) => f.hrId === steady.hrId).length, 0);
    assert.equal(r.systems.find((s) => s.systemId === 'wiki')?.counts.orphan, 1);
    assert.ok((r.systems.find((s) => s.systemId === 'wiki')?.lagSeconds ?? -1) >= 0);

    // Final state of every system.
    const orphanAfter = t.app.users().find((u) => u.id === orphanId);
    assert.equal(orphanAfter?.active, false, 'the orphan is disabled, never deleted');
    assert.equal(wikiUser(leaver.hrId)?.active, false, 'the leaver is disabled again');
    await settled(edited.hrId);
    await settled(missing.hrId);
    await waitFor(() => wikiUser(edited.hrId)?.raw.title === edited.title, 60_000, 'title restored');
    await waitFor(() => wikiUser(missing.hrId)?.active === true, 60_000, 'missing account back');
    assert.equal(t.app.users().find((u) => u.id === aliasId)?.active, true, 'a collision is never fixed blindly');

    // The owner's task, in Slack.
    const task = t.client.workflow.getHandle(manualTaskWorkflowId(collision[0]?.reason ?? ''));
    const status = await task.query(taskStatusQuery);
    assert.equal(status.systemId, 'wiki');
    assert.deepEqual(status.owners, [owner.id]);
    await waitFor(() => (t.slack?.messages ?? []).some((m) => m.channel === owner.id), 30_000, 'owner told');

    // The evidence: the report, every finding, the guarded disables, the repair runs' steps.
    const ev = await evidence();
    const report = ev.find((e) => e.action === 'drift_report' && e.requestId === first.runId);
    assert.ok(report, 'drift_report evidence');
    assert.equal((report.detail?.findings as unknown[]).length, r.findings.length);
    const findings = ev.filter((e) => e.action === 'drift_finding' && e.requestId === first.runId);
    assert.equal(findings.length, r.findings.length);
    const disables = ev.filter((e) => e.action === 'disable_account' && e.actor.id === 'tenure-guard');
    assert.deepEqual(disables.map((e) => e.detail?.accountId).sort(), [orphanId, wikiUser(leaver.hrId)?.id].sort());
    const repairRun = (hrId: string) =>
      eventWorkflowId(hrId, 'change', `${first.runId.replace(/[^A-Za-z0-9_.-]/g, '-')}.repair.${hrId}`);
    assert.ok(
      ev.some((e) => e.action === 'update_account' && e.requestId === repairRun(edited.hrId) && e.systemId === 'wiki'),
      'the override was corrected by the entity’s own run',
    );
    assert.ok(
      ev.some(
        (e) => e.action === 'create_account' && e.requestId === repairRun(missing.hrId) && e.outcome === 'created',
      ),
      'the missing account was created by the entity’s own run',
    );
  });

  it('the next run finds only the collision, with its lag, and records the repaired people’s convergence', async () => {
    const second = await triggerScheduledRun(t.client, await scheduledRuns());
    const r = second.report;
    assert.deepEqual(
      r.findings.map((f) => [f.situation, f.hrId]),
      [['collision', claimed.hrId]],
    );
    const wiki = r.systems.find((s) => s.systemId === 'wiki');
    assert.equal(wiki?.oldestSince, first.report.findings.find((f) => f.situation === 'collision')?.firstSeenAt);
    assert.ok((wiki?.lagSeconds ?? 0) > 0);
    assert.equal(r.systems.find((s) => s.systemId === 'idp')?.lagSeconds, 0);
    // Convergence is recorded once per change, by the first run that sees it (one run here, or two where a
    // trigger had to be sent again): the evidence holds it either way.
    const ev = await evidence();
    for (const p of [edited, missing]) {
      const c = ev.find((e) => e.action === 'converged' && e.hrId === p.hrId);
      assert.ok(c, `${p.hrId} converged`);
      assert.ok(Number(c.detail?.seconds) >= 0);
      const inReport = r.converged.find((x) => x.hrId === p.hrId);
      if (c.requestId === second.runId) assert.ok(inReport, 'the run that recorded it reports it');
    }

    // The metrics the worker exports: counts per system and situation, lag per system, convergence times.
    const registry = defaultTenureMetrics().registry;
    const findings = await registry.getSingleMetricAsString(DRIFT_METRIC.findings);
    assert.match(findings, /tenure_drift_findings\{system="wiki",situation="collision"\} 1(\n|$)/);
    assert.match(findings, /tenure_drift_findings\{system="idp",situation="matching"\} 5(\n|$)/);
    assert.doesNotMatch(findings, /situation="orphan"/, 'the last run found no orphan: the gauge says so');
    const lag = await registry.getSingleMetricAsString(DRIFT_METRIC.lag);
    // The oldest open finding's age: more than nothing, however fast the runs came (it can be under a second).
    assert.ok(Number(/tenure_drift_lag_seconds\{system="wiki"\} ([0-9.e+-]+)/.exec(lag)?.[1] ?? 0) > 0, lag);
    assert.match(lag, /tenure_drift_lag_seconds\{system="idp"\} 0(\n|$)/);
    const convergence = await registry.getSingleMetricAsString(DRIFT_METRIC.convergence);
    const count = Number(/tenure_convergence_seconds_count (\d+)/.exec(convergence)?.[1] ?? 0);
    assert.ok(count >= 2, convergence);
  });

  it('tenure drift --format json (a process) prints the latest report from the audit store', async () => {
    // The CLI reads an embedded audit store of its own: copy the harness's evidence of the last run into one.
    const dir = mkdtempSync(join(tmpdir(), 'tenure-drift-'));
    try {
      const store = await openAuditStore({ dataDir: join(dir, 'audit') });
      for (const e of await evidence()) {
        if (e.action === 'drift_report') {
          const { seq: _s, prevHash: _p, hash: _h, recordedAt: _r, ...input } = e;
          await store.append(input);
        }
      }
      await store.close();
      const p = spawnEntryPoint(
        'cli',
        { TENURE_DATA_DIR: dir, TENURE_LOG_LEVEL: 'error', TENURE_CODEC_KEYS: codecKeys },
        'cli',
        ['drift', '--format', 'json'],
      );
      assert.equal(await p.exited, 0, p.lines.join('\n'));
      const printed = JSON.parse(p.lines.join('\n')) as DriftReport;
      const runs = (await evidence()).filter((e) => e.action === 'drift_report');
      assert.equal(printed.runId, runs.at(-1)?.requestId);
      assert.deepEqual(
        printed.findings.map((f) => f.situation),
        ['collision'],
      );
      assert.ok((printed.systems.find((s) => s.systemId === 'wiki')?.lagSeconds ?? 0) > 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tenure drift run --format csv (a process) runs a reconciliation on the deployment and prints it', async () => {
    const p = spawnEntryPoint(
      'cli',
      {
        TEMPORAL_ADDRESS: devServer().address,
        TEMPORAL_NAMESPACE: 'default',
        TENURE_TASK_QUEUE: t.taskQueue,
        TENURE_CODEC_KEYS: codecKeys,
        TENURE_LOG_LEVEL: 'error',
      },
      'cli',
      ['drift', 'run', '--format', 'csv'],
    );
    assert.equal(await p.exited, 0, p.lines.join('\n'));
    const lines = p.lines.filter((l) => l.length > 0);
    assert.match(lines[0] ?? '', /^situation,systemId,hrId,accountId/);
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(',')[0]),
      ['collision'],
    );
  });
});

/** Reconciliation's fixes go through the mass-change guard: past a threshold nothing is disabled until a release. */
describe('reconcile: fixes past the guard’s threshold are held until an operator releases them', function () {
  this.timeout(180_000);
  let t: TenureHarness;

  before(async () => {
    await workflowBundle();
    t = await startTenure({
      policy: (p) => ({
        ...p,
        // Any disable in one reconciliation is more than this deployment allows at once.
        guard: { percentFloor: 100, perRun: { disables: { count: 1 } } },
        reconcile: { reactions: { orphan: 'fix' } },
      }),
    });
  });
  after(async () => {
    await t?.stop();
  });

  it('two orphans: the run reports them held, both stay active, a release disables both', async () => {
    const ids: string[] = [];
    for (const userName of ['stray-one@elsewhere.example', 'stray-two@elsewhere.example']) {
      const res = await fetch(`${t.app.url}/Users`, {
        method: 'POST',
        headers: { 'content-type': 'application/scim+json' },
        body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName, active: true }),
      });
      assert.equal(res.status, 201);
      ids.push(String(((await res.json()) as { id: string }).id));
    }
    const report = await runReconcileNow(t.client, t.taskQueue);
    assert.equal(report.guard?.held, true, JSON.stringify(report.guard));
    assert.deepEqual(
      report.findings.map((f) => [f.situation, f.outcome]),
      [
        ['orphan', 'held'],
        ['orphan', 'held'],
      ],
    );
    const active = () => t.app.users().filter((u) => ids.includes(u.id) && u.active).length;
    assert.equal(active(), 2, 'nothing held has run');

    const guard = t.client.workflow.getHandle(guardWorkflowId(t.taskQueue));
    const released = await guard.executeUpdate(releaseHoldUpdate, {
      args: [{ holdId: report.guard?.holdId ?? '', by: 'cli:test-operator' }],
    });
    assert.equal(released.path, 'reconcile');
    await waitFor(() => active() === 0, 60_000, 'both orphans disabled after the release');
    assert.equal(t.app.users().filter((u) => ids.includes(u.id)).length, 2, 'disabled, never deleted');
  });
});
