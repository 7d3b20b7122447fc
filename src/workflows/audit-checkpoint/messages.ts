import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { AuditCheckpoint } from '../../activities/audit/checkpoint';

export type { AuditCheckpoint } from '../../activities/audit/checkpoint';

/** The one checkpoint workflow of a deployment (one audit store). */
export const AUDIT_CHECKPOINT_WORKFLOW_ID = 'tenure/audit-checkpoints';

/** The checkpoint workflow's id: `tenure/audit-checkpoints`, or `tenure/audit-checkpoints/<scope>` (tests, several stores). */
export function auditCheckpointWorkflowId(scope?: string): string {
  return scope ? `${AUDIT_CHECKPOINT_WORKFLOW_ID}/${scope}` : AUDIT_CHECKPOINT_WORKFLOW_ID;
}

export interface AuditCheckpointWorkflowInput {
  /** The latest checkpoint, carried over continue-as-new. */
  latest?: AuditCheckpoint;
  /** Continue as new after this many signals (or sooner, when the server suggests it). @default 500 */
  signalsPerRun?: number;
}

/** A signed checkpoint, as written to the checkpoint directory. Older or equal ones (retries) are ignored. */
export const checkpointSignal = defineSignal<[AuditCheckpoint]>('checkpoint');

/** The latest checkpoint received, or null before the first. */
export const latestCheckpointQuery = defineQuery<AuditCheckpoint | null>('latestCheckpoint');
