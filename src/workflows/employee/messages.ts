import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { EmployeeRecord, HrEvent, HrEventKind } from '../../domain/employee';
import type { PendingRevocations } from '../../domain/plan-change';
import type { OnboardingInput, OnboardingStatus } from '../onboarding/messages';

export interface EmployeeWorkflowInput {
  hrId: string;
  /** Carried across continue-as-new. */
  state?: EmployeeState;
}

export type EventOutcome = 'accepted' | 'duplicate' | 'rejected';

/** The entity's synchronous answer to an HR event. */
export interface DeliverEventResult {
  outcome: EventOutcome;
  eventId: string;
  /** Why an event was rejected, or what it duplicates. */
  reason?: string;
  /** The child workflow that carries the event out. */
  workflowId?: string;
  /** One line per planned step. */
  plan?: string[];
  effectiveAt?: string;
  preProvisionAt?: string;
  policyVersion?: string;
  playbooks?: string[];
  /** Set by the intake's answer: the instant had already passed when the event arrived (the run starts at once). */
  late?: boolean;
}

export interface EventLogEntry {
  eventId: string;
  kind: HrEventKind;
  outcome: EventOutcome;
  reason?: string;
  workflowId?: string;
  receivedAt: string;
  /** `superseded`: a later event (an exit, a cancelled hire) replaced it before it finished. */
  state: 'queued' | 'running' | 'done' | 'failed' | 'rejected' | 'superseded';
  /** Derived by Tenure (a contractor's end date, a grace period or a retention period ending), not sent by HR. */
  derived?: boolean;
  /**
   * How the run was carried out: `entity` by the person's entity itself, with no workflow of its own (a hire due
   * when it started, with nobody to wait for; docs/decisions/0004), `handed_over` begun so and then continued as a
   * workflow of its own (`workflowId`) when a step failed. Absent: a workflow of its own from the start.
   */
  carriedOut?: 'entity' | 'handed_over';
}

/** A leaver's accounts, deleted when the retention period ends (policy `timing.retention`). */
export interface ScheduledDeletion {
  /** The exit it follows. */
  eventId: string;
  deleteAt: string;
  /** Deletion order: apps, then the identity provider. */
  systems: string[];
  idp: string;
  policyVersion: string;
}

export interface EmployeeState {
  record?: EmployeeRecord;
  lastSourceUpdatedAt?: string;
  /** Most recent events first is not guaranteed; bounded to the last MAX_EVENT_LOG entries. */
  events: EventLogEntry[];
  /** A mover's old-role access, revoked when each grace period ends. */
  pendingRevocations?: PendingRevocations[];
  /** A leaver's accounts, deleted when the retention period ends; a rehire cancels it. */
  deletion?: ScheduledDeletion;
  /** What went wrong in the entity itself and waits for an operator (`resolveEntityException`). */
  exceptions?: EntityException[];
  /** Set when the person's story was finished and the state was compacted (continue-as-new to a small state). */
  compactedAt?: string;
}

/**
 * A failure of the entity itself, never thrown out of workflow code: a child run that could not start or ended
 * without completing, or an event the entity could not decide. The entity keeps running with its state; operators
 * find it by `TenureWaitingOn = "operator:entity"` and retry or dismiss it.
 */
export interface EntityException {
  /** Unique within the entity: `<eventId>` of the run or event it concerns, with `#n` when it repeats. */
  id: string;
  eventId: string;
  kind: 'run_failed' | 'handler_failed';
  reason: string;
  at: string;
  /** The run to start again on `retry` (absent for a failed handler: the sender retries the event). */
  run?: {
    workflow: 'onboarding' | 'offboarding' | 'role_change';
    input: OnboardingInput;
    retention?: { deleteAt: string; systems: string[]; idp: string };
  };
}

export interface ResolveEntityExceptionInput {
  id: string;
  /** `retry`: queue the run again (after the cause was fixed); `dismiss`: close it, nothing runs. */
  action: 'retry' | 'dismiss';
  /** Who resolved it, for the log: `cli:<name>` or `slack:<user id>`. */
  by: string;
}

/** The waiting run's answer to a moved instant the entity sent (`rescheduleSignal` with `replyTo`). */
export interface RescheduleAnswer {
  requestId: string;
  applied: boolean;
  reason?: string;
}

/** A run the entity has queued and not started yet, in the order it will start. */
export interface QueuedRun {
  eventId: string;
  kind: HrEventKind;
  /** The workflow id it will start with. */
  workflowId?: string;
  /** When it takes effect (the hire or exit instant, or when it was received). */
  effectiveAt: string;
  derived?: boolean;
}

export interface EmployeeStatus {
  hrId: string;
  current?: string;
  queued: number;
  /** The queued runs, in order (absent from entities whose workers predate it). */
  queue?: QueuedRun[];
  events: EventLogEntry[];
  /** What is scheduled and not yet queued: grace-period revocations and retention deletion. */
  pendingRevocations: PendingRevocations[];
  deletion?: ScheduledDeletion;
  /** The record last accepted (newest `sourceUpdatedAt`). */
  record?: EmployeeRecord;
  lastSourceUpdatedAt?: string;
  /** Open exceptions of the entity itself (not of its runs' steps). */
  exceptions: EntityException[];
  /**
   * The status of each run this execution of the entity carried out itself, by the run's workflow id (the last ones,
   * since the entity last continued as new): what a run of its own answers to its status query or as its result.
   */
  inlineRuns?: Record<string, OnboardingStatus>;
}

export const deliverEventUpdate = defineUpdate<DeliverEventResult, [HrEvent]>('deliverEvent');
export const employeeStatusQuery = defineQuery<EmployeeStatus>('status');
/** Retries or dismisses an open exception of the entity (see `EntityException`). */
export const resolveEntityExceptionUpdate = defineUpdate<EmployeeStatus, [ResolveEntityExceptionInput]>(
  'resolveEntityException',
);
/** Sent by a waiting run to the entity: whether a moved instant was applied (refused once activation started). */
export const rescheduleAnsweredSignal = defineSignal<[RescheduleAnswer]>('rescheduleAnswered');
