import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  executeChild,
  log,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { TenureActivities } from '../../activities';
import type { HrEvent } from '../../domain/employee';
import { eventWorkflowId } from '../../domain/ids';
import { summarizePlan } from '../../domain/plan';
import { DEPARTMENT, EFFECTIVE_AT, EMPLOYEE_ID, EVENT_KIND, STAGE } from '../search-attributes';
import { onboardingWorkflow } from '../onboarding/onboarding';
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

const { planEvent } = proxyLocalActivities<TenureActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3 },
});

interface Queued {
  entry: EventLogEntry;
  input: OnboardingInput;
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
    if (event.kind !== 'hire') {
      return reject(`Tenure does not handle "${event.kind}" events yet`);
    }
    if (this.state.events.some((e) => e.kind === 'hire' && e.outcome === 'accepted')) {
      return reject('this person already has an accepted hire; send a change event to move it');
    }

    const planned = await planEvent({ event });
    if (!planned.ok) return reject(planned.reason);

    const workflowId = eventWorkflowId(event.record.hrId, event.kind, event.eventId);
    entry.outcome = 'accepted';
    entry.state = 'queued';
    entry.workflowId = workflowId;
    this.state.record = event.record;
    this.state.lastSourceUpdatedAt = event.record.sourceUpdatedAt;
    this.queue.push({
      entry,
      input: {
        hrId: event.record.hrId,
        eventId: event.eventId,
        record: event.record,
        plan: planned.plan,
        effectiveAt: planned.effectiveAt,
      },
    });
    return {
      outcome: 'accepted',
      eventId: event.eventId,
      workflowId,
      plan: summarizePlan(planned.plan),
      effectiveAt: planned.effectiveAt,
      policyVersion: planned.plan.policyVersion,
    };
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

  private async runChild({ entry, input }: Queued): Promise<void> {
    const workflowId = entry.workflowId ?? eventWorkflowId(input.hrId, entry.kind, entry.eventId);
    this.current = workflowId;
    entry.state = 'running';
    try {
      await executeChild(onboardingWorkflow, {
        workflowId,
        args: [input],
        typedSearchAttributes: [
          { key: EMPLOYEE_ID, value: input.hrId },
          { key: EVENT_KIND, value: entry.kind },
          { key: STAGE, value: 'waiting' },
          { key: EFFECTIVE_AT, value: new Date(input.effectiveAt) },
          { key: DEPARTMENT, value: input.record.department },
        ],
      });
      entry.state = 'done';
    } catch (err) {
      entry.state = 'failed';
      log.error('child workflow failed', { workflowId, error: String(err) });
    } finally {
      this.current = undefined;
    }
  }

  private remember(entry: EventLogEntry): void {
    this.state.events.push(entry);
    if (this.state.events.length > MAX_EVENT_LOG) this.state.events.splice(0, this.state.events.length - MAX_EVENT_LOG);
  }
}
