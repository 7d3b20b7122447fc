import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { EmployeeRecord, HrEvent, HrEventKind } from '../../domain/employee';
import type { PendingRevocations } from '../../domain/plan-change';

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
}

export interface EmployeeStatus {
  hrId: string;
  current?: string;
  queued: number;
  events: EventLogEntry[];
  /** What is scheduled and not yet queued: grace-period revocations and retention deletion. */
  pendingRevocations: PendingRevocations[];
  deletion?: ScheduledDeletion;
}

export const deliverEventUpdate = defineUpdate<DeliverEventResult, [HrEvent]>('deliverEvent');
export const employeeStatusQuery = defineQuery<EmployeeStatus>('status');
