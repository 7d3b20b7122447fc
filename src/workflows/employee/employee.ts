import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  executeChild,
  getExternalWorkflowHandle,
  log,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { TenureActivities } from '../../activities';
import type { HrEvent } from '../../domain/employee';
import { eventWorkflowId } from '../../domain/ids';
import type { Plan } from '../../domain/plan';
import { summarizePlan } from '../../domain/plan';
import { DEPARTMENT, EFFECTIVE_AT, EMPLOYEE_ID, EVENT_KIND, STAGE } from '../search-attributes';
import { offboardingWorkflow, onboardingWorkflow } from '../onboarding/onboarding';
import { rescheduleSignal } from '../onboarding/messages';
import type { OnboardingInput } from '../onboarding/messages';
import type {
  DeliverEventResult,
  EmployeeState,
  EmployeeStatus,
  EmployeeWorkflowInput,
  EventLogEntry,
} from './messages';
import { deliverEventUpdate, employeeStatusQuery } from './messages';

/** Events remembered for duplicate detection and status. */
export const MAX_EVENT_LOG = 200;

const { planEvent, planExitEvent } = proxyLocalActivities<TenureActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3 },
});

interface Queued {
  entry: EventLogEntry;
  workflow: 'onboarding' | 'offboarding';
  input: OnboardingInput;
}

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
  };
}

/**
 * The entity workflow `employee/<hrId>`: one per person. It takes HR events through an Update,
 * answers accepted / duplicate / rejected, and runs one child workflow per accepted event, in order.
 */
export async function employeeWorkflow(input: EmployeeWorkflowInput): Promise<void> {
  const entity = new Employee(input);
  setHandler(employeeStatusQuery, () => entity.status());
  setHandler(deliverEventUpdate, (event: HrEvent) => entity.deliver(event), {
    validator: (event: HrEvent) => entity.validate(event),
  });
  await entity.run();
}

class Employee {
  private readonly state: EmployeeState;
  private readonly queue: Queued[] = [];
  private current?: string;
  private currentEntry?: EventLogEntry;
  private currentScope?: CancellationScope;
  private handledAny = false;

  constructor(private readonly input: EmployeeWorkflowInput) {
    this.state = input.state ?? { events: [] };
  }

  status(): EmployeeStatus {
    return { hrId: this.input.hrId, current: this.current, queued: this.queue.length, events: this.state.events };
  }

  validate(event: HrEvent): void {
    if (event.record.hrId !== this.input.hrId) {
      throw ApplicationFailure.nonRetryable(
        `event ${event.eventId} is for ${event.record.hrId}, not for ${this.input.hrId}`,
        'WrongEmployee',
      );
    }
  }

