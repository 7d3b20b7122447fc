import type { EmployeeRecord } from './employee';
import type { Plan } from './plan';
import { planHire } from './plan';
import type { Policy } from './policy';
import { addDays, localInstant } from './time';

export type HirePlanResult =
  { ok: true; plan: Plan; effectiveAt: string; preProvisionAt: string } | { ok: false; reason: string };

/**
 * What a hire would run under a policy, and when: the plan, the pre-provisioning instant and the hire instant.
 * Used by the worker (the run), `tenure plan` and the intake's preview (the dry run) — so the preview is what runs.
 */
export function planHireEvent(record: EmployeeRecord, policy: Policy, policyVersion: string): HirePlanResult {
  if (!record.workEmail && !policy.naming) {
    return {
      ok: false,
      reason: 'record has no workEmail and the policy has no naming convention (naming.workEmailDomain) to make one',
    };
  }
  const plan = planHire(record, policy, policyVersion, {
    notifyManager: policy.slack !== undefined,
    writeBackEmail: policy.hris !== undefined,
  });
  if (plan.steps.length === 0) {
    return { ok: false, reason: 'the policy grants this person no access: no birthright rule matches' };
  }
  const { activationTime, preProvisionDays } = policy.timing;
  const tz = record.location.timeZone;
  const effectiveAt = localInstant(record.hireDate, activationTime, tz).toISOString();
  const preProvisionAt = localInstant(addDays(record.hireDate, -preProvisionDays), activationTime, tz).toISOString();
  return { ok: true, plan, effectiveAt, preProvisionAt };
}
