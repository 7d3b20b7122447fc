/**
 * One roster sync run (started by the `tenure-sync-<taskQueue>` Temporal Schedule, or `tenure sync run`): the work
 * is one activity (src/sync/activities.ts); its id is the run's, so a retry is the same guarded batch.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { SyncActivities } from '../../sync/activities';
import type { SyncSummary, SyncWorkflowInput } from './types';

const { runRosterSync } = proxyActivities<SyncActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { maximumAttempts: 5, initialInterval: '10 seconds' },
});

export async function syncWorkflow(input: SyncWorkflowInput = {}): Promise<SyncSummary> {
  return runRosterSync({ runId: workflowInfo().workflowId, ...(input.full === true ? { full: true } : {}) });
}
