import type { EmployeeRecord, HrEventKind } from './employee';
import type { BirthrightRule, Policy } from './policy';
import { identityProvider } from './policy-lookup';

export type StepAction =
  | 'allocate_work_email'
  | 'create_account'
  | 'assign_groups'
  | 'write_back_email'
  | 'activate_account'
  | 'notify_manager'
  | 'disable_account'
  | 'delete_account'
  | 'verify_exit'
  /** A mover: title, department, manager and names brought up to date in a system they keep. */
  | 'update_account'
  /** A mover, after the grace period: leaves groups the new role does not get. */
  | 'remove_groups'
  /** A leaver: ends sign-in sessions at the identity provider (a vendor API; plain SCIM has none). */
  | 'revoke_sessions'
  /** A leaver: frees the licence seat the account held. */
  | 'reclaim_licence'
  /** A leaver: the manager accepts the hand-over of the leaver's data in a system. */
  | 'approve_handover'
  /** A leaver: the system's owner transfers the data to the manager (a manual task). */
  | 'transfer_data'
  /** A leaver: Tenure transfers the data to the manager through the system's API (Google Data Transfer). */
  | 'transfer_data_api'
  /** A person approves the grant (a child approval workflow); a denial skips the system. */
  | 'approve'
  /** The app's owner does it by hand (a child manual-task workflow), verified by reading the app when possible. */
  | 'manual_task';

/** Pre-provisioning runs N days before the hire (accounts disabled); activation at the hire instant. */
export type Phase = 'pre_provision' | 'activation';

/** One action on one system (DESIGN §3). */
export interface PlanStep {
  /** Stable within a plan: `<action>:<systemId>` or `<action>`. */
  id: string;
  action: StepAction;
  phase: Phase;
  systemId?: string;
  /** Step ids that must succeed before this one starts. */
  dependsOn: string[];
  /** For create_account / assign_groups: the groups the policy grants. */
  groups?: string[];
  /** For create_account: the licence the account consumes. */
  licence?: string;
  /** The system has a rate limit: the step runs on its own task queue (src/domain/rate-limit.ts). */
  rateLimited?: boolean;
}

/** The ordered steps that move a person to the access the policy says they should have. */
export interface Plan {
  kind: HrEventKind;
  policyVersion: string;
  /** Playbooks whose rules matched, e.g. "Engineering Onboarding Playbook". */
  playbooks: string[];
  /** Topologically ordered: every step comes after the steps it depends on. */
  steps: PlanStep[];
}

/** What a person already has in one system. */
export interface Entitlement {
  systemId: string;
  active: boolean;
}

export function ruleMatches(rule: BirthrightRule, r: EmployeeRecord): boolean {
  const m = rule.match;
  return (
    (m.department === undefined || m.department.includes(r.department)) &&
    (m.title === undefined || m.title.includes(r.title)) &&
    (m.countryCode === undefined || m.countryCode.includes(r.location.countryCode)) &&
    (m.employmentType === undefined || m.employmentType.includes(r.employmentType))
  );
}

export interface Target {
  systemId: string;
  groups: string[];
}

/** Systems (with groups) the policy says this person should have; the identity provider whenever any. */
export function targetAccess(record: EmployeeRecord, policy: Policy): { targets: Target[]; playbooks: string[] } {
  const groups = new Map<string, Set<string>>();
  const playbooks = new Set<string>();
  for (const rule of policy.birthright) {
    if (!ruleMatches(rule, record)) continue;
    if (rule.playbook) playbooks.add(rule.playbook);
    for (const grant of rule.systems) {
      const set = groups.get(grant.system) ?? new Set<string>();
      grant.groups.forEach((g) => set.add(g));
      groups.set(grant.system, set);
    }
  }
  const idp = identityProvider(policy).id;
  if (groups.size > 0 && !groups.has(idp)) groups.set(idp, new Set());
  // A licence carried by a group comes with the account.
  for (const s of policy.systems) if (s.licenceGroup) groups.get(s.id)?.add(s.licenceGroup);
  const targets = policy.systems
    .filter((s) => groups.has(s.id))
    .map((s) => ({ systemId: s.id, groups: [...(groups.get(s.id) ?? [])].sort() }));
  return { targets, playbooks: [...playbooks].sort() };
}

/** Systems the policy says this person should have an account in, in catalog order. */
export function targetSystems(record: EmployeeRecord, policy: Policy): string[] {
  return targetAccess(record, policy).targets.map((t) => t.systemId);
}

export interface HirePlanOptions {
  /** What the person already has; systems where they are active get no steps. */
  current?: Entitlement[];
  /** A Slack notice to the manager at activation. @default false */
  notifyManager?: boolean;
  /** The work email is written back to the HRIS. @default false */
  writeBackEmail?: boolean;
}