  async deliver(event: HrEvent): Promise<DeliverEventResult> {
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
      },
    });
    // A contractor's end date is known at hire: their exit is scheduled now.
    if (event.record.employmentType === 'contractor' && event.record.exitDate) {
      const exitEvent: HrEvent = { ...event, eventId: `${event.eventId}.exit`, kind: 'termination' };
      const exit = await planExitEvent({ event: exitEvent });
      if (exit.ok) {
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
        this.queue.push({ entry: exitEntry, workflow: 'offboarding', input: exitInput(exitEvent, exit) });
      }
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

  /**
   * A termination or a cancelled hire supersedes whatever has not finished: a queued or waiting onboarding is
   * cancelled (its partial work is undone by the exit, which finds accounts by HR key), queued exits are replaced.
   */
  private async exit(event: HrEvent, entry: EventLogEntry, reject: Reject): Promise<DeliverEventResult> {
    const events = this.state.events;
    const hire = events.filter((e) => (e.kind === 'hire' || e.kind === 'rehire') && e.outcome === 'accepted').at(-1);
    if (event.kind === 'cancel_hire') {
      if (!hire) return reject('there is no accepted hire to cancel');
      if (hire.state === 'done') return reject('the hire already took effect; send a termination instead');
    }
    const since = hire ? events.indexOf(hire) : -1;
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

    for (const q of this.queue.splice(0)) q.entry.state = 'superseded';
    if (this.currentEntry && this.currentEntry.state === 'running') {
      this.currentEntry.state = 'superseded';
      this.currentScope?.cancel();
    }
    return this.acceptAndQueue(event, entry, 'offboarding', exitInput(event, planned));
  }

  /** A leave of absence: suspend every account now; the return enables them again (adopted, never recreated). */
  private async leave(event: HrEvent, entry: EventLogEntry, reject: Reject): Promise<DeliverEventResult> {
    const accepted = this.state.events.filter((e) => e.outcome === 'accepted');
    if (!accepted.some((e) => (e.kind === 'hire' || e.kind === 'rehire') && e.state === 'done')) {
      return reject('a leave needs a person whose hire has taken effect');
    }
    const onLeave =
      accepted.filter((e) => e.kind === 'leave_start' || e.kind === 'leave_end').at(-1)?.kind === 'leave_start';
    if (event.kind === 'leave_start' && onLeave) return reject('this person is already on leave');
    if (event.kind === 'leave_end' && !onLeave) return reject('this person is not on leave');
    const planned = await planExitEvent({ event });
    if (!planned.ok) return reject(planned.reason);
    const workflow = event.kind === 'leave_start' ? 'offboarding' : 'onboarding';
    return this.acceptAndQueue(event, entry, workflow, exitInput(event, planned));
  }

  /**
   * A change of record. A moved hire date re-arms the waiting onboarding's timer (a date already past takes
   * effect at once, flagged late). Other changes (movers) are not handled yet and say so.
   */
  private async change(event: HrEvent, entry: EventLogEntry, reject: Reject): Promise<DeliverEventResult> {
    const previous = this.state.record;
    const waiting = this.currentEntry?.state === 'running' && this.currentEntry.kind !== 'termination';
    const queuedHire = this.queue.find((q) => q.workflow === 'onboarding');
    if (!previous || event.record.hireDate === previous.hireDate) {
      return reject('Tenure does not handle changes other than a moved hire date yet (movers are not supported)');
    }
    if (!waiting && !queuedHire) return reject('the hire already took effect; its date can no longer move');
    const planned = await planEvent({ event });
    if (!planned.ok) return reject(planned.reason);
    const target = queuedHire?.input ?? undefined;
    const r = { effectiveAt: planned.effectiveAt, preProvisionAt: planned.preProvisionAt };
    if (target) {
      target.effectiveAt = r.effectiveAt;
      target.preProvisionAt = r.preProvisionAt;
      target.record = event.record;
    } else if (this.current) {
      await getExternalWorkflowHandle(this.current).signal(rescheduleSignal, r);
    }
    entry.outcome = 'accepted';
    entry.state = 'done';
    entry.workflowId = target ? queuedHire?.entry.workflowId : this.current;
    this.state.record = event.record;
    this.state.lastSourceUpdatedAt = event.record.sourceUpdatedAt;
    return {
      outcome: 'accepted',
      eventId: event.eventId,
      reason: `hire date moved from ${previous.hireDate} to ${event.record.hireDate}`,
      workflowId: entry.workflowId,
      effectiveAt: r.effectiveAt,
      preProvisionAt: r.preProvisionAt,
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

  async run(): Promise<void> {
    for (;;) {
      await condition(
        () =>
          this.queue.length > 0 ||
          (allHandlersFinished() &&
            (workflowInfo().continueAsNewSuggested || (this.handledAny && !this.hasAccepted()))),
      );
      const next = this.queue.shift();
      if (next) {
        await this.runChild(next);
        continue;
      }
      if (!this.hasAccepted()) {
        log.info('no event accepted; entity ends');
        return;
      }
      await continueAsNew<typeof employeeWorkflow>({ hrId: this.input.hrId, state: this.state });
    }
  }

  private hasAccepted(): boolean {
    return this.state.events.some((e) => e.outcome === 'accepted');
  }

  private async runChild({ entry, input, workflow }: Queued): Promise<void> {
    const workflowId = entry.workflowId ?? eventWorkflowId(input.hrId, entry.kind, entry.eventId);
    this.current = workflowId;
    this.currentEntry = entry;
    entry.state = 'running';
    const scope = new CancellationScope();
    this.currentScope = scope;
    try {
      await scope.run(() =>
        executeChild(workflow === 'onboarding' ? onboardingWorkflow : offboardingWorkflow, {
          workflowId,
          args: [input],
          typedSearchAttributes: [
            { key: EMPLOYEE_ID, value: input.hrId },
            { key: EVENT_KIND, value: entry.kind },
            {
              key: STAGE,
              value: input.plan.steps.some((s) => s.phase === 'pre_provision') ? 'waiting_pre_provision' : 'waiting',
            },
            { key: EFFECTIVE_AT, value: new Date(input.effectiveAt) },
            { key: DEPARTMENT, value: input.record.department },
          ],
        }),
      );
      entry.state = 'done';
    } catch (err) {
      if ((entry.state as EventLogEntry['state']) !== 'superseded') entry.state = 'failed';
      log.warn('child workflow ended without completing', { workflowId, state: entry.state, error: String(err) });
    } finally {
      this.current = undefined;
      this.currentEntry = undefined;
      this.currentScope = undefined;
    }
  }

  private remember(entry: EventLogEntry): void {
    this.state.events.push(entry);
    if (this.state.events.length > MAX_EVENT_LOG) this.state.events.splice(0, this.state.events.length - MAX_EVENT_LOG);
  }
}
