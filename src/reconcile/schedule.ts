/**
 * The drift reconciliation as a Temporal Schedule, created or updated idempotently (worker start, `tenure setup`):
 * id `tenure-reconcile-<taskQueue>`, the policy's cron and time zone, one run at a time.
 */
import type { Client } from '@temporalio/client';
import { ensureSchedule } from '../app/schedules';
import type { ReconcilePolicy } from '../domain/policy-reconcile';
import type { DriftReport } from '../workflows/reconcile/types';
import { reconcileRunWorkflowId, reconcileScheduleId } from '../workflows/reconcile/types';

export { reconcileScheduleId };

export function ensureReconcileSchedule(
  client: Client,
  taskQueue: string,
  reconcile: ReconcilePolicy,
): Promise<{ scheduleId: string; outcome: 'created' | 'updated' }> {
  return ensureSchedule(client, {
    scheduleId: reconcileScheduleId(taskQueue),
    cron: reconcile.schedule.cron,
    timeZone: reconcile.schedule.timeZone,
    workflowType: 'reconcileWorkflow',
    workflowId: reconcileRunWorkflowId(taskQueue),
    taskQueue,
    enabled: reconcile.enabled,
    note: 'Tenure: drift reconciliation (HR against every system)',
  });
}

/** Runs a reconciliation now, as its own workflow (id per trigger), and answers its report. */
export async function runReconcileNow(client: Client, taskQueue: string): Promise<DriftReport> {
  return client.workflow.execute('reconcileWorkflow', {
    taskQueue,
    workflowId: `${reconcileRunWorkflowId(taskQueue)}-manual-${new Date().toISOString().replace(/[:.]/g, '')}`,
    args: [],
  }) as Promise<DriftReport>;
}
