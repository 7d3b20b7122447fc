import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ActivityOptions } from '@temporalio/workflow';
import type { CreateActiveInput, StepInput, StepResult, TenureActivities } from '../../activities';
import type { PlanStep, StepAction } from '../../domain/plan';
import { approvalWorkflowId, manualTaskWorkflowId } from '../../domain/people-ids';
import { systemTaskQueue } from '../../domain/rate-limit';
import { approvalWorkflow } from '../approval/approval';
import { STAGE, WAITING_ON } from '../search-attributes';
import { codeLevelMemo, enterAtCodeLevel, hasPatch, startedWith } from '../code-level';
import { manualTaskWorkflow } from '../task/task';
import { rescheduleAnsweredSignal } from '../employee/messages';
import type {
  OnboardingInput,
  OnboardingStage,
  OnboardingStatus,
  RescheduleInput,
  RetryStepInput,
  StepStatus,
} from './messages';
import {
  adoptCurrentPolicyUpdate,
  onboardingStatusQuery,
  rescheduleSignal,
  rescheduleUpdate,
  retryStepUpdate,
  runRevokes,
  waitingStage,
} from './messages';

/** One attempt may take a minute; a system that stays down for a day turns the step into an exception. */
const STEP_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '1 day',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};
const acts = proxyActivities<TenureActivities>(STEP_OPTIONS);

/**
 * A rate-limited system's steps run on its own activity task queue (src/domain/rate-limit.ts), where its worker
 * paces them; the plan marks them (`PlanStep.rateLimited`). Runs recorded before kept the main queue.
 */
export const SYSTEM_QUEUES_PATCH = 'tenure-system-queues';

const systemActs = new Map<string, TenureActivities>();
/** The step activities of one rate-limited system, scheduled on its queue. */
function actsOnSystemQueue(systemId: string): TenureActivities {
  let a = systemActs.get(systemId);
  if (!a) {
    // The system's queue keeps a long schedule-to-start: a burst waits there at the vendor's pace.
    a = proxyActivities<TenureActivities>({
      ...STEP_OPTIONS,
      taskQueue: systemTaskQueue(workflowInfo().taskQueue, systemId),
    });
    systemActs.set(systemId, a);
  }
  return a;
}

/**
 * The steps of a run the entity carries out (`InlineRun`) are local activities: the same activity functions, run by the
 * worker that runs the entity's workflow task, so a late hire is one workflow task with no activity tasks to
 * dispatch. A step that still fails after a minute's retries hands the run over to a run of its own, whose steps are
 * regular activities retried for up to a day.
 */
const inlineActs = proxyLocalActivities<TenureActivities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds' },
});

const { planEvent } = proxyLocalActivities<TenureActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3 },
});

/**
 * A step in exception is a fix-and-retry task for its system's owners (Slack notice, reminders, escalation; their
 * Done retries the step), and is abandoned after the policy's `people.exceptions.giveUpAfter`, so a run in
 * exception never holds the person's later events forever.
 */
export const EXCEPTION_OWNER_PATCH = 'tenure-exception-owner';

/** `adopt-policy` takes the new policy's instants too, not only its steps. */
export const ADOPT_TIMING_PATCH = 'tenure-adopt-timing';

/** A cancelled step (the run was superseded) is not recorded as an exception (no `TenureWaitingOn=operator:`). */
export const CANCELLED_NOT_EXCEPTION_PATCH = 'tenure-cancelled-not-exception';

/**
 * A create step whose system's activation is due at once carries it out in the same activity (`createActiveAccount`):
 * a late hire takes one activity per system instead of two. Runs recorded before it activate in a step of its own.
 */
export const FOLD_ACTIVATION_PATCH = 'tenure-fold-activation';

/**
 * Stages published once (runs started with it: `startedWith`, no marker). A run the entity started at its instant's
 * stage (`startStage`: a late run, `activating` or `revoking` in its start search attributes) takes that stage from
 * the start instead of publishing waiting stages first, and a stage is published only when it changes.
 */
export const STAGE_AT_START_PATCH = 'tenure-stage-at-start';

