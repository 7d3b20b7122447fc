/** The reconcile workflow's contract types (zod-free, I/O-free). */
import type { DriftReaction, DriftSituation } from '../../domain/policy-reconcile';

export interface ReconcileRunInput {
  /** Stable per run (the workflow id): the guard's batch id, the evidence keys, the repair events' ids. */
  runId: string;
}

/** One finding as the report lists it: ids and field names, never names or e-mails. */
export interface DriftFinding {
  situation: Exclude<DriftSituation, 'matching'>;
  systemId: string;
  hrId?: string;
  accountId?: string;
  active?: boolean;
  fields?: string[];
  missing?: 'absent' | 'inactive';
  hrIds?: string[];
  accountIds?: string[];
  via?: 'hr_key' | 'email';
  /** The policy's reaction to this situation. */
  reaction: DriftReaction;
  /**
   * What the reaction did: `reported`; `disabled` / `held` / `failed` (a guarded disable); `sent` / `duplicate` /
   * `rejected` / `held` (the record sent back through the entity); `task_opened` / `task_unavailable`; `skipped`
   * (nothing to do, e.g. an orphan already inactive).
   */
  outcome: string;
  /** Why, when the reaction could not be carried out. */
  reason?: string;
  /** When this finding was first seen (carried from earlier reports while it stays unresolved). */
  firstSeenAt: string;
}

export interface SystemDrift {
  systemId: string;
  accounts: number;
  /** How many accounts (or person-system pairs) per situation, `matching` included. */
  counts: Partial<Record<DriftSituation, number>>;
  /** The oldest unresolved finding's age in seconds (0 when the system matches HR). */
  lagSeconds: number;
  /** When that oldest finding was first seen. */
  oldestSince?: string;
}

export interface DriftReport {
  runId: string;
  startedAt: string;
  finishedAt: string;
  /** HR people compared (their entities' last accepted records). */
  people: number;
  systems: SystemDrift[];
  /** Totals per situation over every system. */
  totals: Partial<Record<DriftSituation, number>>;
  /** Every finding (the audit store's copy is complete; a run's answer is cut at {@link MAX_FINDINGS_IN_ANSWER}). */
  findings: DriftFinding[];
  /** How many findings were left out of this copy. */
  findingsOmitted: number;
  /** The mass-change guard's answer to the run's fixes. */
  guard?: { held: boolean; holdId?: string; reasons: string[] };
  /** The guard's answer to disabling what the policy no longer grants (`not_granted` fixes, path `policy`). */
  policyGuard?: { held: boolean; holdId?: string; reasons: string[] };
  /** People who converged since the last run: HR change to the last step, seconds. */
  converged: { hrId: string; eventId: string; seconds: number }[];
  /** Systems that could not be listed, with the error's classification: nothing about them is concluded. */
  unreachable: { systemId: string; error: string }[];
}

/** A run's answer to its workflow stays far below Temporal's 2 MB payload limit. */
export const MAX_FINDINGS_IN_ANSWER = 500;

/** The schedule of a task queue (one per deployment's queue), as the Temporal UI lists it. */
export function reconcileScheduleId(taskQueue: string): string {
  return `tenure-reconcile-${taskQueue}`;
}

/** The workflow id of the runs the schedule starts (Temporal appends the scheduled time). */
export function reconcileRunWorkflowId(taskQueue: string): string {
  return `tenure-reconcile-run-${taskQueue}`;
}
