import assert from 'node:assert/strict';
import fc from 'fast-check';
import { diffPerson, syncEventId } from '../../src/sync/diff';
import { emptyImpact, evaluateGuard } from '../../src/domain/guard-thresholds';
import { resolveGuardSettings } from '../../src/domain/policy-guard';
import { makeRecord } from '../helpers/records';

/** The roster diff (src/sync/diff.ts): one roster record against what the person's entity last accepted. */
describe('roster sync: the diff that turns a roster row into the event a webhook would have sent', () => {
  const active = () => makeRecord({ status: 'active', hireDate: '2025-01-06' });

  it('a person Tenure does not know is a hire; a leaver it never knew asks nothing', () => {
    assert.equal(diffPerson(active(), { hasAcceptedHire: false }).kind, 'hire');
    const gone = { ...active(), status: 'terminated' as const, exitDate: '2025-02-01' };
    assert.deepEqual(diffPerson(gone, { hasAcceptedHire: false }), {
      kind: null,
      reason: 'never_known_and_terminated',
    });
  });

  it('the same content asks nothing, whatever sourceUpdatedAt says', () => {
    const r = active();
    const touched = { ...r, sourceUpdatedAt: new Date(Date.now() + 60_000).toISOString() };
    assert.deepEqual(diffPerson(touched, { record: r, hasAcceptedHire: true }), { kind: null, reason: 'unchanged' });
    assert.equal(syncEventId(r), syncEventId(touched));
  });

  it('an edited title is a change naming the field; an exit date a termination; a leave and the return', () => {
    const r = active();
    assert.deepEqual(diffPerson({ ...r, title: 'Staff Engineer' }, { record: r, hasAcceptedHire: true }), {
      kind: 'change',
      fields: ['title'],
    });
    const leaving = { ...r, status: 'terminated' as const, exitDate: '2026-01-30' };
    assert.equal(diffPerson(leaving, { record: r, hasAcceptedHire: true }).kind, 'termination');
    const away = { ...r, status: 'on_leave' as const };
    assert.equal(diffPerson(away, { record: r, hasAcceptedHire: true }).kind, 'leave_start');
    assert.equal(diffPerson(r, { record: away, hasAcceptedHire: true }).kind, 'leave_end');
  });

  it('event ids are stable per content and differ for any other content (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), fc.string({ minLength: 1, maxLength: 40 }), (a, b) => {
        const r = active();
        const x = { ...r, title: a };
        const y = { ...r, title: b };
        assert.equal(syncEventId(x) === syncEventId(y), a === b);
        assert.ok(syncEventId(x).startsWith(`sync:${r.hrId}:`));
      }),
    );
  });
});

describe('mass-change guard: a batch held for review', () => {
  it('holds whatever the counts, even with the guard off, and says why', () => {
    const settings = { ...resolveGuardSettings({ enabled: false }), review: '2 people are no longer in the roster' };
    assert.deepEqual(evaluateGuard(settings, emptyImpact(), emptyImpact(), 1000), {
      hold: true,
      reasons: ['held for review: 2 people are no longer in the roster'],
    });
    assert.equal(evaluateGuard(resolveGuardSettings({}), emptyImpact(), emptyImpact(), 1000).hold, false);
  });
});
