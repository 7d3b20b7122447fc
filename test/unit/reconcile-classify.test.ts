import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Account } from '../../src/activities/identity';
import type { EmployeeRecord } from '../../src/domain/employee';
import type { ClassifyInput, HrPerson, LastWrite } from '../../src/reconcile/classify';
import { classifyDrift, writeKey } from '../../src/reconcile/classify';
import { makeRecord } from '../helpers/records';

const active = (over: Partial<EmployeeRecord> = {}): EmployeeRecord =>
  makeRecord({ status: 'active', hireDate: '2024-01-02', ...over });

/** The account Tenure would have written for this record. */
function accountOf(r: EmployeeRecord, over: Partial<Account> = {}): Account {
  return {
    id: `acct-${r.hrId}`,
    hrId: r.hrId,
    userName: r.workEmail ?? '',
    email: r.workEmail ?? '',
    active: true,
    givenName: r.preferredFirstName ?? r.legalFirstName,
    familyName: r.preferredLastName ?? r.legalLastName,
    title: r.title,
    department: r.department,
    ...over,
  };
}

function run(people: HrPerson[], accounts: Account[], over: Partial<ClassifyInput> = {}) {
  return classifyDrift({ people, systems: [{ systemId: 'wiki', accounts }], expected: () => ['wiki'], ...over });
}

