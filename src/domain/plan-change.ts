/**
 * Movers: what a change of department, title, location, manager or employment type does to a person's access.
 * Pure code, shared by the worker (the run), the entity workflow (scheduled revocations) and `tenure plan`.
 */
import type { EmployeeRecord } from './employee';
import type { Plan, PlanStep, Target } from './plan';
import { stepId, targetAccess } from './plan';
import type { Policy } from './policy';
import { identityProvider } from './policy-lookup';

/** Access the new role does not get, taken away when the grace period ends. */
export interface Revocation {
  systemId: string;
  /** Leave only these groups; absent: disable the whole account. */
  groups?: string[];
  /** The system has no API: its owner disables the account (a manual task). */
  manual?: boolean;
}

/** Revocations waiting for their grace period to end, kept by the person's entity workflow. */
export interface PendingRevocations {
  /** The change that caused them. */
  eventId: string;
  dueAt: string;
  revocations: Revocation[];
  /** The policy version the change was planned with. */
  policyVersion: string;
}

export type ChangePlanResult =
  | {
      ok: true;
      /** Granted at once: new systems (after approval where policy says), new groups, updated attributes. */
      plan: Plan;
      /** Taken away at `graceEndsAt`. */
      revocations: Revocation[];
      graceEndsAt: string;
      /** Everything the new role is granted: pending revocations of it from earlier moves are dropped. */
      targets: Target[];
      /** What changed, in words: `department: Sales → Engineering`. No names, no emails. */
      changes: string[];
    }
  | { ok: false; reason: string };

/** Fields whose change can move access or must reach the systems. */
const ROLE_FIELDS = ['department', 'title', 'managerHrId', 'employmentType'] as const;
/** Fields written to every system's account (SCIM title, enterprise department and manager, name). */
const ACCOUNT_FIELDS = [
  'title',
  'department',
  'managerHrId',
  'legalFirstName',
  'legalLastName',
  'preferredFirstName',
  'preferredLastName',
] as const;

/** What changed between two snapshots that matters to access, e.g. `["title: Engineer → Lead"]`. */
export function roleChanges(previous: EmployeeRecord, next: EmployeeRecord): string[] {
  const out: string[] = [];
  for (const f of ROLE_FIELDS) {
    if (previous[f] !== next[f]) out.push(`${f}: ${previous[f] ?? '(none)'} → ${next[f] ?? '(none)'}`);
  }
  const a = previous.location;
  const b = next.location;
  if (a.name !== b.name || a.countryCode !== b.countryCode || a.timeZone !== b.timeZone) {
    out.push(`location: ${a.name} (${a.countryCode}) → ${b.name} (${b.countryCode})`);
  }
  // Names are personal data: say that they changed, never what they are.
  if (ACCOUNT_FIELDS.slice(3).some((f) => previous[f] !== next[f])) out.push('name changed');
  return out;
}

function accountFieldsChanged(previous: EmployeeRecord, next: EmployeeRecord): boolean {
  return ACCOUNT_FIELDS.some((f) => previous[f] !== next[f]);
}

/**
 * The mover plan: every system the new role is granted and the old one was not is created (after its approval)
 * and activated, identity provider first; kept systems join the new role's extra groups and get the new title,
 * department, manager and name. What the old role had and the new one does not is revoked after the policy's
 * grace period (`timing.moverGrace`): whole accounts, or only the groups the new role does not get.
 */
