import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { EmployeeRecord } from '../../domain/employee';
import type { Plan } from '../../domain/plan';

export interface OnboardingInput {
  hrId: string;
  eventId: string;
  record: EmployeeRecord;
  plan: Plan;
  /** ISO instant at which access turns on (hire date + activation time in the person's zone). */
  effectiveAt: string;
}

export type StepState = 'pending' | 'running' | 'succeeded' | 'failed' | 'blocked';

export interface StepStatus {
  id: string;
  systemId: string;
  action: string;
  state: StepState;
  dependsOn: string[];
  startedAt?: string;
  finishedAt?: string;
  /** What the system answered: created, adopted or updated. */
  outcome?: string;
  /** The system's id for the account. */
  accountId?: string;
  error?: string;
}

export type OnboardingStage = 'waiting' | 'provisioning' | 'completed' | 'completed_with_errors';

export interface OnboardingStatus {
  hrId: string;
  eventId: string;
  stage: OnboardingStage;
  effectiveAt: string;
  /** The instant had already passed when the run reached it. */
  late: boolean;
  policyVersion: string;
  startedAt: string;
  provisioningStartedAt?: string;
  finishedAt?: string;
  steps: StepStatus[];
}

export interface RescheduleInput {
  effectiveAt: string;
}

export const onboardingStatusQuery = defineQuery<OnboardingStatus>('status');
/** Moves the instant a waiting onboarding starts provisioning (a moved hire date). */
export const rescheduleUpdate = defineUpdate<OnboardingStatus, [RescheduleInput]>('reschedule');
