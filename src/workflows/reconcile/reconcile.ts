/**
 * One drift reconciliation (started by the `tenure-reconcile-<taskQueue>` Temporal Schedule, or `tenure drift run`):
 * the work is one activity (src/reconcile/activities.ts) that lists every system, classifies, reacts and keeps the
 * report as evidence; its id is the run's, so a retry is the same guarded batch and the same evidence keys.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { ReconcileActivities } from '../../reconcile/activities';
import type { DriftReport } from './types';

const { runReconcile } = proxyActivities<ReconcileActivities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '2 minutes',
  retry: { maximumAttempts: 5, initialInterval: '10 seconds' },
});

export async function reconcileWorkflow(): Promise<DriftReport> {
  return runReconcile({ runId: workflowInfo().workflowId });
}