export const stepId = (action: StepAction, systemId?: string): string => (systemId ? `${action}:${systemId}` : action);

/**
 * The onboarding plan. Pre-provisioning: (allocate a work email when the record has none,) create each account
 * disabled — identity provider first, each app after its `dependsOn` — and assign groups; write the email back to
 * the HRIS. Activation: enable each account in the same order, then tell the manager.
 */
export function planHire(
  record: EmployeeRecord,
  policy: Policy,
  policyVersion: string,
  opts: HirePlanOptions = {},
): Plan {
  const idp = identityProvider(policy).id;
  const { targets, playbooks } = targetAccess(record, policy);
  const have = new Set((opts.current ?? []).filter((e) => e.active).map((e) => e.systemId));
  const todo = new Map(targets.filter((t) => !have.has(t.systemId)).map((t) => [t.systemId, t]));
  const byId = new Map(policy.systems.map((s) => [s.id, s]));
  const steps: PlanStep[] = [];
  if (todo.size === 0) return { kind: 'hire', policyVersion, playbooks, steps };

  const allocate = !record.workEmail;
  if (allocate)
    steps.push({
      id: stepId('allocate_work_email'),
      action: 'allocate_work_email',
      phase: 'pre_provision',
      dependsOn: [],
    });

  // Systems in dependency order: the IdP, then each system after the systems it depends on.
  const order: string[] = [];
  const place = (id: string): void => {
    if (order.includes(id) || !todo.has(id)) return;
    const deps = new Set(byId.get(id)?.dependsOn ?? []);
    if (id !== idp) deps.add(idp);
    [...deps].sort().forEach(place);
    order.push(id);
  };
  place(idp);
  targets.forEach((t) => place(t.systemId));

  const upstream = (id: string): string[] => {
    const deps = new Set(byId.get(id)?.dependsOn ?? []);
    if (id !== idp) deps.add(idp);
    return [...deps].filter((d) => todo.has(d)).sort();
  };

  const isManual = (id: string): boolean => byId.get(id)?.connector.type === 'manual';
  for (const systemId of order) {
    if (byId.get(systemId)?.approval) {
      steps.push({
        id: stepId('approve', systemId),
        action: 'approve',
        phase: 'pre_provision',
        systemId,
        dependsOn: [],
      });
    }
  }
  for (const systemId of order) {
    if (isManual(systemId)) continue;
    const target = todo.get(systemId);
    const deps = upstream(systemId)
      .filter((d) => !isManual(d))
      .map((d) => stepId('create_account', d));
    if (allocate) deps.unshift(stepId('allocate_work_email'));
    if (byId.get(systemId)?.approval) deps.push(stepId('approve', systemId));
    const licence = byId.get(systemId)?.licence;
    steps.push({
      id: stepId('create_account', systemId),
      action: 'create_account',
      phase: 'pre_provision',
      systemId,
      dependsOn: deps,
      ...(licence ? { licence } : {}),
    });
    if (target && target.groups.length > 0) {
      steps.push({
        id: stepId('assign_groups', systemId),
        action: 'assign_groups',
        phase: 'pre_provision',
        systemId,
        dependsOn: [stepId('create_account', systemId)],
        groups: target.groups,
      });
    }
  }
  if (opts.writeBackEmail && allocate && todo.has(idp)) {
    steps.push({
      id: stepId('write_back_email'),
      action: 'write_back_email',
      phase: 'pre_provision',
      dependsOn: [stepId('create_account', idp)],
    });
  }
  const activations: string[] = [];
  const activationOf = (id: string): string => stepId(isManual(id) ? 'manual_task' : 'activate_account', id);
  for (const systemId of order) {
    const pre = steps.filter((s) => s.systemId === systemId && s.phase === 'pre_provision').map((s) => s.id);
    const id = activationOf(systemId);
    activations.push(id);
    steps.push({
      id,
      action: isManual(systemId) ? 'manual_task' : 'activate_account',
      phase: 'activation',
      systemId,
      dependsOn: [...upstream(systemId).map(activationOf), ...pre],
    });
  }
  if (opts.notifyManager && record.managerHrId) {
    steps.push({ id: stepId('notify_manager'), action: 'notify_manager', phase: 'activation', dependsOn: activations });
  }
  return { kind: 'hire', policyVersion, playbooks, steps };
}

/** One-line summaries, e.g. "create_account:wiki after create_account:idp". */
export function summarizePlan(plan: Plan): string[] {
  return plan.steps.map((s) => (s.dependsOn.length ? `${s.id} after ${s.dependsOn.join(', ')}` : s.id));
}