/** Steps that wait on people run as child workflows (see `runPeopleStep`); the rest are activities. */
const PEOPLE_ACTIONS = ['approve', 'manual_task', 'approve_handover', 'transfer_data'] as const;
type PeopleAction = (typeof PEOPLE_ACTIONS)[number];
type StepActivityName = {
  [K in keyof TenureActivities]: TenureActivities[K] extends (input: StepInput) => Promise<StepResult> ? K : never;
}[keyof TenureActivities];
const STEP_ACTIVITY_NAMES: Record<Exclude<StepAction, PeopleAction>, StepActivityName> = {
  allocate_work_email: 'allocateWorkEmail',
  create_account: 'createAccount',
  assign_groups: 'assignGroups',
  write_back_email: 'writeBackEmail',
  activate_account: 'activateAccount',
  notify_manager: 'notifyManager',
  disable_account: 'disableAccount',
  delete_account: 'deleteAccount',
  verify_exit: 'verifyExit',
  update_account: 'updateAccount',
  remove_groups: 'removeGroups',
  revoke_sessions: 'revokeSessions',
  reclaim_licence: 'reclaimLicence',
  transfer_data_api: 'transferDataApi',
};

/** The activity of a step: on the system's own queue when the plan marked the system rate-limited. */
function stepActivity(
  step: PlanStep,
  action: Exclude<StepAction, PeopleAction>,
): (i: StepInput) => Promise<StepResult> {
  const name = STEP_ACTIVITY_NAMES[action];
  const systemId = step.systemId;
  if (step.rateLimited && systemId && hasPatch(SYSTEM_QUEUES_PATCH)) {
    return (i) => actsOnSystemQueue(systemId)[name](i);
  }
  return (i) => acts[name](i);
}

/** `createActiveAccount`, on the system's own queue when the plan marked the system rate-limited. */
function createActiveActivity(step: PlanStep): (i: CreateActiveInput) => Promise<StepResult> {
  const systemId = step.systemId;
  if (step.rateLimited && systemId && hasPatch(SYSTEM_QUEUES_PATCH)) {
    return (i) => actsOnSystemQueue(systemId).createActiveAccount(i);
  }
  return (i) => acts.createActiveAccount(i);
}

/**
 * A hire: create the accounts disabled at the pre-provisioning instant (identity provider first, each app after
 * its dependencies, independent steps in parallel), then enable them at the hire instant and tell the manager.
 * A permanent failure becomes an exception that waits for an operator's retry and blocks only its dependents.
 */
export async function onboardingWorkflow(input: OnboardingInput): Promise<OnboardingStatus> {
  return runLifecycle(input);
}

/**
 * A leaver, or an undone hire: at the exit instant (at once when involuntary), disable the identity provider
 * first, then every system in parallel, read each back, and verify nothing is left active. Same machinery as
 * onboarding: status query, exceptions an operator retries, updatable timer for a moved exit date.
 */
export async function offboardingWorkflow(input: OnboardingInput): Promise<OnboardingStatus> {
  return runLifecycle(input);
}

/**
 * A mover: grant what the new role gets (after approvals where the policy says), join its groups, and bring title,
 * department, manager and name up to date in every system kept. What the old role loses is revoked later, by an
 * offboarding-style run the person's entity workflow starts when the grace period ends.
 */
export async function roleChangeWorkflow(input: OnboardingInput): Promise<OnboardingStatus> {
  return runLifecycle(input);
}

/**
 * A run the person's entity carries out itself (docs/decisions/0004): no workflow of its own, so nothing to publish
 * (no search attributes: the entity's are its own) and nobody to wait for. A step that fails hands the run over
 * (`InlineHandOver`): the entity starts the run as a workflow of its own, under the run's id, where the exception,
 * the operator's retry and the owners' task work as for any run; the steps already done are not done again
 * (`OnboardingInput.handedOver`), and their evidence, keyed by the run's id, is not written twice.
 */
export interface InlineRun {
  /** The run's own workflow id (`employee/<hrId>/<kind>/<eventId>`): its steps' evidence is keyed by it. */
  runWorkflowId: string;
}

/** A step of an inline run failed: the run goes on as a workflow of its own (`OnboardingInput.handedOver`). */
export class InlineHandOver extends Error {
  constructor(
    readonly stepId: string,
    readonly workEmail: string | undefined,
  ) {
    super(`step ${stepId} failed; the run is handed over to a run of its own`);
    this.name = 'InlineHandOver';
  }
}

