import assert from 'node:assert/strict';
import type { PlanStep } from '../../src/domain/plan';
import type { OnboardingInput } from '../../src/workflows/onboarding/messages';
import { startStage } from '../../src/workflows/onboarding/messages';
import { makeRecord } from '../helpers/records';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const step = (id: string, phase: PlanStep['phase']): PlanStep => ({
  id,
  action: 'create_account',
  phase,
  dependsOn: [],
});

function run(o: { kind?: OnboardingInput['kind']; effectiveAt: string; preProvisionAt?: string; steps: PlanStep[] }) {
  return {
    hrId: 'E1',
    eventId: 'e1',
    record: makeRecord({ hrId: 'E1' }),
    plan: { kind: 'hire', policyVersion: 'v', playbooks: [], steps: o.steps },
    effectiveAt: o.effectiveAt,
    ...(o.kind ? { kind: o.kind } : {}),
    ...(o.preProvisionAt ? { preProvisionAt: o.preProvisionAt } : {}),
  } as OnboardingInput;
}

/** The stage the entity starts a run at (TenureStage at start): a late run at its instant's stage. */
describe('startStage: the stage a run starts at', () => {
  const both = [step('create_account:idp', 'pre_provision'), step('activate_account:idp', 'activation')];

  it('a late hire starts activating, a late exit revoking', () => {
    assert.equal(startStage(run({ effectiveAt: '2026-05-01T09:00:00Z', steps: both }), NOW), 'activating');
    for (const kind of ['termination', 'cancel_hire', 'leave_start', 'grace_revocation', 'retention'] as const) {
      const exit = run({
        kind,
        effectiveAt: '2026-06-01T12:00:00Z',
        steps: [step('disable_account:idp', 'activation')],
      });
      assert.equal(startStage(exit, NOW), 'revoking', kind);
    }
  });

  it('a run with an instant ahead waits, as before', () => {
    assert.equal(startStage(run({ effectiveAt: '2026-07-01T09:00:00Z', steps: both }), NOW), 'waiting_pre_provision');
    // Pre-provisioning still ahead although the hire instant has passed (a moved date): waiting.
    const pre = run({ effectiveAt: '2026-05-01T09:00:00Z', preProvisionAt: '2026-06-02T09:00:00Z', steps: both });
    assert.equal(startStage(pre, NOW), 'waiting_pre_provision');
    const exit = run({ kind: 'termination', effectiveAt: '2026-06-01T12:00:01Z', steps: [step('d', 'activation')] });
    assert.equal(startStage(exit, NOW), 'waiting');
  });

  it('a run with nothing at the instant, or an instant that is not one, waits', () => {
    const preOnly = run({ effectiveAt: '2026-05-01T09:00:00Z', steps: [step('create_account:idp', 'pre_provision')] });
    assert.equal(startStage(preOnly, NOW), 'waiting_pre_provision');
    assert.equal(startStage(run({ effectiveAt: '2026-05-01T09:00:00Z', steps: [] }), NOW), 'waiting');
    assert.equal(startStage(run({ effectiveAt: 'not a date', steps: both }), NOW), 'waiting_pre_provision');
  });
});
