/**
 * The checkpoint workflow as the second place audit checkpoints go (issue 16): the checkpointer signals each one
 * (signal-with-start, so the first checkpoint starts the workflow), and `tenure audit verify` asks for the latest.
 */
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { AuditCheckpoint, CheckpointAnchor } from '../activities/audit/checkpoint';
import {
  auditCheckpointWorkflowId,
  checkpointSignal,
  latestCheckpointQuery,
} from '../workflows/audit-checkpoint/messages';

export interface WorkflowAnchorOptions {
  client: Client;
  /** The worker's task queue, where the workflow runs. */
  taskQueue: string;
  /** @default `tenure/audit-checkpoints` */
  workflowId?: string;
  /** How long a query may take (a worker must answer it). @default 10000 */
  timeoutMs?: number;
}

/** The latest checkpoint in the workflow's history, or undefined when the workflow does not exist or has none. */
export async function workflowLatestCheckpoint(
  client: Client,
  opts: { workflowId?: string; timeoutMs?: number } = {},
): Promise<AuditCheckpoint | undefined> {
  const handle = client.workflow.getHandle(opts.workflowId ?? auditCheckpointWorkflowId());
  try {
    const latest = await client.withDeadline(Date.now() + (opts.timeoutMs ?? 10_000), () =>
      handle.query(latestCheckpointQuery),
    );
    return latest ?? undefined;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** A CheckpointAnchor on the checkpoint workflow. */
export function workflowAnchor(opts: WorkflowAnchorOptions): CheckpointAnchor {
  const workflowId = opts.workflowId ?? auditCheckpointWorkflowId();
  return {
    latest: () =>
      workflowLatestCheckpoint(opts.client, {
        workflowId,
        ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      }),
    async record(c) {
      await opts.client.workflow.signalWithStart('auditCheckpointWorkflow', {
        workflowId,
        taskQueue: opts.taskQueue,
        args: [{}],
        signal: checkpointSignal,
        signalArgs: [c],
      });
    },
  };
}
