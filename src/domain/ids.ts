/** Workflow ids are built here and nowhere else (DESIGN §5). */
import type { HrEventKind } from './employee';

export const TASK_QUEUE = 'tenure';

export function employeeWorkflowId(hrId: string): string {
  return `employee/${hrId}`;
}

export function eventWorkflowId(hrId: string, kind: HrEventKind, eventId: string): string {
  return `employee/${hrId}/${kind}/${eventId}`;
}

/** Idempotency key for one step of one run: stable across activity retries. */
export function stepIdempotencyKey(workflowId: string, stepId: string): string {
  return `${workflowId}#${stepId}`;
}
