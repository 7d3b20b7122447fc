import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  makeContinueAsNewFunc,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributePair } from '@temporalio/common';
import type { TenureActivities } from '../../activities';
import type { HrEvent } from '../../domain/employee';
import {
  compactEvents,
  entityWaitingOn,
  exceptionId,
  exitCancelsHire,
  hasLeft,
  isRetentionEntry,
  storyFinished,
} from '../../domain/entity-rules';
import { eventWorkflowId } from '../../domain/ids';
import type { Plan } from '../../domain/plan';
import { RUN_PRIORITY } from '../../domain/priority';
import type { ExitPlanResult } from '../../domain/plan-exit';
import { summarizePlan } from '../../domain/plan';
import { planRetentionDeletion, planRevocations, prunePending, roleChanges } from '../../domain/plan-change';
import {
  DEPARTMENT,
  EFFECTIVE_AT,
  EMPLOYEE_ID,
  EVENT_KIND,
  STAGE,
  WAITING_ON,
  boundedKeyword,
  departmentKey,
} from '../search-attributes';
import { codeLevelMemo, enterAtCodeLevel, hasPatch, startedWith } from '../code-level';
import {
  InlineHandOver,
  offboardingWorkflow,
  onboardingWorkflow,
  roleChangeWorkflow,
  inlineRun,
  runsInline,
} from '../onboarding/onboarding';
import { rescheduleSignal, startStage } from '../onboarding/messages';
import type { HandedOver, OnboardingInput, OnboardingStatus, RescheduleInput } from '../onboarding/messages';
import { WorkflowLock } from './lock';
import type {
  DeliverEventResult,
  EmployeeState,
  EmployeeStatus,
  EmployeeWorkflowInput,
  EntityException,
  EventLogEntry,
  RescheduleAnswer,
  ResolveEntityExceptionInput,
} from './messages';
import {
  deliverEventUpdate,
  employeeStatusQuery,
  rescheduleAnsweredSignal,
  resolveEntityExceptionUpdate,
} from './messages';

/** Events remembered for duplicate detection and status. */
export const MAX_EVENT_LOG = 200;

/** Grace-period revocations and retention deletions: timers of the entity, added after the first deployment. */
export const SCHEDULED_RUNS_PATCH = 'tenure-scheduled-runs';

/**
 * The serial entity, added after the scheduled runs: handlers and the run loop hold one lock (no interleaving across
 * the planning local activity), moved instants wait for the run's answer, failures are recorded as exceptions of the
 * entity instead of failing it, and a finished story continues-as-new to a small state. Runs started before it keep
 * the earlier behaviour (`legacy` code paths below) until they continue-as-new.
 */
export const SERIAL_ENTITY_PATCH = 'tenure-serial-entity';

/**
 * An exit before the start is a cancelled hire, however it arrives (a termination, or a change that dates an exit
 * before a still-waiting hire): the onboarding is cancelled and the exit runs the cancelled-hire plan (pre-hire
 * accounts disabled and deleted) at once, never behind the hire. Before it, a termination ran a plain exit and a
 * change queued the exit behind the hire, which activated the accounts first.
 */
export const PRE_START_EXIT_PATCH = 'tenure-pre-start-exit';

/** How long the entity waits for a waiting run to confirm a moved instant before answering without it. */
export const RESCHEDULE_ANSWER_TIMEOUT = '1 minute';

/** Open exceptions of the entity kept at most (the oldest are dropped, and logged, beyond). */
export const MAX_ENTITY_EXCEPTIONS = 50;

/** Longest failure text kept in an exception. */
const MAX_REASON = 500;

/**
 * A reconciliation's repair (docs/reconcile.md): an event with `repair` whose record is the one the entity holds runs
 * the repair plan (missing accounts created or adopted and activated, drifted attributes written again) as a run of
 * its own. Before it, such an event was accepted with nothing to do. Only events with `repair` reach the new path.
 */
export const RECONCILE_REPAIR_PATCH = 'tenure-reconcile-repair';

/**
 * Runs start at `RUN_PRIORITY`, below the entity's own tasks (`ENTITY_PRIORITY`, set by the intake): under a burst the
 * intake's answers do not wait behind the steps of runs already accepted. Before it, a run inherited the entity's
 * priority.
 */
export const RUN_PRIORITY_PATCH = 'tenure-run-priority';

/**
 * A hire due when it starts, with nobody to wait for, is carried out by the entity itself instead of a child run
 * (docs/decisions/0004): one workflow and three workflow tasks per late hire instead of two and six. Taken only by
 * entities started with it (`startedWith`): an entity in flight keeps starting children until it continues as new.
 */
export const INLINE_RUNS_PATCH = 'tenure-inline-runs';

/** How many statuses of runs it carried out an entity keeps for its `status` query. */
const MAX_INLINE_STATUSES = 5;

const { planEvent, planExitEvent, planChangeEvent, planRepairEvent } = proxyLocalActivities<TenureActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3 },
});

interface Queued {
  entry: EventLogEntry;
  workflow: 'onboarding' | 'offboarding' | 'role_change';
  input: OnboardingInput;
  /** A termination's accounts are deleted at the end of the retention period. */
  retention?: { deleteAt: string; systems: string[]; idp: string };
}

const WORKFLOWS = {
  onboarding: onboardingWorkflow,
  offboarding: offboardingWorkflow,
  role_change: roleChangeWorkflow,
} as const;

const isExitKind = (k: OnboardingInput['kind']): boolean => k === 'termination' || k === 'cancel_hire';

type Reject = (reason: string) => DeliverEventResult;

function exitInput(event: HrEvent, planned: { plan: Plan; effectiveAt: string }): OnboardingInput {
  return {
    hrId: event.record.hrId,
    kind:
      event.kind === 'cancel_hire' || event.kind === 'leave_start' || event.kind === 'leave_end'
        ? event.kind
        : 'termination',
    eventId: event.eventId,
    record: event.record,
    plan: planned.plan,
    effectiveAt: planned.effectiveAt,
    preProvisionAt: planned.effectiveAt,
    receivedAt: event.receivedAt,
  };
}

/** Continues as new: the next run is started by this code, so at its level (src/workflows/code-level.ts). */
function continueAsNewAtLevel(input: EmployeeWorkflowInput): Promise<never> {
  return makeContinueAsNewFunc<typeof employeeWorkflow>({ memo: codeLevelMemo() })(input);
}

/**
 * The entity workflow `employee/<hrId>`: one per person. It takes HR events through an Update,
 * answers accepted / duplicate / rejected, and runs one child workflow per accepted event, in order.
 */
