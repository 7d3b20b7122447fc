import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { TenureActivities } from '../../activities';
import { STAGE } from '../search-attributes';
import type { OnboardingInput, OnboardingStage, OnboardingStatus, RescheduleInput, StepStatus } from './messages';
import { onboardingStatusQuery, rescheduleUpdate } from './messages';
import type { PlanStep } from '../../domain/plan';

/** One attempt may take a minute; a system that stays down for a day makes the step fail visibly. */
const { ensureAccount } = proxyActivities<TenureActivities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '1 day',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * A hire: wait until the hire instant, then ensure an account in every planned system,
 * identity provider first, each step after its dependencies, independent steps in parallel.
 */
export async function onboardingWorkflow(input: OnboardingInput): Promise<OnboardingStatus> {
  const run = new Onboarding(input);
  setHandler(onboardingStatusQuery, () => run.status);
  setHandler(rescheduleUpdate, (r: RescheduleInput) => run.reschedule(r.effectiveAt), {
    validator: (r: RescheduleInput) => run.validateReschedule(r.effectiveAt),
  });
  await run.waitForInstant();
  await run.provision();
  return run.status;
}

class Onboarding {
  readonly status: OnboardingStatus;
  private rearmed = false;

  constructor(private readonly input: OnboardingInput) {
    this.status = {
      hrId: input.hrId,
      eventId: input.eventId,
      stage: 'waiting',
      effectiveAt: input.effectiveAt,
      late: false,
      policyVersion: input.plan.policyVersion,
      startedAt: new Date().toISOString(),
      steps: input.plan.steps.map((s) => ({
        id: s.id,
        systemId: s.systemId,
        action: s.action,
        dependsOn: s.dependsOn,
        state: 'pending',
      })),
    };
  }

  validateReschedule(effectiveAt: string): void {
    if (this.status.stage !== 'waiting') {
      throw ApplicationFailure.nonRetryable(
        `onboarding is ${this.status.stage}; only a waiting run can be rescheduled`,
      );
    }
    if (Number.isNaN(Date.parse(effectiveAt)))
      throw ApplicationFailure.nonRetryable('effectiveAt is not an ISO instant');
  }

  reschedule(effectiveAt: string): OnboardingStatus {
    this.status.effectiveAt = effectiveAt;
    this.rearmed = true;
    return this.status;
  }

  /** An updatable timer: a moved instant re-arms it; an instant already past runs at once, flagged late. */
  async waitForInstant(): Promise<void> {
    if (Date.parse(this.status.effectiveAt) <= Date.now()) {
      this.status.late = true;
      log.info('hire instant already passed; provisioning now', { eventId: this.input.eventId });
      return;
    }
    for (;;) {
      const remaining = Date.parse(this.status.effectiveAt) - Date.now();
      if (remaining <= 0) return;
      this.rearmed = false;
      await condition(() => this.rearmed, remaining);
    }
  }

  async provision(): Promise<void> {
    this.setStage('provisioning');
    this.status.provisioningStartedAt = new Date().toISOString();
    const done = new Map<string, Promise<boolean>>();
    for (const step of this.input.plan.steps) {
      const deps = step.dependsOn.map((d) => done.get(d) ?? Promise.resolve(false));
      done.set(
        step.id,
        Promise.all(deps).then((ok) => (ok.every(Boolean) ? this.runStep(step) : this.block(step))),
      );
    }
    const results = await Promise.all(done.values());
    this.status.finishedAt = new Date().toISOString();
    this.setStage(results.every(Boolean) ? 'completed' : 'completed_with_errors');
  }

  private step(id: string): StepStatus {
    const s = this.status.steps.find((x) => x.id === id);
    if (!s) throw ApplicationFailure.nonRetryable(`unknown step ${id}`);
    return s;
  }

  private async runStep(step: PlanStep): Promise<boolean> {
    const s = this.step(step.id);
    s.state = 'running';
    s.startedAt = new Date().toISOString();
    try {
      const r = await ensureAccount({
        stepId: step.id,
        systemId: step.systemId,
        record: this.input.record,
      });
      s.state = 'succeeded';
      s.outcome = r.outcome;
      s.accountId = r.accountId;
      return true;
    } catch (err) {
      s.state = 'failed';
      s.error = err instanceof ActivityFailure && err.cause ? err.cause.message : String(err);
      log.warn('step failed', { stepId: step.id, error: s.error });
      return false;
    } finally {
      s.finishedAt = new Date().toISOString();
    }
  }

  private block(step: PlanStep): boolean {
    const s = this.step(step.id);
    s.state = 'blocked';
    s.error = `not started: a step it depends on (${step.dependsOn.join(', ')}) did not succeed`;
    return false;
  }

  private setStage(stage: OnboardingStage): void {
    this.status.stage = stage;
    upsertSearchAttributes([{ key: STAGE, value: stage }]);
  }
}
