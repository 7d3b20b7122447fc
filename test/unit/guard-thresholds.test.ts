import assert from 'node:assert/strict';
import { parsePolicy } from '../../src/config/policy-file';
import type { HrEvent } from '../../src/domain/employee';
import type { Impact } from '../../src/domain/guard-thresholds';
import {
  ROLLING_WINDOW_MS,
  crossing,
  emptyImpact,
  evaluateGuard,
  takesAway,
  windowImpact,
} from '../../src/domain/guard-thresholds';
import { GUARD_DEFAULTS, guardPolicySchema, resolveGuardSettings } from '../../src/domain/policy-guard';
import { actionImpact, eventImpact } from '../../src/guard/impact';
import { makeRecord } from '../helpers/records';

const scim = (port: number) => ({ type: 'scim' as const, baseUrl: `http://127.0.0.1:${port}/scim/v2` });
const { policy } = parsePolicy({
  systems: [
    { id: 'idp', name: 'IdP', kind: 'identity-provider', connector: scim(1) },
    { id: 'chat', name: 'Chat', kind: 'app', connector: scim(2) },
  ],
  birthright: [{ name: 'all', systems: ['idp', 'chat'] }],
});

const disables = (n: number, systems: Record<string, number> = {}): Impact => {
  const i = emptyImpact();
  i.totals.disables = n;
  for (const [id, c] of Object.entries(systems))
    i.systems[id] = { disables: c, deletions: 0, revocations: 0, grants: 0 };
  return i;
};

describe('mass-change guard arithmetic', () => {
  it('a limit is crossed by MORE than its count, or more than its percentage past the floor', () => {
    assert.equal(crossing(25, { count: 25 }, 1000, 5), undefined);
    assert.equal(crossing(26, { count: 25 }, 1000, 5), '26 > 25');
    assert.equal(crossing(5, { percent: 5 }, 20, 5), undefined, 'at most the floor never crosses a percentage');
    assert.equal(crossing(6, { percent: 5 }, 20, 5), '6 of 20 (30 %) > 5 %');
    assert.equal(crossing(50, { percent: 5 }, 1000, 5), undefined);
    assert.equal(crossing(51, { percent: 5 }, 1000, 5), '51 of 1000 (5.1 %) > 5 %');
    assert.equal(crossing(0, { count: 0 }, 10, 0), undefined);
    assert.match(crossing(6, { percent: 5 }, 0, 5) ?? '', /unknown population/);
  });

  it('the defaults hold a run disabling more than 5 % or more than 25 people', () => {
    const s = resolveGuardSettings(undefined);
    assert.deepEqual(s, GUARD_DEFAULTS);
    assert.equal(evaluateGuard(s, disables(25), emptyImpact(), 10_000).hold, false);
    assert.equal(evaluateGuard(s, disables(26), emptyImpact(), 10_000).hold, true);
    const v = evaluateGuard(s, disables(6), emptyImpact(), 20);
    assert.equal(v.hold, true);
    assert.deepEqual(v.reasons, [
      'per run: people or accounts disabled 6 of 20 (30 %) > 5 %',
      'per rolling hour: people or accounts disabled 6 of 20 (30 %) > 10 %',
    ]);
  });

  it('the rolling hour adds what was admitted before; entries older than an hour drop out', () => {
    const s = resolveGuardSettings({
      perRun: { disables: 'off' },
      perSystem: { disables: 'off' },
      perHour: { disables: { count: 2 } },
    });
    const now = 10 * ROLLING_WINDOW_MS;
    const window = [
      { at: now - ROLLING_WINDOW_MS - 1, impact: disables(5) },
      { at: now - 1000, impact: disables(1) },
      { at: now - 500, impact: disables(1) },
    ];
    const hour = windowImpact(window, now);
    assert.equal(hour.totals.disables, 2);
    assert.equal(evaluateGuard(s, disables(1), windowImpact(window.slice(0, 2), now), 1000).hold, false);
    const v = evaluateGuard(s, disables(1), hour, 1000);
    assert.deepEqual(v.reasons, ['per rolling hour: people or accounts disabled 3 > 2']);
  });

  it('per system: one system losing many accounts is held even when the people total is small', () => {
    const s = resolveGuardSettings({ perSystem: { disables: { count: 3 } } });
    const v = evaluateGuard(s, disables(2, { chat: 4 }), emptyImpact(), 10_000);
    assert.deepEqual(v.reasons, ['per run on chat: people or accounts disabled 4 > 3']);
  });

  it('off removes a kind from a scope; enabled: false admits everything; the schema names bad limits', () => {
    const off = resolveGuardSettings({ enabled: false });
    assert.equal(evaluateGuard(off, disables(10_000), emptyImpact(), 10).hold, false);
    const noDeletes = resolveGuardSettings({ perRun: { deletions: 'off' } });
    assert.equal(noDeletes.run.deletions, undefined);
    assert.deepEqual(noDeletes.hour.deletions, GUARD_DEFAULTS.hour.deletions);
    const bad = guardPolicySchema.safeParse({ perRun: { disables: {} } });
    assert.equal(bad.success, false);
    assert.match(JSON.stringify(bad.error?.issues), /needs count or percent/);
  });

  it('counts what the plans would do: a termination disables every system, a hire grants, an orphan disable is one account', () => {
    const now = new Date().toISOString();
    const record = makeRecord({ status: 'terminated', exitDate: '2026-01-01', exitKind: 'voluntary' });
    const exit: HrEvent = { eventId: 'e1', source: 'test', kind: 'termination', record, receivedAt: now };
    const i = eventImpact(exit, policy, now);
    assert.equal(i.totals.disables, 1);
    assert.deepEqual(Object.keys(i.systems).sort(), ['chat', 'idp']);
    assert.ok(takesAway(i, resolveGuardSettings(undefined)));
    // A plain change carrying a terminated status is the same exit.
    assert.equal(eventImpact({ ...exit, kind: 'change' }, policy, now).totals.disables, 1);
    const hire: HrEvent = { eventId: 'h1', source: 'test', kind: 'hire', record: makeRecord(), receivedAt: now };
    const h = eventImpact(hire, policy, now);
    assert.equal(h.totals.grants, 1);
    assert.equal(takesAway(h, resolveGuardSettings(undefined)), false, 'grants are not guarded by default');
    assert.equal(takesAway(h, resolveGuardSettings({ perRun: { grants: { count: 100 } } })), true);
    const a = actionImpact({
      type: 'account_action',
      systemId: 'chat',
      accountId: 'u1',
      action: 'disable',
      reason: 'orphan',
    });
    assert.equal(a.totals.disables, 1);
    assert.equal(a.systems.chat?.disables, 1);
  });
});
