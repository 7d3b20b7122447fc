/**
 * Drift classification (issue 14, item 3): HR's truth against every system's accounts, as pure code. Each account is
 * correlated with an HR person by HR key first (SCIM `externalId`), then by e-mail (the account's e-mail or login name
 * against the person's work e-mail), and classified; each person is checked for the systems the birthright plan says
 * they should have. O(people + accounts): maps, never a scan per account.
 *
 * The rule that tells manual override from attribute drift (docs/reconcile.md): an attribute that differs from HR is
 * a **manual override** when Tenure's last write of that account (the latest `create_account`/`update_account`
 * evidence for that person and system) came at or after the moment Tenure accepted HR's current record, i.e. Tenure
 * wrote HR's current values and the system changed afterwards while HR did not. Otherwise (HR changed after
 * Tenure's last write, or Tenure never wrote the account) it is **attribute drift**: HR moved and the system did not
 * follow.
 */
import type { Account } from '../activities/identity';
import type { EmployeeRecord } from '../domain/employee';
import { displayName } from '../domain/employee';
import type { DriftSituation } from '../domain/policy-reconcile';

/** One HR person as reconciliation sees them. */
export interface HrPerson {
  record: EmployeeRecord;
  /** When Tenure accepted HR's current record (the accepting event's `receivedAt`). */
  hrChangedAt?: string;
  /** The event that brought HR's current record. */
  eventId?: string;
  /**
   * A run of the person is under way or queued: their systems are converging, so neither missing accounts nor
   * attribute differences count as drift yet.
   */
  converging?: boolean;
  /**
   * Systems whose access the person keeps for now on purpose (a mover's grace period before the old role's access is
   * revoked): an account there is not `not_granted`.
   */
  graceSystems?: readonly string[];
}

export interface SystemAccounts {
  systemId: string;
  accounts: readonly Account[];
}

export type DriftField = 'title' | 'department' | 'manager' | 'name';

/** Something reconciliation found that is not `matching`. No names, no e-mails: ids and field names only. */
export interface Finding {
  situation: Exclude<DriftSituation, 'matching'>;
  systemId: string;
  /** The person concerned (absent for an orphan; for a collision over one account, the first claimant). */
  hrId?: string;
  /** The account concerned (absent for a missing account; for a collision of one person, the first account). */
  accountId?: string;
  /** Whether the account is active, where there is one. */
  active?: boolean;
  /** attribute_drift / manual_override: which fields differ from HR. */
  fields?: DriftField[];
  /** missing: `absent`, or `inactive` (an account that exists but is off while HR says they work here). */
  missing?: 'absent' | 'inactive';
  /** collision: every person and every account involved. */
  hrIds?: string[];
  accountIds?: string[];
  /** How the account was tied to the person. */
  via?: 'hr_key' | 'email';
}

export interface ClassifyInput {
  people: readonly HrPerson[];
  systems: readonly SystemAccounts[];
  /** The API systems the birthright plan gives this record (src/domain/plan.ts `targetSystems`). */
  expected: (record: EmployeeRecord) => readonly string[];
  /** Tenure's last write of an account, by {@link writeKey}(systemId, hrId). */
  lastWrites?: ReadonlyMap<string, LastWrite>;
  /** Login names that are nobody's by design (`*` wildcard, case-insensitive): never orphans. */
  ignoreAccounts?: readonly string[];
}

export interface Classification {
  findings: Finding[];
  /** Per system, per situation (including `matching`): how many accounts or (person, system) pairs. */
  counts: Record<string, Partial<Record<DriftSituation, number>>>;
}

/** Tenure's last write of one account: when, and the HR record version (`sourceUpdatedAt`) it wrote. */
export interface LastWrite {
  at: string;
  sourceUpdatedAt?: string;
}

export function writeKey(systemId: string, hrId: string): string {
  return `${systemId}\u0000${hrId}`;
}