export async function employeeWorkflow(input: EmployeeWorkflowInput): Promise<void> {
  enterAtCodeLevel();
  const entity = new Employee(input);
  setHandler(employeeStatusQuery, () => entity.status());
  setHandler(deliverEventUpdate, (event: HrEvent) => entity.deliver(event), {
    validator: (event: HrEvent) => entity.validate(event),
  });
  setHandler(resolveEntityExceptionUpdate, (r: ResolveEntityExceptionInput) => entity.resolve(r), {
    validator: (r: ResolveEntityExceptionInput) => entity.validateResolve(r),
  });
  setHandler(rescheduleAnsweredSignal, (a: RescheduleAnswer) => entity.answered(a));
  await entity.run();
}

class Employee {
  private readonly state: EmployeeState;
  private readonly queue: Queued[] = [];
  private current?: string;
  private currentEntry?: EventLogEntry;
  private currentQueued?: Queued;
  private currentScope?: CancellationScope;
  /** The running child was cancelled to let a change go first; it is already back in the queue. */
  private requeued = false;
  private handledAny = false;
  /** See `SERIAL_ENTITY_PATCH`. */
  private readonly serial: boolean;
  private readonly lock = new WorkflowLock();
  /** Runs carried out by this execution, by workflow id (`keepInline`). */
  private readonly inlineRuns = new Map<string, OnboardingStatus>();
  private readonly answers = new Map<string, RescheduleAnswer>();
  private rescheduleSeq = 0;
  /** This run accepted an event or finished a run: a finished story is worth compacting. */
  private didWork = false;

  constructor(private readonly input: EmployeeWorkflowInput) {
    this.state = input.state ?? { events: [] };
    this.serial = hasPatch(SERIAL_ENTITY_PATCH);
  }

  status(): EmployeeStatus {
    return {
      hrId: this.input.hrId,
      current: this.current,
      queued: this.queue.length,
      queue: this.queue.map((q) => ({
        eventId: q.entry.eventId,
        kind: q.entry.kind,
        ...(q.entry.workflowId ? { workflowId: q.entry.workflowId } : {}),
        effectiveAt: q.input.effectiveAt,
        ...(q.entry.derived ? { derived: true } : {}),
      })),
      events: this.state.events,
      pendingRevocations: this.state.pendingRevocations ?? [],
      ...(this.state.deletion ? { deletion: this.state.deletion } : {}),
      ...(this.state.record ? { record: this.state.record } : {}),
      ...(this.state.lastSourceUpdatedAt ? { lastSourceUpdatedAt: this.state.lastSourceUpdatedAt } : {}),
      exceptions: this.state.exceptions ?? [],
      ...(this.inlineRuns.size > 0 ? { inlineRuns: Object.fromEntries(this.inlineRuns) } : {}),
    };
  }

  validate(event: HrEvent): void {
    if (event.record.hrId !== this.input.hrId) {
      throw ApplicationFailure.nonRetryable(
        `event ${event.eventId} is for ${event.record.hrId}, not for ${this.input.hrId}`,
        'WrongEmployee',
      );
    }
  }

  /**
   * One HR event. Handlers hold the entity's lock for their whole body (planning is a local activity they await), so
   * the checks they make (stale? a second hire?) still hold when they write; a failure is caught and recorded, never
   * thrown out of workflow code.
   */
  deliver(event: HrEvent): Promise<DeliverEventResult> {
    if (!this.serial) return this.decide(event);
    return this.lock.run(() => this.decideSafely(event));
  }

  private async decideSafely(event: HrEvent): Promise<DeliverEventResult> {
    try {
      const result = await this.decide(event);
      if (result.outcome === 'accepted') this.didWork = true;
      return result;
    } catch (err) {
      if (isCancellation(err)) throw err;
      const reason = failureText(err);
      log.error('the entity could not decide an event; recorded as an exception', { eventId: event.eventId, reason });
      const entry = this.state.events.find((e) => e.eventId === event.eventId);
      this.recordException({ eventId: event.eventId, kind: 'handler_failed', reason });
      if (entry?.outcome === 'accepted') {
        this.didWork = true;
        return {
          outcome: 'accepted',
          eventId: event.eventId,
          workflowId: entry.workflowId,
          reason: `accepted, but the entity failed while finishing it (${reason}); an operator is told`,
        };
      }
      // Nothing was decided: the event id is not used up, so sending it again is handled afresh.
      if (entry) this.state.events.splice(this.state.events.indexOf(entry), 1);
      return {
        outcome: 'rejected',
        eventId: event.eventId,
        reason: `not decided: ${reason}; nothing changed, send the event again`,
      };
    }
  }

  private async decide(event: HrEvent): Promise<DeliverEventResult> {
    this.handledAny = true;
    const seen = this.state.events.find((e) => e.eventId === event.eventId);
    if (seen) {
      return {
        outcome: 'duplicate',
        eventId: event.eventId,
        reason: `event ${event.eventId} was already received (${seen.outcome})`,
        workflowId: seen.workflowId,
      };
    }
    const entry: EventLogEntry = {
      eventId: event.eventId,
      kind: event.kind,
      outcome: 'rejected',
      receivedAt: event.receivedAt,
      state: 'rejected',
    };
    this.remember(entry);
    const reject = (reason: string): DeliverEventResult => {
      entry.reason = reason;
      return { outcome: 'rejected', eventId: event.eventId, reason };
    };

    const last = this.state.lastSourceUpdatedAt;
    if (last !== undefined && Date.parse(event.record.sourceUpdatedAt) < Date.parse(last)) {
      return reject(`stale: HR already sent a newer update of this person (sourceUpdatedAt ${last})`);
    }
    // A plain "employee updated" is enough: the transition is derived from the status HR now gives.
    if (event.kind === 'change') {
      const kind = this.derivedKind(event.record);
      if (kind !== 'change') {
        event = { ...event, kind };
        entry.kind = kind;
      }
    }
    switch (event.kind) {
      case 'hire':
      case 'rehire':
        return this.hire(event, entry, reject);
      case 'termination':
      case 'cancel_hire':
        return this.exit(event, entry, reject);
      case 'leave_start':
      case 'leave_end':
        return this.leave(event, entry, reject);
      case 'change':
        return this.change(event, entry, reject);
    }
  }

  /** The transition a changed record means: a new status of terminated, on leave or back from leave. */
  private derivedKind(next: HrEvent['record']): HrEvent['kind'] {
    const previous = this.state.record;
    if (!previous || !this.lastHire()) return 'change';
    if (next.status === 'terminated' && previous.status !== 'terminated' && !this.pendingExit()) return 'termination';
    if (next.status === 'on_leave' && !this.onLeave()) return 'leave_start';
    if (next.status === 'active' && this.onLeave()) return 'leave_end';
    return 'change';
  }

  private lastHire(): EventLogEntry | undefined {
    return this.state.events
      .filter((e) => (e.kind === 'hire' || e.kind === 'rehire') && e.outcome === 'accepted')
      .at(-1);
  }