/**
 * Whether a run can be carried out by its entity: a hire whose instants have passed and whose every step is
 * automatic (no approval, manual task or hand-over: nobody is waited for) on a system with no rate limit. Called by
 * the entity at the run's start.
 */
export function runsInline(workflow: string, input: OnboardingInput, now: number): boolean {
  return (
    workflow === 'onboarding' &&
    input.kind === 'hire' &&
    Date.parse(input.effectiveAt) <= now &&
    Date.parse(input.preProvisionAt ?? input.effectiveAt) <= now &&
    // A rate-limited system's steps wait their turn on its own queue (src/domain/rate-limit.ts): not local.
    input.plan.steps.every((s) => !isPeopleAction(s.action) && !s.rateLimited)
  );
}

/** The failure of a step the entity tried before it handed the run over (its recorded error). */
class HandedOverFailure extends Error {}

/**
 * An inline run (see `InlineRun`): its status, kept up to date as it runs, and `execute`, which carries it out and
 * rejects with `InlineHandOver` when a step fails.
 */
export function inlineRun(
  input: OnboardingInput,
  inline: InlineRun,
): { status: OnboardingStatus; execute(): Promise<void> } {
  const run = new Onboarding(input, inline);
  return { status: run.status, execute: () => run.execute() };
}

async function runLifecycle(input: OnboardingInput): Promise<OnboardingStatus> {
  enterAtCodeLevel();
  const run = new Onboarding(input);
  setHandler(onboardingStatusQuery, () => run.status);
  setHandler(rescheduleUpdate, (r: RescheduleInput) => run.reschedule(r), {
    validator: (r: RescheduleInput) => run.validateReschedule(r),
  });
  setHandler(rescheduleSignal, (r: RescheduleInput) => {
    let refused: string | undefined;
    try {
      run.validateReschedule(r);
      run.reschedule(r);
    } catch (err) {
      refused = err instanceof Error ? err.message : String(err);
      log.warn('reschedule ignored', { reason: refused });
    }
    // The entity waits for the answer, so a move that came too late is refused to HR, not acknowledged.
    if (r.replyTo) {
      const { workflowId, requestId } = r.replyTo;
      getExternalWorkflowHandle(workflowId)
        .signal(rescheduleAnsweredSignal, {
          requestId,
          applied: refused === undefined,
          ...(refused ? { reason: refused } : {}),
        })
        .catch((err: unknown) => log.warn('could not answer a reschedule', { error: String(err) }));
    }
  });
  setHandler(retryStepUpdate, (r: RetryStepInput) => run.retry(r.stepId), {
    validator: (r: RetryStepInput) => run.validateRetry(r.stepId),
  });
  setHandler(adoptCurrentPolicyUpdate, () => run.adoptCurrentPolicy(), {
    validator: () => run.validateAdopt(),
  });
  await run.execute();
  return run.status;
}

class Onboarding {
  readonly status: OnboardingStatus;
  private steps: PlanStep[];
  private rearmed = false;
  private readonly retries = new Set<string>();
  private workEmail?: string;
  private readonly accountIds = new Map<string, string>();
  private stepsStarted = false;
  private activationReached = false;
  private readonly onDone = new Map<string, () => void>();
  /** Systems whose approval was rejected or timed out: their steps are skipped. */
  private readonly denied = new Set<string>();
  /** Systems whose data hand-over the manager declined (or let time out): the transfer is skipped. */
  private readonly handoverDeclined = new Set<string>();
  /** Steps in exception that nobody fixed in time, and what depends on them. */
  private readonly abandoned = new Set<string>();
  /** How many times each step went into exception in this run. */
  private readonly exceptionRounds = new Map<string, number>();
  /** Activation steps carried out by their system's create step (`foldableActivation`). */
  private readonly folded = new Set<string>();
  /** Started at its instant's stage (`STAGE_AT_START_PATCH`): the waiting stages are not published. */
  private stageAtStart: boolean;
  /** Steps a run handed over by the entity found done (`OnboardingInput.handedOver`): not run again. */
  private readonly resumed = new Set<string>();
  /** The step whose failure handed the run over: in exception before this run tries it. */
  private failedBefore?: { stepId: string; error: string };