function lower(s: string | undefined): string | undefined {
  return s === undefined ? undefined : s.trim().toLowerCase();
}

function ignoreMatcher(patterns: readonly string[]): (userName: string) => boolean {
  if (patterns.length === 0) return () => false;
  const escaped = patterns.map((p) =>
    p
      .toLowerCase()
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*'),
  );
  const re = new RegExp(`^(?:${escaped.join('|')})$`);
  return (userName) => re.test(userName.toLowerCase());
}

/** The fields of an account that differ from HR's record (only those the system reports). */
export function differingFields(
  record: EmployeeRecord,
  account: Account,
  expectedManagerId: string | undefined,
): DriftField[] {
  const out: DriftField[] = [];
  if (account.title !== undefined && account.title !== record.title) out.push('title');
  if (account.department !== undefined && account.department !== record.department) out.push('department');
  if (expectedManagerId !== undefined && account.managerId !== expectedManagerId) out.push('manager');
  const name = displayName(record);
  if (
    (account.givenName !== undefined && account.givenName !== name.givenName) ||
    (account.familyName !== undefined && account.familyName !== name.familyName)
  ) {
    out.push('name');
  }
  return out;
}

/** Classifies every account of every system against HR's people. Pure; O(people + accounts). */
export function classifyDrift(input: ClassifyInput): Classification {
  const byHrId = new Map<string, HrPerson>();
  const byEmail = new Map<string, HrPerson | 'ambiguous'>();
  for (const p of input.people) {
    byHrId.set(p.record.hrId, p);
    const email = lower(p.record.workEmail);
    if (email === undefined) continue;
    const seen = byEmail.get(email);
    byEmail.set(email, seen === undefined ? p : 'ambiguous');
  }
  const ignored = ignoreMatcher(input.ignoreAccounts ?? []);
  const findings: Finding[] = [];
  const counts: Classification['counts'] = {};
  const expectedCache = new Map<string, ReadonlySet<string>>();
  const expectedOf = (p: HrPerson): ReadonlySet<string> => {
    let set = expectedCache.get(p.record.hrId);
    if (!set) {
      set = new Set(input.expected(p.record));
      expectedCache.set(p.record.hrId, set);
    }
    return set;
  };

  for (const sys of input.systems) {
    const count: Partial<Record<DriftSituation, number>> = {};
    counts[sys.systemId] = count;
    const add = (f: Finding): void => {
      findings.push(f);
      count[f.situation] = (count[f.situation] ?? 0) + 1;
    };
    const matching = (): void => {
      count.matching = (count.matching ?? 0) + 1;
    };

    // 1. Correlate: each account to at most one person (HR key first, then e-mail).
    const linked = new Map<string, { account: Account; via: 'hr_key' | 'email' }[]>();
    /** People who claim an account another person claims too: reported there, never also as missing. */
    const contested = new Set<string>();
    for (const account of sys.accounts) {
      const keyPerson = account.hrId !== undefined ? byHrId.get(account.hrId) : undefined;
      // At most three claimants (HR key, e-mail, login name): a small array, no allocation per account beyond it.
      const email = lower(account.email);
      const login = lower(account.userName);
      const byMail = email !== undefined ? byEmail.get(email) : undefined;
      const byLogin = login !== undefined && login !== email ? byEmail.get(login) : undefined;
      const ambiguous = byMail === 'ambiguous' || byLogin === 'ambiguous';
      const claimants: HrPerson[] = [];
      for (const c of [keyPerson, byMail, byLogin]) {
        if (c !== undefined && c !== 'ambiguous' && !claimants.includes(c)) claimants.push(c);
      }
      if (ambiguous || claimants.length > 1) {
        const hrIds = claimants.map((c) => c.record.hrId).sort();
        for (const id of hrIds) contested.add(id);
        add({
          situation: 'collision',
          systemId: sys.systemId,
          accountId: account.id,
          accountIds: [account.id],
          hrIds,
          ...(hrIds[0] !== undefined ? { hrId: hrIds[0] } : {}),
          active: account.active,
        });
        continue;
      }
      // An account that names an HR key nobody has is not adopted by e-mail: it is someone else's, or nobody's.
      const person = keyPerson ?? (account.hrId === undefined ? claimants[0] : undefined);
      if (!person) {
        // An inactive account nobody claims gives no access (a disabled orphan stays disabled, never deleted).
        if (ignored(account.userName) || !account.active) matching();
        else add({ situation: 'orphan', systemId: sys.systemId, accountId: account.id, active: account.active });
        continue;
      }
      const list = linked.get(person.record.hrId) ?? [];
      list.push({ account, via: keyPerson ? 'hr_key' : 'email' });
      linked.set(person.record.hrId, list);
    }

    // The system's account id of each person with exactly one account (for the manager reference).
    const accountIdOf = new Map<string, string>();
    for (const [hrId, list] of linked) if (list.length === 1 && list[0]) accountIdOf.set(hrId, list[0].account.id);

    // 2. Each person: collisions, leavers, attributes, missing accounts.
    for (const p of input.people) {
      const hrId = p.record.hrId;
      const list = linked.get(hrId) ?? [];
      if (list.length > 1) {
        const accountIds = list.map((l) => l.account.id).sort();
        add({
          situation: 'collision',
          systemId: sys.systemId,
          hrId,
          hrIds: [hrId],
          ...(accountIds[0] !== undefined ? { accountId: accountIds[0] } : {}),
          accountIds,
        });
        continue;
      }
      const one = list[0];
      const status = p.record.status;
      const expected = expectedOf(p).has(sys.systemId);
      if (!one) {
        if (expected && status === 'active' && !p.converging && !contested.has(hrId)) {
          add({ situation: 'missing', systemId: sys.systemId, hrId, missing: 'absent' });
        }
        continue;
      }
      const { account, via } = one;
      const base = { systemId: sys.systemId, hrId, accountId: account.id, active: account.active, via };
      if (status === 'terminated') {
        if (account.active) add({ situation: 'leaver_active', ...base });
        else matching();
        continue;
      }
      if (!expected && !p.converging && account.active && !(p.graceSystems ?? []).includes(sys.systemId)) {
        // A policy change took this system from them (a mover's old role is revoked by their own grace timer).
        add({ situation: 'not_granted', ...base });
        continue;
      }
      if (!expected || p.converging) {
        matching();
        continue;
      }
      if (status === 'active' && !account.active) {
        add({ situation: 'missing', ...base, missing: 'inactive' });
        continue;
      }
      const managerHrId = p.record.managerHrId;
      const fields = differingFields(
        p.record,
        account,
        managerHrId !== undefined ? accountIdOf.get(managerHrId) : undefined,
      );
      if (fields.length === 0) {
        matching();
        continue;
      }
      const override = wroteCurrent(input.lastWrites?.get(writeKey(sys.systemId, hrId)), p);
      add({ situation: override ? 'manual_override' : 'attribute_drift', ...base, fields });
    }
  }
  return { findings, counts };
}

/**
 * Did Tenure's last write of the account carry HR's current record? By the record version it wrote when the evidence
 * names it, else by time (written at or after Tenure accepted the current record).
 */
function wroteCurrent(w: LastWrite | undefined, p: HrPerson): boolean {
  if (!w) return false;
  if (w.sourceUpdatedAt !== undefined) return Date.parse(w.sourceUpdatedAt) >= Date.parse(p.record.sourceUpdatedAt);
  return p.hrChangedAt !== undefined && Date.parse(p.hrChangedAt) <= Date.parse(w.at);
}

/** A finding's identity across runs (to carry when it was first seen): situation, system, account or person. */
export function findingKey(f: Pick<Finding, 'situation' | 'systemId' | 'accountId' | 'hrId'>): string {
  return `${f.situation}:${f.systemId}:${f.accountId ?? ''}:${f.hrId ?? ''}`;
}