  /** A termination (sent or derived) completed after the last hire: this person has left. */
  private hasLeft(): boolean {
    return hasLeft(this.state.events);
  }

  private isRetention(e: EventLogEntry): boolean {
    return isRetentionEntry(e);
  }

  private async hire(event: HrEvent, entry: EventLogEntry, reject: Reject): Promise<DeliverEventResult> {
    const accepted = this.state.events.filter((e) => e.outcome === 'accepted');
    const lastHire = accepted.filter((e) => e.kind === 'hire' || e.kind === 'rehire').at(-1);
    const exitedSince =
      lastHire !== undefined &&
      accepted.some(
        (e) => e.kind === 'termination' && e.state === 'done' && accepted.indexOf(e) > accepted.indexOf(lastHire),
      );
    if (event.kind === 'hire' && lastHire) {
      return reject('this person already has an accepted hire; send a rehire after an exit, or a change');
    }
    if (event.kind === 'rehire' && lastHire && !exitedSince) {
      return reject('a rehire needs a completed exit first: this person is still employed');
    }
    const planned = await planEvent({ event });
    if (!planned.ok) return reject(planned.reason);
    this.accept(event, entry);
    // Coming back before the retention period ended: the old accounts are adopted, not deleted.
    if (this.state.deletion) {
      this.state.deletion = undefined;
      for (const q of this.queue.filter((x) => this.isRetention(x.entry))) q.entry.state = 'superseded';
      this.queue.splice(0, this.queue.length, ...this.queue.filter((x) => x.entry.state !== 'superseded'));
    }
    this.queue.push({
      entry,
      workflow: 'onboarding',
      input: {
        hrId: event.record.hrId,
        kind: event.kind === 'rehire' ? 'rehire' : 'hire',
        eventId: event.eventId,
        record: event.record,
        plan: planned.plan,
        effectiveAt: planned.effectiveAt,
        preProvisionAt: planned.preProvisionAt,
        receivedAt: event.receivedAt,
      },
    });
    // A contractor's end date is known at hire: their exit is scheduled now.
    if (event.record.employmentType === 'contractor' && event.record.exitDate) {
      await this.scheduleDerivedExit(event);
    }
    return {
      outcome: 'accepted',
      eventId: event.eventId,
      workflowId: entry.workflowId,
      plan: summarizePlan(planned.plan),
      effectiveAt: planned.effectiveAt,
      preProvisionAt: planned.preProvisionAt,
      policyVersion: planned.plan.policyVersion,
      playbooks: planned.plan.playbooks,
    };
  }

  /** An exit HR's record already dates (a contractor's end date): queued now, it waits for its instant. */
  private async scheduleDerivedExit(event: HrEvent): Promise<Queued | undefined> {
    const exitEvent: HrEvent = { ...event, eventId: `${event.eventId}.exit`, kind: 'termination' };
    const exit = await planExitEvent({ event: exitEvent });
    if (!exit.ok) return undefined;
    const exitEntry: EventLogEntry = {
      eventId: exitEvent.eventId,
      kind: 'termination',
      outcome: 'accepted',
      receivedAt: event.receivedAt,
      state: 'queued',
      derived: true,
      workflowId: eventWorkflowId(event.record.hrId, 'termination', exitEvent.eventId),
    };
    this.remember(exitEntry);
    const q: Queued = {
      entry: exitEntry,
      workflow: 'offboarding',
      input: exitInput(exitEvent, exit),
      ...(exit.retention ? { retention: exit.retention } : {}),
    };
    this.queue.push(q);
    return q;
  }

  /** The exit that has not reached its instant yet: queued, or running and still waiting. */
  private pendingExit(): { q: Queued; running: boolean } | undefined {
    const queued = this.queue.find((q) => q.workflow === 'offboarding' && q.input.kind === 'termination');
    if (queued) return { q: queued, running: false };
    const cur = this.currentQueued;
    if (cur && cur.input.kind === 'termination' && Date.now() < Date.parse(cur.input.effectiveAt)) {
      return { q: cur, running: true };
    }
    return undefined;
  }

  /** The hire that has not taken effect yet: queued, or running and still waiting for its instant. */
  private pendingHire(): { q: Queued; running: boolean } | undefined {
    const queued = this.queue.find((q) => q.workflow === 'onboarding' && q.input.kind !== 'leave_end');
    if (queued) return { q: queued, running: false };
    const cur = this.currentQueued;
    if (
      cur &&
      cur.workflow === 'onboarding' &&
      cur.input.kind !== 'leave_end' &&
      Date.now() < Date.parse(cur.input.effectiveAt)
    ) {
      return { q: cur, running: true };
    }
    return undefined;
  }

  /**
   * Moves a pending run's instant: a queued run starts with it, a waiting one is re-armed (late if already past).
   * A waiting run answers whether it took the move: once its activation has started it refuses, and so does this
   * (the answer is `{ applied: false, reason }` and nothing changed).
   */
  private async moveInstant(
    p: { q: Queued; running: boolean },
    effectiveAt: string,
    preProvisionAt?: string,
  ): Promise<{ applied: boolean; reason?: string }> {
    const move: RescheduleInput = { effectiveAt, ...(preProvisionAt !== undefined ? { preProvisionAt } : {}) };
    if (!this.serial) {
      // Runs started before SERIAL_ENTITY_PATCH: the move is sent, and not confirmed.
      p.q.input.effectiveAt = effectiveAt;
      if (preProvisionAt !== undefined) p.q.input.preProvisionAt = preProvisionAt;
      if (p.running && this.current) await getExternalWorkflowHandle(this.current).signal(rescheduleSignal, move);
      return { applied: true };
    }
    if (p.running && this.current) {
      const answer = await this.askToReschedule(this.current, move);
      if (!answer.applied) return answer;
    }
    p.q.input.effectiveAt = effectiveAt;
    if (preProvisionAt !== undefined) p.q.input.preProvisionAt = preProvisionAt;
    return { applied: true };
  }

