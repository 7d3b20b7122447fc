import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { EmployeeRecord } from '../../domain/employee';
import type { Phase, Plan, StepAction } from '../../domain/plan';

export interface OnboardingInput {
  hrId: string;
  /** The HR event kind this run carries out. @default "hire" */
  kind?:
    | 'hire'
    | 'rehire'
    | 'termination'
    | 'cancel_hire'
    | 'leave_start'
    | 'leave_end'
    /** A mover's grants and attribute updates. */
    | 'change'
    /** A mover's grace period ended: the old role's access goes. */
    | 'grace_revocation'
    /** A leaver's retention period ended: the accounts are deleted. */
    | 'retention';
  eventId: string;
  record: EmployeeRecord;
  plan: Plan;
  /** ISO instant accounts are created, disabled (hire date − pre-provision days, at the activation time). */
  preProvisionAt?: string;
  /** ISO instant at which access turns on (hire date + activation time in the person's zone). */
  effectiveAt: string;
  /**
   * When Tenure learnt of the event (or, for a run it scheduled itself, its due instant). A run whose instant was
   * already past then is late. Absent in runs started before this field existed: their start time is used.
   */
  receivedAt?: string;
  /**
   * A run the person's entity began itself and handed over when a step failed (docs/decisions/0004): the steps as
   * they stood then. The run goes on from there: steps that succeeded are not run again, and the failed one is in
   * exception from the start, as if this run had tried it.
   */
  handedOver?: HandedOver;
}

export interface HandedOver {
  /** The step that failed. */
  stepId: string;
  steps: StepStatus[];
  /** The work email an earlier step allocated, if one did. */
  workEmail?: string;
}

/** A run of this kind takes access away (disables, deletes): at its instant its stage is `revoking`. */
export function runRevokes(kind: OnboardingInput['kind']): boolean {
  return (
    kind === 'termination' ||
    kind === 'cancel_hire' ||
    kind === 'leave_start' ||
    kind === 'grace_revocation' ||
    kind === 'retention'
  );
}

/**
 * The stage a run is started in (its `TenureStage` at start, set by the person's entity). A run whose instants have
 * both passed at `now` and that has steps at the instant is at that stage from its start (`activating`, `revoking`),
 * so a late run publishes its stage once instead of moving through `pre_provisioning` within its first task.
 */
export function startStage(input: OnboardingInput, now: number): OnboardingStage {
  const steps = input.plan.steps;
  const due = Date.parse(input.effectiveAt) <= now && Date.parse(input.preProvisionAt ?? input.effectiveAt) <= now;
  if (due && steps.some((s) => s.phase === 'activation')) return runRevokes(input.kind) ? 'revoking' : 'activating';
  return waitingStage(steps);
}

/** The stage of a run waiting for its first instant: pre-provisioning ahead, or only the instant itself. */
export function waitingStage(steps: readonly { phase: string }[]): OnboardingStage {
  return steps.some((s) => s.phase === 'pre_provision') ? 'waiting_pre_provision' : 'waiting';
}

/** `exception`: a permanent failure waiting for an operator to fix the cause and retry the step. */
export type StepState = 'pending' | 'running' | 'succeeded' | 'exception' | 'blocked' | 'skipped';

export interface StepStatus {
  id: string;
  action: StepAction;
  phase: Phase;
  systemId?: string;
  state: StepState;
  dependsOn: string[];
  groups?: string[];
  startedAt?: string;
  finishedAt?: string;
  /** Attempts started by the workflow (operator retries included; activity retries are not counted). */
  runs: number;
  /** What the system answered: created, adopted, activated, … */
  outcome?: string;
  /** The system's id for the account. */
  accountId?: string;
  error?: string;
  /** While in exception: the fix-and-retry task of the system's owners (`tenure tasks`), when there is one. */
  exceptionTask?: string;
  /** Slack ids of whoever that task waits on (the owners, or the fallback approvers). */
  exceptionOwners?: string[];
  /** When the step is abandoned if nobody fixes it. */
  abandonAt?: string;
}

/** Onboarding runs through all of these; an exit (offboarding) waits, then `revoking`. */
export type OnboardingStage =
  'waiting_pre_provision' | 'pre_provisioning' | 'waiting' | 'activating' | 'revoking' | 'completed';

export interface OnboardingStatus {
  hrId: string;
  eventId: string;
  stage: OnboardingStage;
  preProvisionAt: string;
  effectiveAt: string;
  /** The instant had already passed when the run reached it. */
  late: boolean;
  policyVersion: string;
  playbooks: string[];
  /** The work email the accounts use (from HR, or allocated by the naming convention). */
  workEmailAllocated?: boolean;
  startedAt: string;
  finishedAt?: string;
  /** Steps waiting for an operator: fix the cause, then `tenure retry <hrId> <stepId>`. */
  exceptions: string[];
  steps: StepStatus[];
}

export interface RescheduleInput {
  effectiveAt: string;
  preProvisionAt?: string;
  /** Sent by the entity: the run answers there (`rescheduleAnsweredSignal`) whether it took the move. */
  replyTo?: { workflowId: string; requestId: string };
}

export interface RetryStepInput {
  stepId: string;
}

export const onboardingStatusQuery = defineQuery<OnboardingStatus>('status');
/** Moves the instants a waiting onboarding runs at (a moved hire date). */
export const rescheduleUpdate = defineUpdate<OnboardingStatus, [RescheduleInput]>('reschedule');
/** Runs a step in `exception` again, after an operator fixed its cause. */
export const retryStepUpdate = defineUpdate<OnboardingStatus, [RetryStepInput]>('retryStep');
/** Re-plans a run that has not started any step with the policy the worker runs now. */
export const adoptCurrentPolicyUpdate = defineUpdate<OnboardingStatus, []>('adoptCurrentPolicy');
/**
 * The same move, sent by the person's entity workflow when HR changes a date (a workflow cannot await another's
 * Update): applied while the run is still waiting, ignored (and logged) once activation has started.
 */
export const rescheduleSignal = defineSignal<[RescheduleInput]>('rescheduleSignal');