  constructor(
    private readonly input: OnboardingInput,
    private readonly inline?: InlineRun,
  ) {
    this.steps = input.plan.steps;
    this.workEmail = input.record.workEmail;
    const started = inline ? 'activating' : workflowInfo().typedSearchAttributes.get(STAGE);
    this.stageAtStart =
      inline !== undefined ||
      ((started === 'activating' || started === 'revoking') && startedWith(STAGE_AT_START_PATCH));
    this.status = {
      hrId: input.hrId,
      eventId: input.eventId,
      stage: this.stageAtStart && started ? (started as OnboardingStage) : waitingStage(input.plan.steps),
      preProvisionAt: input.preProvisionAt ?? input.effectiveAt,
      effectiveAt: input.effectiveAt,
      late: false,
      policyVersion: input.plan.policyVersion,
      playbooks: input.plan.playbooks,
      startedAt: new Date().toISOString(),
      exceptions: [],
      steps: this.steps.map(toStatus),
    };
    const handedOver = input.handedOver;
    if (handedOver) {
      if (handedOver.workEmail) this.workEmail = handedOver.workEmail;
      for (const before of handedOver.steps) {
        const i = this.status.steps.findIndex((x) => x.id === before.id);
        if (i < 0) continue;
        if (before.state === 'succeeded') {
          this.status.steps[i] = { ...before };
          this.resumed.add(before.id);
          if (before.systemId && before.accountId) this.accountIds.set(before.systemId, before.accountId);
        } else if (before.id === handedOver.stepId) {
          this.status.steps[i] = { ...before, state: 'exception' };
          this.failedBefore = { stepId: before.id, error: before.error ?? 'failed' };
        }
      }
    }
  }

  async execute(): Promise<void> {
    await this.waitUntil('preProvisionAt');
    this.stepsStarted = true;
    if (this.steps.some((x) => x.phase === 'pre_provision') && !this.stageAtStart) this.setStage('pre_provisioning');
    const dag = this.runSteps();
    // A cancelled run (superseded by an exit) rejects both waits; the DAG's rejection is handled, not unhandled.
    dag.catch(() => undefined);
    await this.waitUntil('effectiveAt');
    this.activationReached = true;
    await dag;
    this.status.finishedAt = new Date().toISOString();
    this.setStage('completed');
  }