  /** Sends a moved instant to the waiting run and waits for its answer (a workflow cannot await another's Update). */
  private async askToReschedule(workflowId: string, move: RescheduleInput): Promise<RescheduleAnswer> {
    this.rescheduleSeq += 1;
    const requestId = `reschedule-${this.rescheduleSeq}`;
    try {
      await getExternalWorkflowHandle(workflowId).signal(rescheduleSignal, {
        ...move,
        replyTo: { workflowId: workflowInfo().workflowId, requestId },
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      return { requestId, applied: false, reason: `the run ${workflowId} has already ended` };
    }
    const answered = await condition(() => this.answers.has(requestId), RESCHEDULE_ANSWER_TIMEOUT);
    const answer = this.answers.get(requestId);
    this.answers.delete(requestId);
    if (answered && answer) return answer;
    log.warn('the waiting run did not confirm a moved instant in time; taken as applied', { workflowId });
    return { requestId, applied: true, reason: 'not confirmed by the run yet' };
  }

  answered(a: RescheduleAnswer): void {
    if (typeof a?.requestId === 'string') this.answers.set(a.requestId, a);
  }

  /** Takes a pending run out: a queued one never starts, a waiting one is cancelled. */
  private supersede(p: { q: Queued; running: boolean }): void {
    p.q.entry.state = 'superseded';
    if (p.running) {
      this.currentScope?.cancel();
    } else {
      this.queue.splice(this.queue.indexOf(p.q), 1);
    }
  }

  /**
   * A termination or a cancelled hire supersedes whatever has not finished: a queued or waiting onboarding is
   * cancelled (its partial work is undone by the exit, which finds accounts by HR key), queued exits are replaced.
   * A second termination while the first still waits moves its exit instant (earlier takes effect; past runs now).
   */
  private async exit(event: HrEvent, entry: EventLogEntry, reject: Reject): Promise<DeliverEventResult> {
    const events = this.state.events;
    const hire = this.lastHire();
    if (event.kind === 'cancel_hire') {
      if (!hire) return reject('there is no accepted hire to cancel');
      if (hire.state === 'done') return reject('the hire already took effect; send a termination instead');
    }
    const since = hire ? events.indexOf(hire) : -1;
    const waiting = this.pendingExit();
    if (event.kind === 'termination' && waiting && !waiting.q.entry.derived) {
      const planned = await planExitEvent({ event });
      if (!planned.ok) return reject(planned.reason);
      const moved = await this.moveInstant(waiting, planned.effectiveAt, planned.effectiveAt);
      if (!moved.applied) {
        return reject(
          `the exit ${waiting.q.entry.eventId} has already started, its instant can no longer move (${moved.reason ?? 'refused'})`,
        );
      }
      waiting.q.input.record = event.record;
      this.accept(event, entry);
      entry.state = 'done';
      entry.workflowId = waiting.q.entry.workflowId;
      return {
        outcome: 'accepted',
        eventId: event.eventId,
        reason: `the waiting exit ${waiting.q.entry.eventId} now takes effect at ${planned.effectiveAt}${
          Date.parse(planned.effectiveAt) < Date.now() ? ' (already past: at once, flagged late)' : ''
        }`,
        workflowId: entry.workflowId,
        effectiveAt: planned.effectiveAt,
      };
    }
    const pendingExit = events.find(
      (e, i) =>
        i > since &&
        (e.kind === 'termination' || e.kind === 'cancel_hire') &&
        e.outcome === 'accepted' &&
        (e.state === 'running' || e.state === 'done') &&
        !e.derived,
    );
    if (pendingExit) return reject(`an exit is already ${pendingExit.state} (${pendingExit.eventId})`);
    const planned = await planExitEvent({ event });
    if (!planned.ok) return reject(planned.reason);
    if (event.kind === 'termination') {
      const hire = this.pendingHire();
      if (hire && this.exitBeforeStart(hire, event.record, planned.effectiveAt)) {
        return this.cancelHire(event, entry, reject, hire);
      }
    }
    return this.supersedeAndQueueExit(event, entry, planned);
  }

  /**
   * Whether an exit at `exitAt` comes before the start of the waiting first hire (`exitCancelsHire`), so that it is a
   * cancelled hire. A rehire is not: its accounts are the person's old ones.
   */
  private exitBeforeStart(
    hire: { q: Queued },
    record: HrEvent['record'],
    exitAt: string,
    hireAt: string = hire.q.input.effectiveAt,
  ): boolean {
    if (hire.q.input.kind !== 'hire') return false;
    const before = exitCancelsHire({
      hireDate: record.hireDate,
      hireAt,
      exitAt,
      ...(record.exitDate !== undefined ? { exitDate: record.exitDate } : {}),
    });
    return before && hasPatch(PRE_START_EXIT_PATCH);
  }

  /** An exit before the start: the event becomes a cancelled hire (the onboarding cancelled, pre-hire work undone). */
  private async cancelHire(
    sent: HrEvent,
    entry: EventLogEntry,
    reject: Reject,
    hire: { q: Queued },
  ): Promise<DeliverEventResult> {
    const event: HrEvent = { ...sent, kind: 'cancel_hire' };
    entry.kind = 'cancel_hire';
    const planned = await planExitEvent({ event });
    if (!planned.ok) return reject(planned.reason);
    const exitWhen = event.record.exitDate ?? 'now';
    const result = this.supersedeAndQueueExit(event, entry, planned);
    return {
      ...result,
      reason:
        `the exit (${exitWhen}) is before the start (${event.record.hireDate}): the hire ${hire.q.entry.eventId} is ` +
        'cancelled, its pre-hire accounts are disabled and deleted, and no account is activated',
    };
  }

  /** Cancels what is queued or running and queues the exit. */
  private supersedeAndQueueExit(
    event: HrEvent,
    entry: EventLogEntry,
    planned: Extract<ExitPlanResult, { ok: true }>,
  ): DeliverEventResult {
    for (const q of this.queue.splice(0)) q.entry.state = 'superseded';
    if (this.currentEntry && this.currentEntry.state === 'running') {
      this.currentEntry.state = 'superseded';
      this.currentScope?.cancel();
    }
    // The exit disables every account: revocations still in their grace period have nothing left to do.
    if (this.state.pendingRevocations?.length) this.state.pendingRevocations = [];
    const result = this.acceptAndQueue(event, entry, 'offboarding', exitInput(event, planned));
    if (planned.retention) {
      const q = this.queue.at(-1);
      if (q) q.retention = planned.retention;
    }
    return result;
  }

  /** A leave of absence: suspend every account now; the return enables them again (adopted, never recreated). */
  private async leave(event: HrEvent, entry: EventLogEntry, reject: Reject): Promise<DeliverEventResult> {
    const accepted = this.state.events.filter((e) => e.outcome === 'accepted');
    if (!accepted.some((e) => (e.kind === 'hire' || e.kind === 'rehire') && e.state === 'done')) {
      return reject('a leave needs a person whose hire has taken effect');
    }
    if (event.kind === 'leave_start' && this.onLeave()) return reject('this person is already on leave');
    if (event.kind === 'leave_end' && !this.onLeave()) return reject('this person is not on leave');
    const planned = await planExitEvent({ event });
    if (!planned.ok) return reject(planned.reason);
    const workflow = event.kind === 'leave_start' ? 'offboarding' : 'onboarding';
    return this.acceptAndQueue(event, entry, workflow, exitInput(event, planned));
  }

  private onLeave(): boolean {
    const accepted = this.state.events.filter((e) => e.outcome === 'accepted');
    return accepted.filter((e) => e.kind === 'leave_start' || e.kind === 'leave_end').at(-1)?.kind === 'leave_start';
  }

  /**
   * A change of record, compared with the last one accepted:
   * - a moved hire date re-arms the waiting onboarding (a date already past takes effect at once, flagged late);
   * - a moved exit date re-arms the waiting exit (earlier takes effect; past runs at once, late); an end date
   *   removed (a contractor converted to employee) cancels it; a new one schedules it;
   * - a new department, title, location, manager or employment type is a mover: the new role's access is granted
   *   at once, attributes are updated everywhere, and the old role's access is revoked after the grace period.
   * Nothing is applied unless every part can be: a part that cannot rejects the whole event.
   */
  private async change(event: HrEvent, entry: EventLogEntry, reject: Reject): Promise<DeliverEventResult> {
    const previous = this.state.record;
    const next = event.record;
    if (!previous || !this.lastHire()) return reject('there is no accepted hire for this person; send a hire first');
    if (this.hasLeft()) return reject('this person has left: a change cannot give access back; send a rehire');
    const cur = this.currentQueued;
    if (cur && isExitKind(cur.input.kind) && Date.now() >= Date.parse(cur.input.effectiveAt)) {
      return reject(`the exit ${cur.entry.eventId} is being carried out: the change is not applied`);
    }
    const hireMoved = next.hireDate !== previous.hireDate;
    const exitMoved = next.exitDate !== previous.exitDate || next.exitKind !== previous.exitKind;
    const role = roleChanges(previous, next);
    const hire = this.pendingHire();
    if (hireMoved && !hire && role.length === 0 && !exitMoved) {
      return reject('the hire already took effect; its date can no longer move');
    }
    if (role.length > 0 && this.onLeave()) {
      return reject('this person is on leave: send the change after their return (leave_end)');
    }
    if (event.repair && role.length === 0 && !hireMoved && !exitMoved && hasPatch(RECONCILE_REPAIR_PATCH)) {
      return this.repair(event, entry, reject, hire !== undefined);
    }

    // Plan every part first: a part that cannot be planned rejects the event with nothing changed.
    const hirePlan = hireMoved && hire ? await planEvent({ event }) : undefined;
    if (hirePlan && !hirePlan.ok) return reject(hirePlan.reason);
    const exit = exitMoved ? this.pendingExit() : undefined;
    const exitDated = next.exitDate !== undefined || next.exitKind === 'involuntary';
    const exitPlan =
      exitMoved && exitDated ? await planExitEvent({ event: { ...event, kind: 'termination' } }) : undefined;
    if (exitPlan && !exitPlan.ok) return reject(exitPlan.reason);
    const mover = role.length > 0 ? await planChangeEvent({ previous, event }) : undefined;
    if (mover && !mover.ok) return reject(mover.reason);
    // An exit now dated before a hire that has not started is a cancelled hire, never an exit queued behind it.
    if (hire && exitDated && (exitMoved || hireMoved)) {
      const exitAt = exitPlan?.ok ? exitPlan.effectiveAt : this.pendingExit()?.q.input.effectiveAt;
      const hireAt = hirePlan?.ok ? hirePlan.effectiveAt : hire.q.input.effectiveAt;
      if (exitAt !== undefined && this.exitBeforeStart(hire, next, exitAt, hireAt)) {
        return this.cancelHire(event, entry, reject, hire);
      }
    }

    const notes: string[] = [];
    if (hirePlan?.ok && hire) {
      const moved = await this.moveInstant(hire, hirePlan.effectiveAt, hirePlan.preProvisionAt);
      if (!moved.applied) {
        return reject(`the hire already took effect; its date can no longer move (${moved.reason ?? 'refused'})`);
      }
      hire.q.input.record = next;
      notes.push(`hire date moved from ${previous.hireDate} to ${next.hireDate}`);
    }
    let effectiveAt = hirePlan?.ok ? hirePlan.effectiveAt : undefined;
    let requeue: Queued | undefined;
    if (exitMoved && exit && !exitPlan) {
      this.supersede(exit);
      notes.push(`end date removed: the scheduled exit ${exit.q.entry.eventId} is cancelled`);
    } else if (exitPlan?.ok && exit) {
      const moved = await this.moveInstant(exit, exitPlan.effectiveAt, exitPlan.effectiveAt);
      if (!moved.applied) {
        return reject(
          `the exit ${exit.q.entry.eventId} has already started, its date can no longer move (${moved.reason ?? 'refused'})`,
        );
      }
      exit.q.input.record = next;
      effectiveAt = exitPlan.effectiveAt;
      const late = Date.parse(exitPlan.effectiveAt) < Date.now() ? ' (already past: at once, flagged late)' : '';
      notes.push(`exit moved to ${exitPlan.effectiveAt}${late}`);
      if (mover?.ok && mover.plan.steps.length > 0 && exit.running && Date.parse(exitPlan.effectiveAt) > Date.now()) {
        requeue = exit.q;
      }
    } else if (exitPlan?.ok && !exit && next.exitDate) {
      const q = await this.scheduleDerivedExit(event);
      if (q) notes.push(`exit scheduled for ${exitPlan.effectiveAt} (${q.entry.eventId})`);
      effectiveAt = exitPlan.effectiveAt;
    } else if (!exitMoved && mover?.ok && mover.plan.steps.length > 0) {
      // A change during a notice period: the waiting exit steps aside for the mover and waits again after it.
      const waiting = this.pendingExit();
      if (waiting?.running) requeue = waiting.q;
    }

    let workflowId: string | undefined;
    if (mover?.ok) {
      notes.push(...mover.changes);
      const pending = prunePending(this.state.pendingRevocations ?? [], mover.targets);
      if (mover.revocations.length > 0) {
        // Before the start date there is nothing to hand over: the old role's access goes right after the move.
        const dueAt = hire ? event.receivedAt : mover.graceEndsAt;
        pending.push({
          eventId: event.eventId,
          dueAt,
          revocations: mover.revocations,
          policyVersion: mover.plan.policyVersion,
        });
        notes.push(`old-role access revoked at ${dueAt}: ${mover.revocations.map(describeRevocation).join(', ')}`);
      }
      this.state.pendingRevocations = pending;
      if (mover.plan.steps.length > 0) {
        workflowId = eventWorkflowId(event.record.hrId, 'change', event.eventId);
        const q: Queued = {
          entry,
          workflow: 'role_change',
          input: {
            hrId: next.hrId,
            kind: 'change',
            eventId: event.eventId,
            record: next,
            plan: mover.plan,
            effectiveAt: event.receivedAt,
            receivedAt: event.receivedAt,
          },
        };
        // The move goes before any exit still queued: the exit then revokes the new role's access too.
        const firstExit = this.queue.findIndex((x) => x.workflow === 'offboarding');
        if (firstExit >= 0) this.queue.splice(firstExit, 0, q);
        else this.queue.push(q);
        if (requeue && requeue === this.currentQueued) {
          this.requeued = true;
          requeue.entry.state = 'queued';
          this.queue.splice(this.queue.indexOf(q) + 1, 0, requeue);
          this.currentScope?.cancel();
        }
      }
    }
    if (notes.length === 0) notes.push('nothing that affects access changed');
    this.accept(event, entry);
    entry.state = workflowId ? 'queued' : 'done';
    entry.workflowId = workflowId ?? hire?.q.entry.workflowId ?? exit?.q.entry.workflowId;
    // Keep the waiting runs' records current, so what they do uses the latest HR data.
    for (const q of this.queue) if (q.entry !== entry) q.input.record = next;
    return {
      outcome: 'accepted',
      eventId: event.eventId,
      reason: notes.join('; '),
      workflowId: entry.workflowId,
      ...(mover?.ok && mover.plan.steps.length > 0 ? { plan: summarizePlan(mover.plan) } : {}),
      ...(effectiveAt ? { effectiveAt } : {}),
      ...(hirePlan?.ok ? { preProvisionAt: hirePlan.preProvisionAt } : {}),
      ...(mover?.ok ? { policyVersion: mover.plan.policyVersion } : {}),
    };
  }

  /**
   * A reconciliation sent HR's current record back (see `RECONCILE_REPAIR_PATCH`): the repair run goes in the queue
   * like a mover's, ahead of any exit still queued.
   */
  private async repair(
    event: HrEvent,
    entry: EventLogEntry,
    reject: Reject,
    hirePending: boolean,
  ): Promise<DeliverEventResult> {
    if (hirePending) return reject('the hire has not taken effect yet: nothing to repair before it');
    if (this.onLeave()) return reject('this person is on leave: their accounts are off on purpose');
    const planned = await planRepairEvent({ event });
    if (!planned.ok) return reject(planned.reason);
    const skipped = planned.skipped.map((x) => `${x.systemId}: ${x.reason}`);
    this.accept(event, entry);
    if (planned.plan.steps.length === 0) {
      entry.state = 'done';
      return {
        outcome: 'accepted',
        eventId: event.eventId,
        reason: ['nothing to repair', ...skipped].join('; '),
        policyVersion: planned.plan.policyVersion,
      };
    }
    const q: Queued = {
      entry,
      workflow: 'role_change',
      input: {
        hrId: event.record.hrId,
        kind: 'change',
        eventId: event.eventId,
        record: event.record,
        plan: planned.plan,
        effectiveAt: event.receivedAt,
        receivedAt: event.receivedAt,
      },
    };
    const firstExit = this.queue.findIndex((x) => x.workflow === 'offboarding');
    if (firstExit >= 0) this.queue.splice(firstExit, 0, q);
    else this.queue.push(q);
    for (const other of this.queue) if (other.entry !== entry) other.input.record = event.record;
    return {
      outcome: 'accepted',
      eventId: event.eventId,
      workflowId: entry.workflowId,
      reason: ['reconciliation repair', ...skipped].join('; '),
      plan: summarizePlan(planned.plan),
      policyVersion: planned.plan.policyVersion,
    };
  }

  /** Accepts the event, queues its run, and answers with the plan summary. */
  private acceptAndQueue(
    event: HrEvent,
    entry: EventLogEntry,
    workflow: Queued['workflow'],
    input: OnboardingInput,
  ): DeliverEventResult {
    this.accept(event, entry);
    this.queue.push({ entry, workflow, input });
    return {
      outcome: 'accepted',
      eventId: event.eventId,
      workflowId: entry.workflowId,
      plan: summarizePlan(input.plan),
      effectiveAt: input.effectiveAt,
      policyVersion: input.plan.policyVersion,
    };
  }

  private accept(event: HrEvent, entry: EventLogEntry): void {
    entry.outcome = 'accepted';
    entry.state = 'queued';
    entry.workflowId = eventWorkflowId(event.record.hrId, event.kind, event.eventId);
    this.state.record = event.record;
    this.state.lastSourceUpdatedAt = event.record.sourceUpdatedAt;
  }

  // ── scheduled runs: grace-period revocations, retention deletion ──────────────────────────────────────────
  private nextDue(): string | undefined {
    const instants = [
      ...(this.state.pendingRevocations ?? []).map((p) => p.dueAt),
      ...(this.state.deletion ? [this.state.deletion.deleteAt] : []),
    ];
    if (instants.length === 0) return undefined;
    return instants.reduce((a, b) => (Date.parse(a) <= Date.parse(b) ? a : b));
  }

  /** Moves what is due into the queue, as runs Tenure derived (not sent by HR). */
  private queueDue(): void {
    const record = this.state.record;
    if (!record) return;
    const now = Date.now();
    for (const p of (this.state.pendingRevocations ?? []).filter((x) => Date.parse(x.dueAt) <= now)) {
      this.queueDerived(`${p.eventId}.grace`, 'change', {
        hrId: record.hrId,
        kind: 'grace_revocation',
        eventId: `${p.eventId}.grace`,
        record,
        plan: planRevocations(p.revocations, p.policyVersion),
        effectiveAt: p.dueAt,
      });
    }
    this.state.pendingRevocations = (this.state.pendingRevocations ?? []).filter((x) => Date.parse(x.dueAt) > now);
    const d = this.state.deletion;
    if (d && Date.parse(d.deleteAt) <= now) {
      this.queueDerived(`${d.eventId}.retention`, 'termination', {
        hrId: record.hrId,
        kind: 'retention',
        eventId: `${d.eventId}.retention`,
        record,
        plan: planRetentionDeletion(d.systems, d.idp, d.policyVersion),
        effectiveAt: d.deleteAt,
      });
      this.state.deletion = undefined;
    }
  }

  /** A run Tenure scheduled itself is due at its instant, never late for it. */
  private queueDerived(eventId: string, kind: EventLogEntry['kind'], input: OnboardingInput): void {
    input.receivedAt = input.effectiveAt;
    const entry: EventLogEntry = {
      eventId,
      kind,
      outcome: 'accepted',
      receivedAt: new Date().toISOString(),
      state: 'queued',
      derived: true,
      workflowId: eventWorkflowId(input.hrId, kind, eventId),
    };
    this.remember(entry);
    this.queue.push({ entry, workflow: 'offboarding', input });
  }

  async run(): Promise<void> {
    if (this.serial) await this.runSerial();
    else await this.runLegacy();
  }

  /**
   * Runs the queue one child at a time. Taking the next run and settling a finished one hold the lock, so a handler
   * never sees a run half-started or half-settled. Between runs: continue-as-new when the server suggests it, or
   * when the person's story is finished (to a small state, so an idle history stays bounded).
   */
  private async runSerial(): Promise<void> {
    for (;;) {
      const wake = (): boolean =>
        this.queue.length > 0 ||
        (allHandlersFinished() &&
          !this.lock.busy &&
          (workflowInfo().continueAsNewSuggested || (this.handledAny && !this.hasAccepted()) || this.shouldCompact()));
      const due = this.nextDue();
      if (due !== undefined) {
        const ms = Date.parse(due) - Date.now();
        if (ms > 0) await condition(wake, ms);
      } else {
        await condition(wake);
      }
      // Wrapped: the lock is released once the child has started, not when it ends.
      const started = await this.lock.run(() => {
        if (due !== undefined) this.queueDue();
        const next = this.queue.shift();
        return next ? { ended: this.startChild(next) } : undefined;
      });
      if (started) {
        await started.ended;
        continue;
      }
      if (!wake()) continue;
      if (!this.hasAccepted()) {
        log.info('no event accepted; entity ends');
        return;
      }
      if (this.shouldCompact()) {
        this.state.events = compactEvents(this.state.events);
        this.state.compactedAt = new Date().toISOString();
        log.info("the person's story is finished; continuing as new with a small state", { hrId: this.input.hrId });
      }
      await continueAsNewAtLevel({ hrId: this.input.hrId, state: this.state });
    }
  }

  /** Finished (left, nothing scheduled, queued, running or open) and changed since this run started. */
  private shouldCompact(): boolean {
    return (
      this.didWork &&
      storyFinished({
        events: this.state.events,
        pendingRevocations: this.state.pendingRevocations?.length ?? 0,
        deletionScheduled: this.state.deletion !== undefined,
        busy: this.queue.length > 0 || this.current !== undefined,
        openExceptions: this.state.exceptions?.length ?? 0,
      })
    );
  }

  /** Starts the run (called with the lock held); the promise settles it, with the lock, once the child ends. */
  private startChild(q: Queued): Promise<void> {
    const { entry, input, workflow } = q;
    const workflowId = entry.workflowId ?? eventWorkflowId(input.hrId, entry.kind, entry.eventId);
    this.current = workflowId;
    this.currentEntry = entry;
    this.currentQueued = q;
    entry.state = 'running';
    const scope = new CancellationScope();
    this.currentScope = scope;
    const inline = startedWith(INLINE_RUNS_PATCH) && runsInline(workflow, input, Date.now());
    const ran = inline ? this.carryOut(q, workflowId, scope) : this.runChild(q, workflowId, scope);
    return ran.then(
      () => this.lock.run(() => this.settle(q, workflowId)),
      (err: unknown) => this.lock.run(() => this.settle(q, workflowId, err)),
    );
  }

  private runChild(q: Queued, workflowId: string, scope: CancellationScope, input = q.input): Promise<unknown> {
    const { entry, workflow } = q;
    const priority = hasPatch(RUN_PRIORITY_PATCH) ? { priority: { priorityKey: RUN_PRIORITY } } : {};
    return scope.run(() =>
      executeChild(WORKFLOWS[workflow], {
        workflowId,
        args: [input],
        typedSearchAttributes: childSearchAttributes(entry, input),
        memo: codeLevelMemo(),
        ...priority,
      }),
    );
  }

  /**
   * Carries the run out here, with no workflow of its own (docs/decisions/0004): its steps' activities, SSO-first,
   * keyed by the run's id. A step that fails hands the run over: once the steps it does not hold up have finished, the
   * run starts as a workflow of its own under its id, where the exception waits for an operator as in any run.
   * Superseded (an exit during the hire), it is cancelled with the scope, as a child would be.
   */
  private async carryOut(q: Queued, workflowId: string, scope: CancellationScope): Promise<void> {
    q.entry.carriedOut = 'entity';
    const handedOver = await scope.run(async (): Promise<HandedOver | undefined> => {
      const run = inlineRun(q.input, { runWorkflowId: workflowId });
      this.keepInline(workflowId, run.status);
      try {
        await run.execute();
        return undefined;
      } catch (err) {
        if (!(err instanceof InlineHandOver) || scope.consideredCancelled) throw err;
        // Every other step has finished (`inlineRun`): the run of its own starts from all that was done.
        log.warn('a step of a run carried out by the entity failed; the run continues as a workflow of its own', {
          workflowId,
          stepId: err.stepId,
        });
        const snapshot = JSON.parse(JSON.stringify(run.status.steps)) as OnboardingStatus['steps'];
        return { stepId: err.stepId, steps: snapshot, ...(err.workEmail ? { workEmail: err.workEmail } : {}) };
      }
    });
    if (!handedOver) return;
    q.entry.carriedOut = 'handed_over';
    this.inlineRuns.delete(workflowId);
    await this.runChild(q, workflowId, scope, { ...q.input, handedOver });
  }

  /** The statuses of the runs this execution carries and carried out, the newest `MAX_INLINE_STATUSES` (`status`). */
  private keepInline(workflowId: string, status: OnboardingStatus): void {
    this.inlineRuns.delete(workflowId);
    this.inlineRuns.set(workflowId, status);
    for (const id of this.inlineRuns.keys()) {
      if (this.inlineRuns.size <= MAX_INLINE_STATUSES) break;
      this.inlineRuns.delete(id);
    }
  }

  /** Records how a run ended. A run that failed (could not start, or ended without completing) is an exception. */
  private settle(q: Queued, workflowId: string, err?: unknown): void {
    const { entry, input } = q;
    try {
      if (err === undefined) {
        entry.state = 'done';
        if (q.retention) {
          this.state.deletion = { eventId: entry.eventId, ...q.retention, policyVersion: input.plan.policyVersion };
        }
      } else if (this.requeued) {
        log.info('waiting run stepped aside for a change; it runs again after it', { workflowId });
      } else if (entry.state !== 'superseded') {
        entry.state = 'failed';
        const reason = failureText(err);
        log.warn('child workflow ended without completing; recorded as an exception', { workflowId, reason });
        this.recordException({
          eventId: entry.eventId,
          kind: 'run_failed',
          reason: `the run ${workflowId} ended without completing: ${reason}`,
          run: { workflow: q.workflow, input, ...(q.retention ? { retention: q.retention } : {}) },
        });
      } else {
        log.info('superseded run ended', { workflowId });
      }
    } finally {
      this.didWork = true;
      this.requeued = false;
      this.current = undefined;
      this.currentEntry = undefined;
      this.currentQueued = undefined;
      this.currentScope = undefined;
    }
  }

  // ── exceptions of the entity itself ───────────────────────────────────────────────────────────────────────
  private recordException(e: Omit<EntityException, 'id' | 'at'>): void {
    const open = this.state.exceptions ?? [];
    const id = exceptionId(
      e.eventId,
      open.map((x) => x.id),
    );
    open.push({ ...e, id, reason: e.reason.slice(0, MAX_REASON), at: new Date().toISOString() });
    if (open.length > MAX_ENTITY_EXCEPTIONS) {
      const dropped = open.splice(0, open.length - MAX_ENTITY_EXCEPTIONS);
      log.error('too many open entity exceptions; the oldest are dropped', { dropped: dropped.map((x) => x.id) });
    }
    this.state.exceptions = open;
    this.publishWaitingOn();
  }

  private publishWaitingOn(): void {
    upsertSearchAttributes([{ key: WAITING_ON, value: entityWaitingOn(this.state.exceptions?.length ?? 0) }]);
  }

  validateResolve(r: ResolveEntityExceptionInput): void {
    if (!this.serial) {
      throw ApplicationFailure.nonRetryable('this entity predates entity exceptions', 'NotSupported');
    }
    const e = (this.state.exceptions ?? []).find((x) => x.id === r?.id);
    if (!e) throw ApplicationFailure.nonRetryable(`no open exception "${String(r?.id)}"`, 'UnknownException');
    if (r.action !== 'retry' && r.action !== 'dismiss') {
      throw ApplicationFailure.nonRetryable(`"${String(r.action)}" is not retry or dismiss`, 'InvalidAction');
    }
    if (r.action === 'retry' && !e.run) {
      throw ApplicationFailure.nonRetryable(
        'there is no run to retry: the event was not decided; the sender sends it again',
        'NothingToRetry',
      );
    }
  }

  /** An operator retries (the run is queued again) or dismisses an open exception. */
  resolve(r: ResolveEntityExceptionInput): Promise<EmployeeStatus> {
    return this.lock.run(() => {
      const open = this.state.exceptions ?? [];
      const e = open.find((x) => x.id === r.id);
      if (!e) return this.status();
      this.state.exceptions = open.filter((x) => x !== e);
      log.info('entity exception resolved', { id: e.id, action: r.action, by: boundedKeyword(String(r.by), 80) });
      if (r.action === 'retry' && e.run) {
        let entry = this.state.events.find((x) => x.eventId === e.eventId && x.outcome === 'accepted');
        if (!entry) {
          entry = {
            eventId: e.eventId,
            kind: e.run.input.kind === 'grace_revocation' ? 'change' : 'termination',
            outcome: 'accepted',
            receivedAt: new Date().toISOString(),
            state: 'queued',
            derived: true,
          };
          this.remember(entry);
        }
        entry.state = 'queued';
        // The failed run is closed: its workflow id starts again.
        entry.workflowId ??= eventWorkflowId(e.run.input.hrId, entry.kind, e.eventId);
        this.queue.push({
          entry,
          workflow: e.run.workflow,
          input: e.run.input,
          ...(e.run.retention ? { retention: e.run.retention } : {}),
        });
      }
      this.publishWaitingOn();
      return this.status();
    });
  }

  /** The run loop of entities started before SERIAL_ENTITY_PATCH, unchanged. */
  private async runLegacy(): Promise<void> {
    for (;;) {
      const wake = (): boolean =>
        this.queue.length > 0 ||
        (allHandlersFinished() && (workflowInfo().continueAsNewSuggested || (this.handledAny && !this.hasAccepted())));
      const due = this.nextDue();
      if (due !== undefined && hasPatch(SCHEDULED_RUNS_PATCH)) {
        const ms = Date.parse(due) - Date.now();
        if (ms > 0) await condition(wake, ms);
        this.queueDue();
      } else {
        await condition(wake);
      }
      const next = this.queue.shift();
      if (next) {
        await this.runChildLegacy(next);
        continue;
      }
      if (due !== undefined && !wake()) continue;
      if (!this.hasAccepted()) {
        log.info('no event accepted; entity ends');
        return;
      }
      await continueAsNewAtLevel({ hrId: this.input.hrId, state: this.state });
    }
  }

  private hasAccepted(): boolean {
    return this.state.events.some((e) => e.outcome === 'accepted');
  }

  private async runChildLegacy(q: Queued): Promise<void> {
    const { entry, input, workflow } = q;
    const workflowId = entry.workflowId ?? eventWorkflowId(input.hrId, entry.kind, entry.eventId);
    this.current = workflowId;
    this.currentEntry = entry;
    this.currentQueued = q;
    entry.state = 'running';
    const scope = new CancellationScope();
    this.currentScope = scope;
    try {
      await scope.run(() =>
        executeChild(WORKFLOWS[workflow], {
          workflowId,
          args: [input],
          typedSearchAttributes: childSearchAttributes(entry, input),
          memo: codeLevelMemo(),
        }),
      );
      entry.state = 'done';
      if (q.retention && hasPatch(SCHEDULED_RUNS_PATCH)) {
        this.state.deletion = { eventId: entry.eventId, ...q.retention, policyVersion: input.plan.policyVersion };
      }
    } catch (err) {
      if (this.requeued) {
        log.info('waiting run stepped aside for a change; it runs again after it', { workflowId });
      } else if ((entry.state as EventLogEntry['state']) !== 'superseded') {
        entry.state = 'failed';
      }
      log.warn('child workflow ended without completing', { workflowId, state: entry.state, error: String(err) });
    } finally {
      this.requeued = false;
      this.current = undefined;
      this.currentEntry = undefined;
      this.currentQueued = undefined;
      this.currentScope = undefined;
    }
  }

  private remember(entry: EventLogEntry): void {
    this.state.events.push(entry);
    if (this.state.events.length > MAX_EVENT_LOG) this.state.events.splice(0, this.state.events.length - MAX_EVENT_LOG);
  }
}

function describeRevocation(r: { systemId: string; groups?: string[] }): string {
  return r.groups ? `${r.systemId} groups ${r.groups.join(', ')}` : `${r.systemId} account`;
}

/** Search attributes of a child run: bounded whatever the record holds, and never personal data. */
function childSearchAttributes(entry: EventLogEntry, input: OnboardingInput): SearchAttributePair[] {
  const effectiveAt = new Date(input.effectiveAt);
  return [
    { key: EMPLOYEE_ID, value: boundedKeyword(input.hrId) },
    { key: EVENT_KIND, value: entry.kind },
    // A late run starts at its instant's stage (the run takes it from there: STAGE_AT_START_PATCH).
    { key: STAGE, value: startStage(input, Date.now()) },
    ...(Number.isNaN(effectiveAt.getTime()) ? [] : [{ key: EFFECTIVE_AT, value: effectiveAt }]),
    { key: DEPARTMENT, value: departmentKey(input.record.department) },
  ];
}

/** What a failure says, for logs and exceptions: the innermost cause's message, bounded. */
function failureText(err: unknown): string {
  let e: unknown = err;
  for (let i = 0; i < 5 && e instanceof Error && e.cause instanceof Error; i++) e = e.cause;
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return text.slice(0, MAX_REASON);
}
