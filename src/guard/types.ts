/** The guard's contract types (zod-free, I/O-free: the guard workflow imports them). */
import type { EmployeeRecord, HrEvent } from '../domain/employee';
import type { DeliverEventResult } from '../workflows/employee/messages';

/** The path a set of changes came by: each has its own thresholds and rolling counts. */
export type GuardPath = 'webhook' | 'import' | 'sync' | 'reconcile' | 'policy';

/** A change that is not an HR event: an account action on one system (a reconciliation fix for an orphan). */
export interface AccountAction {
  type: 'account_action';
  systemId: string;
  accountId: string;
  action: 'disable' | 'delete';
  /** Why, in words, for the evidence (no personal data). */
  reason: string;
}

/** What a run (a sync, an import, a reconciliation, one webhook) asks to change, as one batch. */
export interface GuardBatch {
  path: GuardPath;
  /** Stable per run (a schedule's run id, the import's file hash, the webhook's event id): a retry is the same batch. */
  batchId: string;
  /** How many people (or accounts) the percentage thresholds are of; absent: counted by the guard. */
  population?: number;
  events: HrEvent[];
  actions?: AccountAction[];
  /**
   * The record each person's entity last accepted, by HR id, so a change is planned as a mover (revocations).
   * Absent on a batch path (not `webhook`): the guard asks each changed person's entity.
   */
  previous?: Record<string, EmployeeRecord>;
  /**
   * Hold every event and action of the batch for an operator's review, whatever the thresholds say, with this reason
   * in words (no personal data): nothing in it runs until `tenure guard release`.
   */
  review?: string;
}

export interface GuardedDelivery {
  /** True when the guard held the batch (or part of it): nothing held has run. */
  held: boolean;
  holdId?: string;
  /** Which thresholds were crossed, in words. */
  reasons: string[];
  /** Each delivered event's answer; held events have none. */
  results: { eventId: string; result?: DeliverEventResult; held?: true; error?: string }[];
  /** What each admitted account action did (absent when there were none, or they were held). */
  actionResults?: {
    systemId: string;
    accountId: string;
    action: AccountAction['action'];
    outcome: 'disabled' | 'deleted' | 'failed';
    reason?: string;
  }[];
}
