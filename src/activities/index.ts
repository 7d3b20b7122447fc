import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { HrEvent } from '../domain/employee';
import { displayName } from '../domain/employee';
import type { Plan } from '../domain/plan';
import { planHire } from '../domain/plan';
import { localInstant } from '../domain/time';
import type { LoadedPolicy } from '../config/policy-file';
import { toActivityFailure } from './errors';
import type { IdentityConnector } from './identity';
import { stepIdempotencyKey } from '../domain/ids';
import type { EmployeeRecord } from '../domain/employee';

export interface ActivityDeps {
  policy: LoadedPolicy;
  /** One connector per system id in the policy. */
  connectors: ReadonlyMap<string, IdentityConnector>;
}

export interface PlanEventInput {
  event: HrEvent;
}

export type PlanEventResult = { ok: true; plan: Plan; effectiveAt: string } | { ok: false; reason: string };

export interface EnsureAccountInput {
  stepId: string;
  systemId: string;
  record: EmployeeRecord;
}

export interface EnsureAccountResult {
  accountId: string;
  outcome: 'created' | 'adopted' | 'updated';
  /** When the system confirmed the account. */
  at: string;
  idempotencyKey: string;
}

/** Builds the activities with their dependencies injected, so tests pass real local peers. */
export function createActivities(deps: ActivityDeps) {
  const { policy, version } = deps.policy;

  /** The plan and the instant an event takes effect, with the policy this worker runs. */
  function plan(event: HrEvent): PlanEventResult {
    const r = event.record;
    if (!r.workEmail) {
      return { ok: false, reason: 'record has no workEmail: Tenure names accounts by the work email' };
    }
    const planned = planHire(r, policy, version);
    if (planned.steps.length === 0) {
      return { ok: false, reason: 'the policy grants this person no access: no birthright rule matches' };
    }
    const effectiveAt = localInstant(r.hireDate, policy.timing.activationTime, r.location.timeZone).toISOString();
    return { ok: true, plan: planned, effectiveAt };
  }

  return {
    /** Computes the plan and the instant an event takes effect (a local activity of the entity workflow). */
    planEvent({ event }: PlanEventInput): Promise<PlanEventResult> {
      return Promise.resolve(plan(event));
    },

    /** Creates or adopts the person's account in one system. Safe to retry: looks up before it creates. */
    async ensureAccount(input: EnsureAccountInput): Promise<EnsureAccountResult> {
      const connector = deps.connectors.get(input.systemId);
      if (!connector) {
        throw ApplicationFailure.nonRetryable(
          `system "${input.systemId}" has no connector in this worker's policy`,
          'config',
        );
      }
      const idempotencyKey = stepIdempotencyKey(
        Context.current().info.workflowExecution?.workflowId ?? 'standalone',
        input.stepId,
      );
      const r = input.record;
      const userName = r.workEmail;
      if (!userName) throw ApplicationFailure.nonRetryable('record has no workEmail', 'invalid_request');
      const name = displayName(r);
      try {
        const { account, outcome } = await connector.ensureAccount({
          hrId: r.hrId,
          userName,
          givenName: name.givenName,
          familyName: name.familyName,
          email: r.workEmail,
          title: r.title,
          department: r.department,
          active: true,
        });
        return { accountId: account.id, outcome, at: new Date().toISOString(), idempotencyKey };
      } catch (err) {
        throw toActivityFailure(err);
      }
    },
  };
}

export type TenureActivities = ReturnType<typeof createActivities>;
