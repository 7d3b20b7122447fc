import type { EmployeeRecord, HrEventKind } from './employee';
import type { Plan, PlanStep } from './plan';
import type { Policy } from './policy';
import { identityProvider } from './policy';
import { localInstant } from './time';

export type ExitPlanResult = { ok: true; plan: Plan; effectiveAt: string } | { ok: false; reason: string };

/**
 * A leaver (or an undone hire): at the exit instant, disable the identity-provider account first (cuts federated
 * access), then every other system in parallel — every system in the catalog, not only those Tenure provisioned,
 * since accounts are found by HR key and email (shadow access) — then read them all back (`verify_exit`).
 * A cancelled hire also deletes what pre-provisioning created. Involuntary exits take effect at once.
 */
export function planExit(
  record: EmployeeRecord,
  policy: Policy,
  policyVersion: string,
  kind: Extract<HrEventKind, 'termination' | 'cancel_hire' | 'leave_start'>,
  now: string,
): ExitPlanResult {
  // A leave of absence suspends at once: the same disable-and-verify, and nothing is deleted.
  let effectiveAt = now;
  if (kind === 'termination' && record.exitKind !== 'involuntary') {
    if (!record.exitDate) return { ok: false, reason: 'a termination needs exitDate (or exitKind "involuntary")' };
    effectiveAt = localInstant(record.exitDate, policy.timing.exitTime, record.location.timeZone).toISOString();
  }
  const idp = identityProvider(policy).id;
  const others = policy.systems.map((s) => s.id).filter((id) => id !== idp);
  const steps: PlanStep[] = [
    { id: `disable_account:${idp}`, action: 'disable_account', phase: 'activation', systemId: idp, dependsOn: [] },
    ...others.map((systemId): PlanStep => ({
      id: `disable_account:${systemId}`,
      action: 'disable_account',
      phase: 'activation',
      systemId,
      dependsOn: [`disable_account:${idp}`],
    })),
  ];
  if (kind === 'cancel_hire') {
    for (const systemId of [...others, idp]) {
      steps.push({
        id: `delete_account:${systemId}`,
        action: 'delete_account',
        phase: 'activation',
        systemId,
        // The IdP goes last when deleting, so no app account is left pointing at a missing identity.
        dependsOn: [
          `disable_account:${systemId}`,
          ...(systemId === idp ? others.map((o) => `delete_account:${o}`) : []),
        ],
      });
    }
  }
  steps.push({
    id: 'verify_exit',
    action: 'verify_exit',
    phase: 'activation',
    dependsOn: steps.map((s) => s.id),
  });
  return { ok: true, plan: { kind, policyVersion, playbooks: [], steps }, effectiveAt };
}

/**
 * The return from leave: enable again, identity provider first, the accounts the policy says the person has
 * (found by HR key: they were suspended, not deleted). Takes effect at once.
 */
export function planReturn(record: EmployeeRecord, policy: Policy, policyVersion: string, now: string): ExitPlanResult {
  const idp = identityProvider(policy).id;
  const byId = new Map(policy.systems.map((s) => [s.id, s]));
  const targets = policy.systems
    .map((s) => s.id)
    .filter((id) => id === idp || policy.birthright.some((r) => r.systems.some((g) => g.system === id)));
  const steps: PlanStep[] = targets.map((systemId) => {
    const manual = byId.get(systemId)?.connector.type === 'manual';
    return {
      id: `${manual ? 'manual_task' : 'activate_account'}:${systemId}`,
      action: manual ? 'manual_task' : 'activate_account',
      phase: 'activation',
      systemId,
      dependsOn: systemId === idp ? [] : [`activate_account:${idp}`],
    };
  });
  return { ok: true, plan: { kind: 'leave_end', policyVersion, playbooks: [], steps }, effectiveAt: now };
}
