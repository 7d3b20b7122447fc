import assert from 'node:assert/strict';
import type { EvidenceRecord } from '../../src/activities/audit/types';
import { approvalWorkflowId, manualTaskWorkflowId } from '../../src/domain/approval';
import { eventWorkflowId, stepIdempotencyKey } from '../../src/domain/ids';
import { computeKpis, formatKpiReport, parsePlanLine, parseSince, percentile } from '../../src/observability/report';
import { accessChange, parseRunWorkflowId } from '../../src/observability/runs';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();
const SYSTEM = { type: 'system', id: 'tenure-worker' } as const;

let seq = 0;
function rec(r: Omit<EvidenceRecord, 'seq' | 'prevHash' | 'hash' | 'recordedAt' | 'actor'> & Partial<EvidenceRecord>) {
  seq += 1;
  return { actor: SYSTEM, seq, prevHash: '0'.repeat(64), hash: 'f'.repeat(64), recordedAt: r.at, ...r };
}

/** The intake's record of an accepted event, with its plan and due instant. */
function received(
  hrId: string,
  kind: 'hire' | 'termination' | 'change',
  eventId: string,
  o: { at: number; due: number; plan: string[] },
) {
  return rec({
    key: `intake:${eventId}`,
    at: at(o.at),
    hrId,
    actor: { type: 'system', id: 'tenure-intake' },
    action: 'hr_event_received',
    requestId: eventId,
    outcome: 'accepted',
    detail: {
      kind,
      source: 'generic-webhook',
      workflowId: eventWorkflowId(hrId, kind, eventId),
      plan: o.plan,
      effectiveAt: at(o.due),
    },
  });
}

/** A step's evidence as `step()` in src/activities writes it. */
function step(
  wf: string,
  hrId: string,
  stepId: string,
  o: { at: number; outcome: string; hrChangedAt?: number; failed?: boolean },
) {
  const [action, systemId] = stepId.split(':');
  return rec({
    key: o.failed ? `${stepIdempotencyKey(wf, stepId)}#failed#v1` : stepIdempotencyKey(wf, stepId),
    at: at(o.at),
    hrId,
    ...(systemId ? { systemId } : {}),
    action: action ?? stepId,
    requestId: wf,
    outcome: o.failed ? 'failed' : o.outcome,
    detail: o.failed
      ? { error: 'boom', attempt: 1 }
      : { policyVersion: 'v1', ...(o.hrChangedAt !== undefined ? { hrChangedAt: at(o.hrChangedAt) } : {}) },
  });
}

function people(
  wf: string,
  hrId: string,
  systemId: string,
  action: string,
  outcome: string,
  o: { at: number; person?: boolean },
) {
  return rec({
    key: `${wf}#${action}#${outcome}`,
    at: at(o.at),
    hrId,
    systemId,
    actor: o.person ? { type: 'person', id: 'U1' } : { type: 'system', id: 'tenure-people' },
    action,
    requestId: wf,
    outcome,
  });
}

/**
 * Four runs: a hire that went well, an exit with a permanent failure (retried by an operator) and a missing
 * verify_exit record, a hire through an approval and a manual task that is not due yet, and a mover whose
 * approval was rejected. Plus one refusal and one duplicate at the intake.
 */
