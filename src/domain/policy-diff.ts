/**
 * `tenure policy diff`: what a new policy would change for every person (issue 14, item 5) — the accounts and groups
 * each would gain and lose — computed with the same `targetAccess` the plans use, so the preview is what the
 * workers would do. Pure: the CLI supplies the people (the records their entities last accepted) and both policies.
 */
import type { EmployeeRecord } from './employee';
import type { Impact } from './guard-thresholds';
import { emptyImpact, zeroCounts } from './guard-thresholds';
import type { Policy } from './policy';
import type { Target } from './plan';
import { targetAccess } from './plan';

export interface AccessChange {
  systemId: string;
  /** The whole account (true), or only the groups listed. */
  account: boolean;
  groups: string[];
}

export interface PersonDiff {
  hrId: string;
  gains: AccessChange[];
  losses: AccessChange[];
}

export interface PolicyDiff {
  people: number;
  /** Only the people whose access changes. */
  changed: PersonDiff[];
  totals: { gainAccounts: number; loseAccounts: number; gainGroups: number; loseGroups: number };
  /** What adopting it takes away, as the mass-change guard counts it (people losing anything are revocations). */
  impact: Impact;
}

/** People whose access the policy governs: not those who left (their access is gone whatever the policy says). */
function governed(r: EmployeeRecord): boolean {
  return r.status !== 'terminated';
}

function byId(targets: Target[]): Map<string, Set<string>> {
  return new Map(targets.map((t) => [t.systemId, new Set(t.groups)]));
}

function changesFrom(from: Map<string, Set<string>>, to: Map<string, Set<string>>): AccessChange[] {
  const out: AccessChange[] = [];
  for (const [systemId, groups] of to) {
    const had = from.get(systemId);
    if (!had) out.push({ systemId, account: true, groups: [...groups].sort() });
    else {
      const added = [...groups].filter((g) => !had.has(g)).sort();
      if (added.length > 0) out.push({ systemId, account: false, groups: added });
    }
  }
  return out.sort((a, b) => a.systemId.localeCompare(b.systemId));
}

/** One person's gains and losses going from `current` to `next`. */
export function diffPerson(record: EmployeeRecord, current: Policy, next: Policy): PersonDiff {
  const before = byId(targetAccess(record, current).targets);
  const after = byId(targetAccess(record, next).targets);
  return { hrId: record.hrId, gains: changesFrom(before, after), losses: changesFrom(after, before) };
}

export function diffPolicies(records: readonly EmployeeRecord[], current: Policy, next: Policy): PolicyDiff {
  const totals = { gainAccounts: 0, loseAccounts: 0, gainGroups: 0, loseGroups: 0 };
  const impact = emptyImpact();
  const changed: PersonDiff[] = [];
  const people = records.filter(governed);
  for (const r of people) {
    const d = diffPerson(r, current, next);
    if (d.gains.length === 0 && d.losses.length === 0) continue;
    changed.push(d);
    for (const g of d.gains) {
      if (g.account) totals.gainAccounts += 1;
      totals.gainGroups += g.groups.length;
    }
    for (const l of d.losses) {
      if (l.account) totals.loseAccounts += 1;
      totals.loseGroups += l.groups.length;
      const sys = (impact.systems[l.systemId] ??= zeroCounts());
      sys.revocations += 1;
    }
    if (d.losses.length > 0) impact.totals.revocations += 1;
    if (d.gains.length > 0) {
      impact.totals.grants += 1;
      for (const g of d.gains) (impact.systems[g.systemId] ??= zeroCounts()).grants += 1;
    }
  }
  changed.sort((a, b) => a.hrId.localeCompare(b.hrId));
  return { people: people.length, changed, totals, impact };
}
