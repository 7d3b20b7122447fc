/**
 * A reconciliation's repair (issue 14, item 3; docs/reconcile.md): the plan that brings a person's accounts back to
 * HR's current record where reconciliation found them missing or drifted. Pure code; the person's entity plans it
 * when it accepts an event with `repair` and runs it like a mover's run (approvals, evidence, exceptions).
 *
 * - a **missing** account (absent, or off while HR says the person works here) is created or adopted, given the
 *   policy's groups and activated, after its approval where the system has an approval rule: the same steps a
 *   new system gets in a mover's plan;
 * - a **drifted** account gets `update_account`: title, department, manager and name written again from HR.
 *
 * Only systems the birthright plan still gives the person, with an API, are repaired; the rest are left out of the
 * plan and named in `skipped`.
 */
import type { EmployeeRecord, RepairRequest } from './employee';
import type { Plan, PlanStep } from './plan';
import { stepId, targetAccess } from './plan';
import type { Policy } from './policy';
import { identityProvider } from './policy-lookup';

export type RepairPlanResult =
  | {
      ok: true;
      plan: Plan;
      /** Systems asked for that the plan leaves out, with why (no longer granted, no API). */
      skipped: { systemId: string; reason: string }[];
    }
  | { ok: false; reason: string };

export function planRepair(
  record: EmployeeRecord,
  repair: RepairRequest,
  policy: Policy,
  policyVersion: string,
): RepairPlanResult {
  if (record.status !== 'active' && repair.missing.length > 0) {
    return { ok: false, reason: `a ${record.status} person gets no account back from a reconciliation` };
  }
  const access = targetAccess(record, policy);
  const gets = new Map(access.targets.map((t) => [t.systemId, t]));
  const byId = new Map(policy.systems.map((s) => [s.id, s]));
  const idp = identityProvider(policy).id;
  const skipped: { systemId: string; reason: string }[] = [];
  const usable = (id: string): boolean => {
    const sys = byId.get(id);
    if (!sys) skipped.push({ systemId: id, reason: 'not in the policy' });
    else if (!gets.has(id)) skipped.push({ systemId: id, reason: 'the policy no longer grants it' });
    else if (sys.connector.type === 'manual') skipped.push({ systemId: id, reason: 'no API (a manual system)' });
    else return true;
    return false;
  };
  // Catalog order keeps the identity provider ahead of the apps; ids the catalog does not know go last (skipped).
  const order = (ids: readonly string[]): string[] => [
    ...policy.systems.map((s) => s.id).filter((id) => ids.includes(id)),
    ...ids.filter((id) => !byId.has(id)),
  ];
  const missing = order([...new Set(repair.missing)]).filter(usable);
  const drift = order([...new Set(repair.drift)].filter((id) => !missing.includes(id))).filter(usable);

  const steps: PlanStep[] = [];
  const resolveEmail = missing.length > 0 && !record.workEmail;
  const emailDeps = resolveEmail ? [stepId('allocate_work_email')] : [];
  if (resolveEmail) {
    steps.push({
      id: stepId('allocate_work_email'),
      action: 'allocate_work_email',
      phase: 'activation',
      dependsOn: [],
    });
  }
  for (const systemId of missing) {
    const sys = byId.get(systemId);
    const approve = sys?.approval ? [stepId('approve', systemId)] : [];
    if (sys?.approval) {
      steps.push({ id: stepId('approve', systemId), action: 'approve', phase: 'activation', systemId, dependsOn: [] });
    }
    const upstream = new Set(sys?.dependsOn ?? []);
    if (systemId !== idp) upstream.add(idp);
    const after = [...upstream].filter((d) => missing.includes(d)).map((d) => stepId('activate_account', d));
    const create = stepId('create_account', systemId);
    steps.push({
      id: create,
      action: 'create_account',
      phase: 'activation',
      systemId,
      dependsOn: [...emailDeps, ...approve, ...after.sort()],
      ...(sys?.licence ? { licence: sys.licence } : {}),
    });
    const groups = gets.get(systemId)?.groups ?? [];
    if (groups.length > 0) {
      steps.push({
        id: stepId('assign_groups', systemId),
        action: 'assign_groups',
        phase: 'activation',
        systemId,
        dependsOn: [create],
        groups,
      });
    }
    steps.push({
      id: stepId('activate_account', systemId),
      action: 'activate_account',
      phase: 'activation',
      systemId,
      dependsOn: [create, ...(groups.length > 0 ? [stepId('assign_groups', systemId)] : [])],
    });
  }
  for (const systemId of drift) {
    steps.push({
      id: stepId('update_account', systemId),
      action: 'update_account',
      phase: 'activation',
      systemId,
      dependsOn: [],
    });
  }
  return {
    ok: true,
    plan: { kind: 'change', policyVersion, playbooks: access.playbooks, steps },
    skipped,
  };
}