function fixture(): EvidenceRecord[] {
  const a = eventWorkflowId('H1', 'hire', 'e1');
  const b = eventWorkflowId('H2', 'termination', 'e2');
  return [
    rec({
      key: 'intake:r1',
      at: at(0),
      actor: { type: 'system', id: 'tenure-intake' },
      action: 'hr_event_refused',
      requestId: 'r1',
      outcome: 'refused',
      detail: { error: 'bad_signature' },
    }),
    // A: hire, HR changed 10 minutes before the intake heard; activation due at +1h, done 5 s late.
    received('H1', 'hire', 'e1', {
      at: 0,
      due: 3600,
      plan: ['create_account:idp', 'activate_account:idp after create_account:idp'],
    }),
    step(a, 'H1', 'create_account:idp', { at: 60, outcome: 'created', hrChangedAt: -600 }),
    step(a, 'H1', 'activate_account:idp', { at: 3605, outcome: 'activated', hrChangedAt: -600 }),
    rec({
      key: 'intake:dup',
      at: at(100),
      hrId: 'H1',
      actor: { type: 'system', id: 'tenure-intake' },
      action: 'hr_event_received',
      requestId: 'e1',
      outcome: 'duplicate',
      detail: { workflowId: a },
    }),
    // B: exit due at once; the wiki fails for good, an operator retries it an hour later; verify_exit left no record.
    received('H2', 'termination', 'e2', {
      at: 0,
      due: 0,
      plan: [
        'disable_account:idp',
        'disable_account:wiki after disable_account:idp',
        'verify_exit after disable_account:idp, disable_account:wiki',
      ],
    }),
    step(b, 'H2', 'disable_account:idp', { at: 10, outcome: 'disabled', hrChangedAt: -60 }),
    step(b, 'H2', 'disable_account:wiki', { at: 20, outcome: 'failed', failed: true }),
    step(b, 'H2', 'disable_account:wiki', { at: 3600, outcome: 'disabled', hrChangedAt: -60 }),
    // C: hire due tomorrow, approved, its manual task done at +3h (no automated step yet: HR change = received).
    received('H3', 'hire', 'e3', { at: 120, due: 86_400, plan: ['approve:crm', 'manual_task:crm after approve:crm'] }),
    people(approvalWorkflowId('H3', 'e3', 'crm'), 'H3', 'crm', 'approval_requested', 'sent', { at: 130 }),
    people(approvalWorkflowId('H3', 'e3', 'crm'), 'H3', 'crm', 'approval_decided', 'approved', {
      at: 600,
      person: true,
    }),
    people(manualTaskWorkflowId('H3/e3/crm/create_account'), 'H3', 'crm', 'manual_task_opened', 'sent', { at: 700 }),
    people(manualTaskWorkflowId('H3/e3/crm/create_account'), 'H3', 'crm', 'manual_task_completed', 'done', {
      at: 10_800,
      person: true,
    }),
    // D: mover whose new system was rejected: nothing after the approval is due.
    received('H4', 'change', 'e4', {
      at: 0,
      due: 0,
      plan: ['approve:crm', 'create_account:crm after approve:crm', 'activate_account:crm after create_account:crm'],
    }),
    people(approvalWorkflowId('H4', 'e4', 'crm'), 'H4', 'crm', 'approval_decided', 'rejected', {
      at: 900,
      person: true,
    }),
    // A person's failed verification is not an automation failure.
    people(approvalWorkflowId('H4', 'e4', 'crm'), 'H4', 'crm', 'manual_task_verified', 'failed', {
      at: 901,
      person: true,
    }),
    // Evidence of another kind of workflow (the entity) and of no run are ignored.
    rec({ key: 'x', at: at(5), hrId: 'H9', action: 'note', requestId: 'employee/H9', outcome: 'failed' }),
  ];
}

describe('report: KPIs from evidence', () => {
  const report = computeKpis(fixture(), { asOf: new Date(T0 + 5 * 3600_000), since: at(-3600) });

  it('counts runs by kind, and the intake outcomes by reason', () => {
    assert.deepEqual(report.runs, { total: 4, byKind: { hire: 2, termination: 1, change: 1 } });
    assert.deepEqual(report.events, { accepted: 4, duplicate: 1, refused: { bad_signature: 1 } });
  });

  it('automation failure rate: runs with a failure Tenure recorded, over runs', () => {
    assert.equal(report.automationFailures.runsFailed, 1);
    assert.equal(report.automationFailures.rate, 0.25);
    assert.equal(report.automationFailures.met, false);
  });

  it('audit completeness: due planned steps whose dependencies succeeded, with evidence', () => {
    const c = report.auditCompleteness;
    // A 2 of 2, B 2 of 3 (verify_exit missing), C not due yet, D 1 of 1 (the rejected approval ends it).
    assert.equal(c.runsChecked, 3);
    assert.equal(c.stepsExpected, 6);
    assert.equal(c.stepsWithEvidence, 5);
    assert.equal(c.ratio, 5 / 6);
    assert.equal(c.met, false);
    assert.deepEqual(c.missing, [{ hrId: 'H2', eventId: 'e2', stepId: 'verify_exit' }]);
  });

  it('time from HR change to the last access change of each run: nearest-rank median and p95', () => {
    // A 600 + 3605 = 4205 s; B 60 + 3600 = 3660 s; C from the intake's receipt (+120) to the task (+10800).
    assert.deepEqual(
      {
        samples: report.timeToAccess.samples,
        median: report.timeToAccess.medianSeconds,
        p95: report.timeToAccess.p95Seconds,
      },
      { samples: 3, median: 4205, p95: 10_680 },
    );
    assert.deepEqual(report.timeToAccess.byDirection.grant, { samples: 2, medianSeconds: 4205, p95Seconds: 10_680 });
    assert.deepEqual(report.timeToAccess.byDirection.revoke, { samples: 1, medianSeconds: 3660, p95Seconds: 3660 });
    // Past due: A 5 s after its instant, B an hour, C before its instant (0).
    assert.deepEqual(report.delayPastDue, { samples: 3, medianSeconds: 5, p95Seconds: 3600 });
  });

  it('manual tasks per run', () => {
    assert.deepEqual(report.manualTasks, { total: 1, perRun: 0.25 });
  });

  it('meets both targets when every run is clean', () => {
    const wf = eventWorkflowId('H1', 'hire', 'e1');
    const clean = computeKpis(
      [
        received('H1', 'hire', 'e1', { at: 0, due: 0, plan: ['activate_account:idp'] }),
        step(wf, 'H1', 'activate_account:idp', { at: 2, outcome: 'activated', hrChangedAt: 0 }),
      ],
      { asOf: new Date(T0 + 60_000) },
    );
    assert.equal(clean.automationFailures.rate, 0);
    assert.equal(clean.automationFailures.met, true);
    assert.equal(clean.auditCompleteness.ratio, 1);
    assert.equal(clean.auditCompleteness.met, true);
    assert.equal(clean.timeToAccess.medianSeconds, 2);
  });

  it('an empty store has no rates, and says so', () => {
    const empty = computeKpis([], { asOf: new Date(T0) });
    assert.equal(empty.automationFailures.rate, undefined);
    assert.equal(empty.auditCompleteness.ratio, undefined);
    assert.match(formatKpiReport(empty), /Automation failure rate\s+n\/a/);
  });

  it('prints a table with the targets', () => {
    const text = formatKpiReport(report);
    assert.match(text, /Automation failure rate\s+25\.00 % \(1 of 4 runs; target < 1\.00 %\)\s+MISSED/);
    assert.match(text, /Audit completeness\s+83\.33 % \(5 of 6 due steps in 3 runs; target 100 %\)\s+MISSED/);
    assert.match(text, /HR change → access change \(median \/ p95\)\s+1h 10m \/ 2h 58m over 3 runs/);
    assert.match(text, /Manual tasks per run\s+0\.25 \(1 tasks\)/);
    assert.match(text, /H2 e2 verify_exit/);
  });
});

