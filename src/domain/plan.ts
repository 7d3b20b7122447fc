import type { EmployeeRecord, HrEventKind } from './employee';
import type { BirthrightRule, Policy } from './policy';
import { identityProvider } from './policy';

export type StepAction = 'ensure_account';

/** One action on one system (DESIGN §3). */
export interface PlanStep {
  /** Stable within a plan: `<action>:<systemId>`. */
  id: string;
  action: StepAction;
  systemId: string;
  /** Step ids that must succeed before this one starts. */
  dependsOn: string[];
}

/** The ordered steps that move a person to the access the policy says they should have. */
export interface Plan {
  kind: HrEventKind;
  policyVersion: string;
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

/** Systems the policy says this person should have an account in; the identity provider whenever any. */
export function targetSystems(record: EmployeeRecord, policy: Policy): string[] {
  const wanted = new Set<string>();
  for (const rule of policy.birthright) if (ruleMatches(rule, record)) rule.systems.forEach((s) => wanted.add(s));
  if (wanted.size > 0) wanted.add(identityProvider(policy).id);
  return policy.systems.map((s) => s.id).filter((id) => wanted.has(id));
}

/**
 * The onboarding plan: an `ensure_account` per target system the person is not already active in.
 * The identity provider comes first; every app depends on it and on its own `dependsOn` systems.
 */
export function planHire(
  record: EmployeeRecord,
  policy: Policy,
  policyVersion: string,
  current: Entitlement[] = [],
): Plan {
  const idp = identityProvider(policy).id;
  const targets = targetSystems(record, policy);
  const have = new Set(current.filter((e) => e.active).map((e) => e.systemId));
  const todo = new Set(targets.filter((s) => !have.has(s)));
  const byId = new Map(policy.systems.map((s) => [s.id, s]));
  const stepId = (systemId: string): string => `ensure_account:${systemId}`;

  const steps: PlanStep[] = [];
  const placed = new Set<string>();
  const place = (systemId: string): void => {
    if (placed.has(systemId) || !todo.has(systemId)) return;
    placed.add(systemId);
    const sys = byId.get(systemId);
    const deps = new Set(sys?.dependsOn ?? []);
    if (systemId !== idp) deps.add(idp);
    const depSteps: string[] = [];
    for (const d of [...deps].sort()) {
      place(d);
      if (todo.has(d)) depSteps.push(stepId(d));
    }
    steps.push({ id: stepId(systemId), action: 'ensure_account', systemId, dependsOn: depSteps });
  };
  place(idp);
  for (const s of targets) place(s);
  return { kind: 'hire', policyVersion, steps };
}

/** One-line summaries, e.g. "ensure_account:idp", "ensure_account:wiki after ensure_account:idp". */
export function summarizePlan(plan: Plan): string[] {
  return plan.steps.map((s) => (s.dependsOn.length ? `${s.id} after ${s.dependsOn.join(', ')}` : s.id));
}