export function planChange(
  previous: EmployeeRecord,
  next: EmployeeRecord,
  policy: Policy,
  policyVersion: string,
  now: string,
): ChangePlanResult {
  const before = targetAccess(previous, policy);
  const after = targetAccess(next, policy);
  if (after.targets.length === 0) {
    return {
      ok: false,
      reason:
        'the changed record matches no birthright rule, so it would leave this person with no access: send a termination if they left',
    };
  }
  const idp = identityProvider(policy).id;
  const byId = new Map(policy.systems.map((s) => [s.id, s]));
  const isManual = (id: string): boolean => byId.get(id)?.connector.type === 'manual';
  const had = new Map(before.targets.map((t) => [t.systemId, t]));
  const gets = new Map(after.targets.map((t) => [t.systemId, t]));

  const steps: PlanStep[] = [];
  // The allocated work email (HR may not hold it): the identity provider's account is the person's, so it is adopted.
  const resolveEmail = !next.workEmail;
  const emailDeps = resolveEmail ? [stepId('allocate_work_email')] : [];
  if (resolveEmail) {
    steps.push({
      id: stepId('allocate_work_email'),
      action: 'allocate_work_email',
      phase: 'activation',
      dependsOn: [],
    });
  }
  const fresh = after.targets.filter((t) => !had.has(t.systemId)).map((t) => t.systemId);
  const upstream = (id: string): string[] => {
    const deps = new Set(byId.get(id)?.dependsOn ?? []);
    if (id !== idp) deps.add(idp);
    return [...deps].filter((d) => fresh.includes(d) && !isManual(d)).sort();
  };
  // New systems (catalog order keeps the identity provider, which every role has, ahead of the apps).
  for (const systemId of fresh) {
    const sys = byId.get(systemId);
    const approve = sys?.approval ? [stepId('approve', systemId)] : [];
    if (sys?.approval) {
      steps.push({ id: approve[0] ?? '', action: 'approve', phase: 'activation', systemId, dependsOn: [] });
    }
    if (isManual(systemId)) {
      steps.push({
        id: stepId('manual_task', systemId),
        action: 'manual_task',
        phase: 'activation',
        systemId,
        dependsOn: [...emailDeps, ...approve],
      });
      continue;
    }
    const create = stepId('create_account', systemId);
    steps.push({
      id: create,
      action: 'create_account',
      phase: 'activation',
      systemId,
      dependsOn: [...emailDeps, ...approve, ...upstream(systemId).map((d) => stepId('activate_account', d))],
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
  // Systems kept: new groups at once, attributes brought up to date.
  const updates = accountFieldsChanged(previous, next);
  const revocations: Revocation[] = [];
  for (const t of after.targets) {
    const old = had.get(t.systemId);
    if (!old || isManual(t.systemId)) continue;
    const added = t.groups.filter((g) => !old.groups.includes(g));
    if (updates) {
      steps.push({
        id: stepId('update_account', t.systemId),
        action: 'update_account',
        phase: 'activation',
        systemId: t.systemId,
        dependsOn: [...emailDeps],
      });
    }
    if (added.length > 0) {
      steps.push({
        id: stepId('assign_groups', t.systemId),
        action: 'assign_groups',
        phase: 'activation',
        systemId: t.systemId,
        dependsOn: [...emailDeps],
        groups: added,
      });
    }
    const removed = old.groups.filter((g) => !t.groups.includes(g));
    if (removed.length > 0) revocations.push({ systemId: t.systemId, groups: removed });
  }
  for (const old of before.targets) {
    if (gets.has(old.systemId)) continue;
    revocations.push({ systemId: old.systemId, ...(isManual(old.systemId) ? { manual: true } : {}) });
  }
  // Only the email lookup and nothing else: nothing to do.
  const plan: Plan = {
    kind: 'change',
    policyVersion,
    playbooks: after.playbooks,
    steps: steps.length === 1 && resolveEmail ? [] : steps,
  };
  return {
    ok: true,
    plan,
    revocations,
    graceEndsAt: new Date(Date.parse(now) + policy.timing.moverGrace).toISOString(),
    targets: after.targets,
    changes: roleChanges(previous, next),
  };
}

/**
 * Drops from pending revocations whatever the person's new role grants again: a system given back keeps its
 * account, a group given back stays. Revocations left with nothing to do disappear.
 */
export function prunePending(pending: PendingRevocations[], targets: Target[]): PendingRevocations[] {
  const gets = new Map(targets.map((t) => [t.systemId, t]));
  return pending
    .map((p) => ({
      ...p,
      revocations: p.revocations.flatMap((r): Revocation[] => {
        const t = gets.get(r.systemId);
        if (!t) return [r];
        if (!r.groups) return [];
        const groups = r.groups.filter((g) => !t.groups.includes(g));
        return groups.length > 0 ? [{ ...r, groups }] : [];
      }),
    }))
    .filter((p) => p.revocations.length > 0);
}

/**
 * The run that ends a grace period: leave the groups, disable the accounts (or ask the owner of a system with no
 * API), each read back. Independent systems in parallel.
 */
export function planRevocations(revocations: Revocation[], policyVersion: string): Plan {
  const steps: PlanStep[] = revocations.map((r): PlanStep => {
    if (r.groups) {
      return {
        id: stepId('remove_groups', r.systemId),
        action: 'remove_groups',
        phase: 'activation',
        systemId: r.systemId,
        dependsOn: [],
        groups: r.groups,
      };
    }
    const action = r.manual ? 'manual_task' : 'disable_account';
    return { id: stepId(action, r.systemId), action, phase: 'activation', systemId: r.systemId, dependsOn: [] };
  });
  return { kind: 'change', policyVersion, playbooks: [], steps };
}

/** Deletion at the end of the retention period: apps first, the identity provider last, then a read-back of all. */
export function planRetentionDeletion(systems: string[], idp: string, policyVersion: string): Plan {
  const apps = systems.filter((s) => s !== idp);
  const steps: PlanStep[] = apps.map((systemId) => ({
    id: stepId('delete_account', systemId),
    action: 'delete_account',
    phase: 'activation',
    systemId,
    dependsOn: [],
  }));
  steps.push({
    id: stepId('delete_account', idp),
    action: 'delete_account',
    phase: 'activation',
    systemId: idp,
    dependsOn: apps.map((a) => stepId('delete_account', a)),
  });
  steps.push({ id: 'verify_exit', action: 'verify_exit', phase: 'activation', dependsOn: steps.map((s) => s.id) });
  return { kind: 'termination', policyVersion, playbooks: [], steps };
}
