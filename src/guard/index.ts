import type { Client } from '@temporalio/client';
import type { HrEvent } from '../domain/employee';
import type { Policy } from '../domain/policy';
import { deliverHrEvent } from '../client/deliver';
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
}

export interface GuardedDelivery {
  /** True when the guard held the batch (or part of it): nothing held has run. */
  held: boolean;
  holdId?: string;
  /** Which thresholds were crossed, in words. */
  reasons: string[];
  /** Each delivered event's answer; held events have none. */
  results: { eventId: string; result?: DeliverEventResult; held?: true }[];
}

/**
 * Every path that changes access delivers through here, so the mass-change guard sees it. Placeholder: delivers
 * everything until the guard is built (issue 14, item 4).
 */
export async function deliverGuarded(
  client: Client,
  taskQueue: string,
  _policy: Policy,
  batch: GuardBatch,
): Promise<GuardedDelivery> {
  const results: GuardedDelivery['results'] = [];
  for (const event of batch.events) {
    results.push({ eventId: event.eventId, result: await deliverHrEvent(client, taskQueue, event) });
  }
  return { held: false, reasons: [], results };
}