describe('report: building blocks', () => {
  it('nearest-rank percentiles', () => {
    assert.equal(percentile([], 0.5), undefined);
    assert.equal(percentile([7], 0.95), 7);
    assert.equal(percentile([1, 2, 3, 4], 0.5), 2);
    assert.equal(
      percentile(
        [...Array(100).keys()].map((i) => i + 1),
        0.95,
      ),
      95,
    );
  });

  it('plan lines', () => {
    assert.deepEqual(parsePlanLine('create_account:idp'), { id: 'create_account:idp', dependsOn: [] });
    assert.deepEqual(parsePlanLine('verify_exit after disable_account:idp, disable_account:wiki'), {
      id: 'verify_exit',
      dependsOn: ['disable_account:idp', 'disable_account:wiki'],
    });
  });

  it('--since: a duration back from now, or an ISO date or instant', () => {
    const now = new Date('2026-03-10T12:00:00Z');
    assert.equal(parseSince('7d', now), '2026-03-03T12:00:00.000Z');
    assert.equal(parseSince('24h', now), '2026-03-09T12:00:00.000Z');
    assert.equal(parseSince('2026-03-01', now), '2026-03-01T00:00:00.000Z');
    assert.equal(parseSince('2026-03-01T08:00:00+01:00', now), '2026-03-01T07:00:00.000Z');
    assert.throws(() => parseSince('last week', now), /neither an ISO 8601 date or instant nor a duration/);
  });

  it('workflow ids read back to their run', () => {
    assert.deepEqual(parseRunWorkflowId(eventWorkflowId('E1', 'hire', 'ev-1')), {
      hrId: 'E1',
      kind: 'hire',
      eventId: 'ev-1',
      workflowId: 'employee/E1/hire/ev-1',
    });
    assert.equal(parseRunWorkflowId(approvalWorkflowId('E1', 'ev-1', 'crm'), 'E1')?.eventId, 'ev-1');
    assert.equal(parseRunWorkflowId(manualTaskWorkflowId('E1/ev-1/crm/create_account'), 'E1')?.eventId, 'ev-1');
    assert.equal(parseRunWorkflowId('employee/E1'), undefined);
    assert.equal(parseRunWorkflowId('employee/E1/unknownkind/x'), undefined);
    assert.equal(parseRunWorkflowId('8d1c-uuid'), undefined);
  });

  it('access changes: reactions to HR changes, not the runs Tenure schedules itself', () => {
    assert.equal(accessChange('hire', 'activate_account', 'activated'), 'grant');
    assert.equal(accessChange('hire', 'create_account', 'created'), undefined, 'created disabled: no access yet');
    assert.equal(accessChange('change', 'assign_groups', 'assigned'), 'grant');
    assert.equal(accessChange('hire', 'assign_groups', 'assigned'), undefined, 'pre-provisioned groups');
    assert.equal(accessChange('termination', 'disable_account', 'disabled'), 'revoke');
    assert.equal(accessChange('termination', 'disable_account', 'no_account'), undefined);
    assert.equal(accessChange('termination', 'delete_account', 'deleted'), undefined, 'retention deletion');
    assert.equal(accessChange('change', 'disable_account', 'disabled'), undefined, 'grace-period revocation');
    assert.equal(accessChange('change', 'remove_groups', 'removed'), undefined, 'grace-period revocation');
    assert.equal(accessChange('hire', 'manual_task_completed', 'done', 'create_account'), 'grant');
    assert.equal(accessChange('leave_start', 'manual_task_completed', 'done', 'disable_account'), 'revoke');
    assert.equal(accessChange('hire', 'activate_account', 'failed'), undefined);
  });
});