describe('reconcile: classification', () => {
  it('an account that matches HR is matching, and nothing is found', () => {
    const r = active();
    const c = run([{ record: r }], [accountOf(r)]);
    assert.deepEqual(c.findings, []);
    assert.deepEqual(c.counts.wiki, { matching: 1 });
  });

  it('an account nobody in HR claims is an orphan, unless it is on the ignore list', () => {
    const orphan: Account = { id: 'x1', userName: 'svc-backup@acme.example', active: true };
    const c = run([], [orphan]);
    assert.deepEqual(
      c.findings.map((f) => [f.situation, f.accountId]),
      [['orphan', 'x1']],
    );
    assert.deepEqual(run([], [orphan], { ignoreAccounts: ['SVC-*@acme.example'] }).findings, []);
    assert.deepEqual(run([], [{ ...orphan, active: false }]).findings, [], 'a disabled orphan gives no access');
  });

  it('an account naming an HR key nobody has is an orphan, even when its e-mail is someone else’s', () => {
    const r = active();
    const c = run([{ record: r }], [accountOf(r), accountOf(r, { id: 'y', hrId: 'GONE-1', userName: 'other' })]);
    assert.deepEqual(
      c.findings.map((f) => [f.situation, f.accountId]),
      [['orphan', 'y']],
    );
  });

  it('a terminated person with an active account is a leaver still active; inactive matches', () => {
    const r = active({ status: 'terminated' });
    assert.equal(run([{ record: r }], [accountOf(r)]).findings[0]?.situation, 'leaver_active');
    assert.deepEqual(run([{ record: r }], [accountOf(r, { active: false })]).findings, []);
  });

  it('a person the plan gives the system, with no account or an inactive one, is missing; not while converging', () => {
    const a = active();
    const b = active();
    const c = run([{ record: a }, { record: b }], [accountOf(b, { active: false })]);
    assert.deepEqual(
      c.findings.map((f) => [f.situation, f.hrId, f.missing]),
      [
        ['missing', a.hrId, 'absent'],
        ['missing', b.hrId, 'inactive'],
      ],
    );
    assert.deepEqual(run([{ record: a, converging: true }], []).findings, []);
    assert.deepEqual(run([{ record: a }], [], { expected: () => [] }).findings, []);
    assert.deepEqual(run([{ record: { ...a, status: 'pre_hire' } }], []).findings, []);
  });

  it('an active account in a system the policy no longer grants is not_granted; not in a grace period, off, or converging', () => {
    const r = active();
    const notGiven = { expected: () => [] };
    assert.deepEqual(
      run([{ record: r }], [accountOf(r)], notGiven).findings.map((f) => [f.situation, f.hrId, f.accountId]),
      [['not_granted', r.hrId, `acct-${r.hrId}`]],
    );
    assert.deepEqual(run([{ record: r }], [accountOf(r, { active: false })], notGiven).findings, [], 'already off');
    assert.deepEqual(
      run([{ record: r, graceSystems: ['wiki'] }], [accountOf(r)], notGiven).findings,
      [],
      "a mover's old access is revoked by their own grace timer",
    );
    assert.deepEqual(run([{ record: r, converging: true }], [accountOf(r)], notGiven).findings, [], 'converging');
    assert.deepEqual(run([{ record: r }], [accountOf(r)]).findings, [], 'granted: matching');
  });

  it('two people claiming one account (HR key and e-mail) is a collision, and neither is also missing', () => {
    const a = active();
    const b = active();
    const shared = accountOf(a, { userName: b.workEmail ?? '', email: b.workEmail ?? '' });
    const c = run([{ record: a }, { record: b }], [shared]);
    assert.equal(c.findings.length, 1);
    assert.equal(c.findings[0]?.situation, 'collision');
    assert.deepEqual(c.findings[0]?.hrIds, [a.hrId, b.hrId].sort());
  });

  it('one person matching two accounts (by HR key and by e-mail) is one collision', () => {
    const a = active();
    const second: Account = { id: 'dup', userName: 'a-second-login', email: a.workEmail ?? '', active: true };
    const c = run([{ record: a }], [accountOf(a), second]);
    assert.equal(c.findings.length, 1);
    assert.equal(c.findings[0]?.situation, 'collision');
    assert.deepEqual(c.findings[0]?.accountIds, [`acct-${a.hrId}`, 'dup'].sort());
  });

  it('an account found by e-mail only (no HR key) is linked by e-mail', () => {
    const a = active();
    const c = run([{ record: a }], [accountOf(a, { hrId: undefined, title: 'Other' })]);
    assert.equal(c.findings[0]?.via, 'email');
    assert.deepEqual(c.findings[0]?.fields, ['title']);
  });

  it('a differing title is a manual override when Tenure last wrote HR’s current record, else attribute drift', () => {
    const r = active({ sourceUpdatedAt: '2026-01-01T00:00:00Z' });
    const edited = accountOf(r, { title: 'Chief Everything' });
    const wroteCurrent = new Map<string, LastWrite>([
      [writeKey('wiki', r.hrId), { at: '2026-01-01T00:01:00Z', sourceUpdatedAt: '2026-01-01T00:00:00Z' }],
    ]);
    const wroteOlder = new Map<string, LastWrite>([
      [writeKey('wiki', r.hrId), { at: '2025-12-01T00:01:00Z', sourceUpdatedAt: '2025-12-01T00:00:00Z' }],
    ]);
    const p = { record: r, hrChangedAt: '2026-01-01T00:00:05Z' };
    assert.equal(run([p], [edited], { lastWrites: wroteCurrent }).findings[0]?.situation, 'manual_override');
    assert.equal(run([p], [edited], { lastWrites: wroteOlder }).findings[0]?.situation, 'attribute_drift');
    assert.equal(run([p], [edited]).findings[0]?.situation, 'attribute_drift');
    // Evidence without the record version: by time.
    const byTime = new Map<string, LastWrite>([[writeKey('wiki', r.hrId), { at: '2026-01-01T00:01:00Z' }]]);
    assert.equal(run([p], [edited], { lastWrites: byTime }).findings[0]?.situation, 'manual_override');
  });

  it('the manager is compared with the manager’s own account in the same system', () => {
    const boss = active();
    const r = active({ managerHrId: boss.hrId });
    const ok = run(
      [{ record: boss }, { record: r }],
      [accountOf(boss), accountOf(r, { managerId: `acct-${boss.hrId}` })],
    );
    assert.deepEqual(ok.findings, []);
    const wrong = run([{ record: boss }, { record: r }], [accountOf(boss), accountOf(r, { managerId: 'someone' })]);
    assert.deepEqual(wrong.findings[0]?.fields, ['manager']);
  });

  it('property: every account is counted exactly once, and HR’s own accounts are all matching', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 10 }), (nPeople, nOrphans) => {
        const people = Array.from({ length: nPeople }, () => ({ record: active() }));
        const accounts = [
          ...people.map((p) => accountOf(p.record)),
          ...Array.from({ length: nOrphans }, (_, i) => ({ id: `o${i}`, userName: `nobody${i}`, active: true })),
        ];
        const c = run(people, accounts);
        const counted = Object.values(c.counts.wiki ?? {}).reduce((a, b) => a + (b ?? 0), 0);
        assert.equal(counted, accounts.length);
        assert.equal(c.counts.wiki?.matching ?? 0, nPeople);
        assert.equal(c.findings.filter((f) => f.situation === 'orphan').length, nOrphans);
      }),
      { numRuns: 50 },
    );
  });

  it('is linear: 20,000 people against 20,000 accounts classify in one pass', () => {
    const people = Array.from({ length: 20_000 }, (_, i) => ({
      record: { ...active(), hrId: `P${i}`, workEmail: `p${i}@acme.example` },
    }));
    const accounts = people.map((p) => accountOf(p.record));
    const c = run(people, accounts);
    assert.equal(c.counts.wiki?.matching, 20_000);
  });
});
