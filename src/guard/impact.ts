/**
 * What a change would take away, found by planning it with the same plan functions the worker runs
 * (src/domain/plan-exit.ts, plan-change.ts, plan.ts): the guard counts what would really run.
 */
import type { EmployeeRecord, HrEvent } from '../domain/employee';
import type { Counts, Impact } from '../domain/guard-thresholds';
import { emptyImpact, zeroCounts } from '../domain/guard-thresholds';
import { planHire } from '../domain/plan';
import { planChange } from '../domain/plan-change';
import { planExit } from '../domain/plan-exit';
import type { Policy } from '../domain/policy';
import type { AccountAction } from './index';

const GUARD_PLAN_VERSION = 'guard';

function bump(impact: Impact, systemId: string, kind: keyof Counts): void {
  const c = impact.systems[systemId] ?? zeroCounts();
  c[kind] += 1;
  impact.systems[systemId] = c;
}

/** The transition an event means, as the entity derives it from a changed record's status. */
export function effectiveKind(event: HrEvent, previous?: EmployeeRecord): HrEvent['kind'] {
  if (event.kind !== 'change') return event.kind;
  const was = previous?.status;
  if (event.record.status === 'terminated' && was !== 'terminated') return 'termination';
  if (event.record.status === 'on_leave' && was !== 'on_leave') return 'leave_start';
  return 'change';
}

/**
 * What one HR event takes away (and grants): a leaver or a leave disables (cancelled hires also delete) on every
 * system the exit plan touches; a mover whose previous record is known loses what `planChange` revokes; a hire or
 * rehire grants. A change whose previous record is unknown counts nothing (see docs/guard.md).
 */
export function eventImpact(event: HrEvent, policy: Policy, now: string, previous?: EmployeeRecord): Impact {
  const impact = emptyImpact();
  const kind = effectiveKind(event, previous);
  if (kind === 'termination' || kind === 'cancel_hire' || kind === 'leave_start') {
    const exit = planExit(
      kind === 'termination' && !event.record.exitDate ? { ...event.record, exitKind: 'involuntary' } : event.record,
      policy,
      GUARD_PLAN_VERSION,
      kind,
      now,
    );
    if (!exit.ok) return impact;
    let disables = false;
    let deletions = false;
    for (const step of exit.plan.steps) {
      if (!step.systemId) continue;
      if (step.action === 'disable_account') {
        disables = true;
        bump(impact, step.systemId, 'disables');
      } else if (step.action === 'delete_account') {
        deletions = true;
        bump(impact, step.systemId, 'deletions');
      }
    }
    if (disables) impact.totals.disables += 1;
    if (deletions) impact.totals.deletions += 1;
    return impact;
  }
  if (kind === 'hire' || kind === 'rehire') {
    const plan = planHire(event.record, policy, GUARD_PLAN_VERSION);
    const systems = plan.steps.filter((s) => s.action === 'create_account' || s.action === 'manual_task');
    for (const s of systems) if (s.systemId) bump(impact, s.systemId, 'grants');
    if (systems.length > 0) impact.totals.grants += 1;
    return impact;
  }
  if (kind === 'change' && previous) {
    const change = planChange(previous, event.record, policy, GUARD_PLAN_VERSION, now);
    if (!change.ok) return impact;
    for (const r of change.revocations) bump(impact, r.systemId, 'revocations');
    if (change.revocations.length > 0) impact.totals.revocations += 1;
    const grants = change.plan.steps.filter((s) => s.action === 'create_account' || s.action === 'assign_groups');
    for (const s of grants) if (s.systemId) bump(impact, s.systemId, 'grants');
    if (grants.length > 0) impact.totals.grants += 1;
  }
  return impact;
}

/** What one account action takes away: one account disabled or deleted on its system. */
export function actionImpact(action: AccountAction): Impact {
  const impact = emptyImpact();
  const kind = action.action === 'delete' ? 'deletions' : 'disables';
  impact.totals[kind] = 1;
  bump(impact, action.systemId, kind);
  return impact;
}
