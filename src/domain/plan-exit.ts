import type { EmployeeRecord, HrEventKind } from './employee';
import type { Plan, PlanStep } from './plan';
import { targetSystems } from './plan';
import type { Policy } from './policy';
import { identityProvider } from './policy';
import { localInstant } from './time';

export type ExitPlanResult =
  | {
      ok: true;
      plan: Plan;
      effectiveAt: string;
      /** A termination under a policy with `timing.retention`: the accounts are deleted at `deleteAt`. */
      retention?: { deleteAt: string; systems: string[]; idp: string };
    }
  | { ok: false; reason: string };

/**
 * A leaver (or an undone hire): at the exit instant, disable the identity-provider account first (cuts federated
 * access), then every other system in parallel — every system in the catalog, not only those Tenure provisioned,
 * since accounts are found by HR key and email (shadow access); revoke the identity provider's sessions; reclaim
 * licences; then read them all back (`verify_exit`). Systems with `dataHandover` ask the manager to accept the data
 * and their owner to transfer it. A cancelled hire also deletes what pre-provisioning created. Involuntary exits take
 * effect at once. With `timing.retention`, a termination's accounts are deleted later, in a run of their own.
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
  const cutIdp = `disable_account:${idp}`;
  const steps: PlanStep[] = [
    { id: cutIdp, action: 'disable_account', phase: 'activation', systemId: idp, dependsOn: [] },
    ...others.map((systemId): PlanStep => ({
      id: `disable_account:${systemId}`,
      action: 'disable_account',
      phase: 'activation',
      systemId,
      dependsOn: [cutIdp],
    })),
  ];
  // Sessions already open outlive a disabled account in many systems: end them once no new one can start.
  if (kind !== 'cancel_hire') {
    steps.push({
      id: `revoke_sessions:${idp}`,
      action: 'revoke_sessions',
      phase: 'activation',
      systemId: idp,
      dependsOn: [cutIdp],
    });
  }
  if (kind === 'termination') {
    for (const s of policy.systems) {
      if (!s.licence) continue;
      steps.push({
        id: `reclaim_licence:${s.id}`,
        action: 'reclaim_licence',
        phase: 'activation',
        systemId: s.id,
        dependsOn: [`disable_account:${s.id}`],
        licence: s.licence,
      });
    }
  }
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
  // The hand-over waits on people, so the read-back of every system does not wait for it.
  if (kind === 'termination') {
    for (const s of policy.systems) {
      if (!s.dataHandover) continue;
      steps.push({
        id: `approve_handover:${s.id}`,
        action: 'approve_handover',
        phase: 'activation',
        systemId: s.id,
        dependsOn: [],
      });
      steps.push({
        id: `transfer_data:${s.id}`,
        action: s.dataHandover.method === 'api' ? 'transfer_data_api' : 'transfer_data',
        phase: 'activation',
        systemId: s.id,
        dependsOn: [`approve_handover:${s.id}`, `disable_account:${s.id}`],
      });
    }
  }
  const keep = policy.timing.retention;
  const retention =
    kind === 'termination' && keep !== undefined
      ? {
          deleteAt: new Date(Date.parse(effectiveAt) + keep).toISOString(),
          systems: [...others, idp],
          idp,
        }
      : undefined;
  return {
    ok: true,
    plan: { kind, policyVersion, playbooks: [], steps },
    effectiveAt,
    ...(retention ? { retention } : {}),
  };
}

/**
 * The return from leave: enable again, identity provider first, the accounts the policy says the person has
 * (found by HR key: they were suspended, not deleted). Takes effect at once.
 */
export function planReturn(record: EmployeeRecord, policy: Policy, policyVersion: string, now: string): ExitPlanResult {
  const idp = identityProvider(policy).id;
  const byId = new Map(policy.systems.map((s) => [s.id, s]));
  // The systems this person's role has (not every system some rule grants): the ones suspended at leave start.
  const granted = new Set(targetSystems(record, policy));
  const targets = policy.systems.map((s) => s.id).filter((id) => id === idp || granted.has(id));
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