  /** Every step starts when its dependencies succeeded; activation steps also wait for the hire instant. */
  private async runSteps(): Promise<void> {
    const done = new Map<string, Promise<void>>();
    const pre = this.steps.filter((s) => s.phase === 'pre_provision');
    const preDone = Promise.all(pre.map((s) => new Promise<void>((resolve) => this.onDone.set(s.id, resolve))));
    void preDone.then(() => {
      if (this.activationReached || this.stageAtStart) return;
      if (this.status.stage === 'waiting' && startedWith(STAGE_AT_START_PATCH)) return;
      this.setStage('waiting');
    });
    for (const step of this.steps) {
      const deps = step.dependsOn.map((d) => done.get(d) ?? Promise.resolve());
      done.set(
        step.id,
        Promise.all(deps).then(async () => {
          if (step.phase === 'activation') {
            await condition(() => this.activationReached);
            const stage = this.revokes() ? 'revoking' : 'activating';
            if (this.status.stage !== stage) this.setStage(stage);
          }
          // A folded activation was already carried out by its system's create step, in the same activity; a step
          // the entity carried out before it handed the run over is done.
          if (!this.folded.has(step.id) && !this.resumed.has(step.id)) {
            const skip = this.skipReason(step);
            if (skip) {
              const st = this.step(step.id);
              st.state = 'skipped';
              st.outcome = skip;
            } else {
              await this.runStep(step);
            }
          }
          this.onDone.get(step.id)?.();
        }),
      );
    }
    if (!this.inline) {
      await Promise.all(done.values());
      return;
    }
    // Carried out by the entity: a failed step hands the run over once every step it does not hold up has finished,
    // so the run of its own starts from all that was done (and no local activity is cancelled mid-flight).
    const failed = (await Promise.allSettled(done.values())).find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private skipReason(step: PlanStep): string | undefined {
    const gone = step.dependsOn.find((d) => this.abandoned.has(d));
    if (gone) {
      // What depends on an abandoned step cannot run either (and is abandoned with it).
      this.abandoned.add(step.id);
      return `not run: ${gone} was abandoned`;
    }
    const sys = step.systemId;
    if (!sys) return undefined;
    if ((step.action === 'transfer_data' || step.action === 'transfer_data_api') && this.handoverDeclined.has(sys)) {
      return 'not transferred: the manager declined the hand-over';
    }
    if (this.denied.has(sys) && step.action !== 'approve') return 'not granted: the approval was denied';
    return undefined;
  }

  // ── timers ────────────────────────────────────────────────────────────────────────────────────────────
  /** An updatable timer: a moved instant re-arms it; an instant already past runs at once (late if before start). */
  private async waitUntil(field: 'preProvisionAt' | 'effectiveAt'): Promise<void> {
    for (;;) {
      const remaining = Date.parse(this.status[field]) - Date.now();
      if (remaining <= 0) break;
      this.rearmed = false;
      await condition(() => this.rearmed, remaining);
    }
    if (field === 'effectiveAt' && this.late()) {
      this.status.late = true;
      log.info('hire instant had already passed when the run started; activating now', { eventId: this.input.eventId });
    }
  }

  /** Late: the instant had passed when HR told us (a back-dated event); "at once" (an involuntary exit) is not late. */
  private late(): boolean {
    const told = this.input.receivedAt ?? this.status.startedAt;
    return Date.parse(this.status.effectiveAt) < Date.parse(told);
  }

  validateReschedule(r: RescheduleInput): void {
    if (this.activationReached) {
      throw ApplicationFailure.nonRetryable(`onboarding is ${this.status.stage}; it can no longer be rescheduled`);
    }
    for (const v of [r.effectiveAt, r.preProvisionAt]) {
      if (v !== undefined && Number.isNaN(Date.parse(v))) {
        throw ApplicationFailure.nonRetryable(`"${v}" is not an ISO instant`);
      }
    }
  }

  reschedule(r: RescheduleInput): OnboardingStatus {
    this.status.effectiveAt = r.effectiveAt;
    if (r.preProvisionAt !== undefined && !this.stepsStarted) this.status.preProvisionAt = r.preProvisionAt;
    // A date moved into the past takes effect at once, and the run says it was late.
    if (Date.parse(r.effectiveAt) < Date.now()) this.status.late = true;
    if (this.stageAtStart) {
      // Moved before the run reached its instant: it waits again, and says so.
      this.stageAtStart = false;
      const waiting = waitingStage(this.steps);
      this.setStage(waiting === 'waiting_pre_provision' && this.stepsStarted ? 'pre_provisioning' : waiting);
    }
    this.rearmed = true;
    return this.status;
  }

  // ── operator actions ──────────────────────────────────────────────────────────────────────────────────
  validateRetry(stepId: string): void {
    const s = this.status.steps.find((x) => x.id === stepId);
    if (!s) throw ApplicationFailure.nonRetryable(`no step "${stepId}" in this run`, 'UnknownStep');
    if (s.state !== 'exception') {
      throw ApplicationFailure.nonRetryable(`step "${stepId}" is ${s.state}, not in exception`, 'NotInException');
    }
  }

  retry(stepId: string): OnboardingStatus {
    this.retries.add(stepId);
    return this.status;
  }

  validateAdopt(): void {
    if (this.stepsStarted) {
      throw ApplicationFailure.nonRetryable('steps have started; a running plan keeps the policy it started with');
    }
  }

  async adoptCurrentPolicy(): Promise<OnboardingStatus> {
    const planned = await planEvent({
      event: {
        eventId: this.input.eventId,
        kind: 'hire',
        source: 'operator',
        record: this.input.record,
        receivedAt: new Date().toISOString(),
      },
    });
    if (!planned.ok) throw ApplicationFailure.nonRetryable(`the current policy refuses this hire: ${planned.reason}`);
    if (this.stepsStarted) throw ApplicationFailure.nonRetryable('steps started while re-planning; nothing changed');
    this.steps = planned.plan.steps;
    this.status.steps = this.steps.map(toStatus);
    this.status.policyVersion = planned.plan.policyVersion;
    this.status.playbooks = planned.plan.playbooks;
    // The new policy's timing too (activation hour, pre-provisioning days): the waiting timers re-arm.
    if (hasPatch(ADOPT_TIMING_PATCH)) {
      this.status.effectiveAt = planned.effectiveAt;
      this.status.preProvisionAt = planned.preProvisionAt;
      this.rearmed = true;
    }
    return this.status;
  }

  // ── steps ─────────────────────────────────────────────────────────────────────────────────────────────
  private step(id: string): StepStatus {
    const s = this.status.steps.find((x) => x.id === id);
    if (!s) throw ApplicationFailure.nonRetryable(`unknown step ${id}`);
    return s;
  }

  /**
   * The activation step a create step carries out in the same activity (`createActiveAccount`, behind
   * `FOLD_ACTIVATION_PATCH`): once the instant has passed, when the system's activation waits on nothing but this
   * create step (its upstream systems are already active: SSO-first order holds). One task of the run instead of two;
   * the evidence is the same two rows.
   */
  private foldableActivation(step: PlanStep): PlanStep | undefined {
    const systemId = step.systemId;
    if (step.action !== 'create_account' || !systemId) return undefined;
    if (Date.parse(this.status.effectiveAt) > Date.now()) return undefined;
    const activation = this.steps.find(
      (x) => x.action === 'activate_account' && x.phase === 'activation' && x.systemId === systemId,
    );
    if (!activation || activation.dependsOn.some((d) => d !== step.id && this.step(d).state !== 'succeeded')) {
      return undefined;
    }
    return hasPatch(FOLD_ACTIVATION_PATCH) ? activation : undefined;
  }

  private async runStep(step: PlanStep): Promise<void> {
    const s = this.step(step.id);
    const activation = this.foldableActivation(step);
    const a = activation ? this.step(activation.id) : undefined;
    if (activation) this.folded.add(activation.id);
    for (;;) {
      // Handed over by the entity on this step's failure: it is in exception already, as if tried here.
      const failedBefore = this.failedBefore?.stepId === step.id ? this.failedBefore : undefined;
      if (failedBefore) this.failedBefore = undefined;
      else {
        s.state = 'running';
        s.runs += 1;
        s.startedAt = new Date().toISOString();
        s.error = undefined;
        if (a) {
          a.state = 'running';
          a.runs += 1;
          a.startedAt = s.startedAt;
        }
      }
      try {
        if (failedBefore) throw new HandedOverFailure(failedBefore.error);
        const stepInput: StepInput = {
          stepId: step.id,
          systemId: step.systemId,
          record: this.input.record,
          workEmail: this.workEmail,
          groups: step.groups,
          licence: step.licence,
          accountId: step.systemId ? this.accountIds.get(step.systemId) : undefined,
          policyVersion: this.status.policyVersion,
          runKind: this.input.kind,
          ...(this.inline ? { runWorkflowId: this.inline.runWorkflowId } : {}),
          ...(this.status.late ? { late: true } : {}),
          ...(step.action === 'verify_exit'
            ? {
                summary: this.status.steps
                  .filter((x) => x.id !== step.id)
                  .map((x) => ({ id: x.id, state: x.state, ...(x.outcome ? { outcome: x.outcome } : {}) })),
              }
            : {}),
        };
        const r = isPeopleAction(step.action)
          ? await this.runPeopleStep(step.action, stepInput)
          : activation
            ? await (this.inline ? inlineActs.createActiveAccount : createActiveActivity(step))({
                ...stepInput,
                activationStepId: activation.id,
                ...(this.late() ? { late: true } : {}),
              })
            : await (this.inline ? inlineActs[STEP_ACTIVITY_NAMES[step.action]] : stepActivity(step, step.action))(
                stepInput,
              );
        if (r.workEmail) {
          this.workEmail = r.workEmail;
          this.status.workEmailAllocated = step.action === 'allocate_work_email';
        }
        if (r.accountId && step.systemId) this.accountIds.set(step.systemId, r.accountId);
        s.state = 'succeeded';
        s.outcome = r.outcome;
        s.accountId = r.accountId ?? s.accountId;
        s.finishedAt = new Date().toISOString();
        if (a) {
          a.state = 'succeeded';
          a.outcome = r.activation?.outcome;
          a.accountId = r.activation?.accountId ?? s.accountId;
          a.finishedAt = s.finishedAt;
        }
        return;
      } catch (err) {
        // A superseded run is cancelled: that is no exception, nobody is asked to retry anything.
        if (isCancellation(err) && hasPatch(CANCELLED_NOT_EXCEPTION_PATCH)) {
          s.state = 'skipped';
          s.outcome = 'cancelled: the run was superseded';
          s.finishedAt = new Date().toISOString();
          if (a) Object.assign(a, { state: 'skipped', outcome: s.outcome, finishedAt: s.finishedAt });
          throw err;
        }
        s.state = 'exception';
        // The activation waits with its create step (its state follows the create step's).
        if (a) a.state = 'pending';
        if (err instanceof HandedOverFailure) {
          // As the entity recorded it (when and why it failed).
          s.error = err.message;
        } else {
          s.finishedAt = new Date().toISOString();
          s.error = err instanceof ActivityFailure && err.cause ? err.cause.message : String(err);
        }
        // Carried out by the entity: the run of its own takes the exception from here.
        if (this.inline) throw new InlineHandOver(step.id, this.workEmail);
        log.warn('step is an exception; waiting for an operator retry', { stepId: step.id });
        this.openException(step.id);
        const owned = hasPatch(EXCEPTION_OWNER_PATCH);
        let fixed = false;
        let taskWorkflowId: string | undefined;
        let giveUpAfterMs: number | undefined;
        let round = 0;
        try {
          if (owned) {
            round = (this.exceptionRounds.get(step.id) ?? 0) + 1;
            this.exceptionRounds.set(step.id, round);
            const plan = await acts.prepareExceptionTask({
              hrId: this.input.hrId,
              eventId: this.input.eventId,
              kind: this.input.kind ?? 'hire',
              stepId: step.id,
              ...(step.systemId ? { systemId: step.systemId } : {}),
              error: s.error,
              round,
            });
            giveUpAfterMs = plan.giveUpAfterMs;
            s.abandonAt = new Date(Date.now() + plan.giveUpAfterMs).toISOString();
            if (plan.task) {
              const task = plan.task;
              taskWorkflowId = manualTaskWorkflowId(task.taskId);
              const child = await startChild(manualTaskWorkflow, {
                workflowId: taskWorkflowId,
                args: [task],
                parentClosePolicy: 'REQUEST_CANCEL',
                memo: codeLevelMemo(),
              });
              s.exceptionTask = task.taskId;
              s.exceptionOwners = task.owners;
              child.result().then(
                (r) => {
                  if (r.state === 'done') fixed = true;
                },
                () => undefined,
              );
            }
          }
          const ready = (): boolean => this.retries.has(step.id) || fixed;
          const retried =
            giveUpAfterMs === undefined ? (await condition(ready), true) : await condition(ready, giveUpAfterMs);
          if (!retried) {
            // The activation is no longer carried out here: it is skipped with what depends on the abandoned step.
            if (activation) this.folded.delete(activation.id);
            await this.abandon(step, s, round, giveUpAfterMs ?? 0, taskWorkflowId);
            return;
          }
        } catch (waitErr) {
          // Superseded while waiting for a retry: the run is cancelled, nobody waits on an operator any more.
          if (isCancellation(waitErr) && hasPatch(CANCELLED_NOT_EXCEPTION_PATCH)) this.closeException(step.id);
          throw waitErr;
        }
        // Retried from the CLI while the owners' task is open: the task is no longer needed.
        if (taskWorkflowId && !fixed) await this.cancelTask(taskWorkflowId);
        delete s.exceptionTask;
        delete s.exceptionOwners;
        delete s.abandonAt;
        this.retries.delete(step.id);
        this.closeException(step.id);
      }
    }
  }

  /** Nobody fixed the step in time: it is skipped with evidence, its dependents are skipped, the run can end. */
  private async abandon(
    step: PlanStep,
    s: StepStatus,
    round: number,
    afterMs: number,
    taskWorkflowId: string | undefined,
  ): Promise<void> {
    if (taskWorkflowId) await this.cancelTask(taskWorkflowId);
    await acts.recordExceptionAbandoned({
      hrId: this.input.hrId,
      stepId: step.id,
      ...(step.systemId ? { systemId: step.systemId } : {}),
      round,
      afterMs,
    });
    s.state = 'skipped';
    s.outcome = `abandoned: nobody fixed it within ${Math.round(afterMs / 60_000)} min`;
    s.finishedAt = new Date().toISOString();
    delete s.exceptionTask;
    delete s.exceptionOwners;
    delete s.abandonAt;
    this.abandoned.add(step.id);
    this.closeException(step.id);
  }

  private async cancelTask(workflowId: string): Promise<void> {
    await getExternalWorkflowHandle(workflowId)
      .cancel()
      .catch((err: unknown) => log.warn('could not cancel a fix-and-retry task', { error: String(err) }));
  }

  /** Does this run take access away (an exit, a cancelled hire, a leave) rather than give it? */
  private revokes(): boolean {
    return runRevokes(this.input.kind);
  }

  /** A human wait as a child workflow: an approval (a denial skips the system) or a manual task. */
  private async runPeopleStep(action: PeopleAction, input: StepInput): Promise<StepResult> {
    const systemId = input.systemId ?? '';
    const base = { hrId: this.input.hrId, eventId: this.input.eventId, systemId, record: this.input.record };
    if (action === 'approve' || action === 'approve_handover') {
      const handover = action === 'approve_handover';
      const request = await acts.prepareApproval(handover ? { ...base, purpose: 'handover' } : base);
      if (!request) return { outcome: 'not_required', at: new Date().toISOString() };
      const r = await executeChild(approvalWorkflow, {
        workflowId: approvalWorkflowId(this.input.hrId, this.input.eventId, systemId),
        args: [request],
        parentClosePolicy: 'REQUEST_CANCEL',
        memo: codeLevelMemo(),
      });
      if (r.outcome !== 'approved') (handover ? this.handoverDeclined : this.denied).add(systemId);
      return { outcome: r.outcome, at: new Date().toISOString() };
    }
    const task = await acts.prepareManualTask({
      ...base,
      action: action === 'transfer_data' ? 'transfer_data' : this.revokes() ? 'disable_account' : 'create_account',
      workEmail: this.workEmail,
    });
    const done = await executeChild(manualTaskWorkflow, {
      workflowId: manualTaskWorkflowId(task.taskId),
      args: [task],
      parentClosePolicy: 'REQUEST_CANCEL',
    });
    if (done.state !== 'done') {
      throw ApplicationFailure.nonRetryable(`manual task ${task.taskId} ended ${done.state}`, 'manual_task');
    }
    return { outcome: 'completed', at: new Date().toISOString() };
  }

  private openException(stepId: string): void {
    this.status.exceptions = [...new Set([...this.status.exceptions, stepId])];
    this.publishWaitingOn();
  }

  private closeException(stepId: string): void {
    this.status.exceptions = this.status.exceptions.filter((x) => x !== stepId);
    this.publishWaitingOn();
  }

  private publishWaitingOn(): void {
    const value = this.status.exceptions.length ? `operator:${this.status.exceptions.join(',')}` : null;
    upsertSearchAttributes([{ key: WAITING_ON, value }]);
  }

  private setStage(stage: OnboardingStage): void {
    this.status.stage = stage;
    if (!this.inline) upsertSearchAttributes([{ key: STAGE, value: stage }]);
  }
}

function isPeopleAction(a: StepAction): a is PeopleAction {
  return (PEOPLE_ACTIONS as readonly StepAction[]).includes(a);
}

function toStatus(s: PlanStep): StepStatus {
  return {
    id: s.id,
    action: s.action,
    phase: s.phase,
    ...(s.systemId ? { systemId: s.systemId } : {}),
    ...(s.groups ? { groups: s.groups } : {}),
    dependsOn: s.dependsOn,
    state: 'pending',
    runs: 0,
  };
}
