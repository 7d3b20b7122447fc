import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { HrEvent } from '../../domain/employee';
import type { GuardSettings, Impact, WindowEntry } from '../../domain/guard-thresholds';
import type { AccountAction, GuardPath } from '../../guard/types';

/** The one guard workflow of a deployment (one task queue). */
export const GUARD_WORKFLOW_ID = 'tenure-guard';

/** `tenure-guard` on the task queue `tenure`; `tenure-guard/<taskQueue>` on any other (tests, several deployments). */
export function guardWorkflowId(taskQueue: string): string {
  return taskQueue === 'tenure' ? GUARD_WORKFLOW_ID : `${GUARD_WORKFLOW_ID}/${taskQueue}`;
}

export type HoldStatus = 'held' | 'releasing' | 'released' | 'discarded';

/** A held set of changes: nothing in it has run. */
export interface Hold {
  holdId: string;
  path: GuardPath;
  /** The batches held in it (a webhook burst gathers many one-event batches into one hold). */
  batchIds: string[];
  status: HoldStatus;
  heldAt: string;
  /** Each threshold crossed, in words. */
  reasons: string[];
  population: number;
  /** What the held changes take away. */
  impact: Impact;
  events: HrEvent[];
  actions: AccountAction[];
  /** True for a rolling-hour hold that later changes on the same path join while it is open. */
  gathering: boolean;
  decidedBy?: string;
  decidedAt?: string;
  /** Why it was discarded, when the operator said. */
  note?: string;
  /** The outcome of a release: how many events were delivered and actions done. */
  released?: ReleaseSummary;
}

/** A hold as `tenure guard list` shows it: counts, no records. */
export interface HoldSummary {
  holdId: string;
  path: GuardPath;
  status: HoldStatus;
  heldAt: string;
  reasons: string[];
  population: number;
  impact: Impact;
  events: number;
  actions: number;
  batches: number;
  decidedBy?: string;
  decidedAt?: string;
  note?: string;
  released?: ReleaseSummary;
}

/** One held change as `tenure guard show` lists it: ids and kinds, no names. */
export interface HoldItem {
  type: 'hr_event' | 'account_action';
  eventId?: string;
  hrId?: string;
  kind?: string;
  systemId?: string;
  accountId?: string;
  action?: string;
}

export interface HoldDetail extends HoldSummary {
  items: HoldItem[];
}

export interface AdmitInput {
  path: GuardPath;
  batchId: string;
  population: number;
  settings: GuardSettings;
  /** What the changes below take away. */
  impact: Impact;
  events: HrEvent[];
  actions: AccountAction[];
}

export interface AdmitAnswer {
  decision: 'admitted' | 'held';
  holdId?: string;
  reasons: string[];
  /** For an admitted batch with account actions: what each did. */
  actionResults?: AccountActionResult[];
  /** The same batch was admitted before (a retry): this is that decision. */
  repeated?: boolean;
}

export interface AccountActionResult {
  systemId: string;
  accountId: string;
  action: AccountAction['action'];
  outcome: 'disabled' | 'deleted' | 'failed';
  reason?: string;
}

export interface ReleaseSummary {
  delivered: number;
  accepted: number;
  duplicate: number;
  rejected: number;
  failed: number;
  actions: AccountActionResult[];
}

export interface DecideHoldInput {
  holdId: string;
  /** Who decided, for the evidence: `cli:<name>`. */
  by: string;
  note?: string;
}

export interface GuardWorkflowInput {
  /** Carried across continue-as-new. */
  state?: GuardState;
}

export interface GuardState {
  holds: Hold[];
  window: WindowEntry[];
  /** Recent batch decisions, so a retried admit gets the same answer. */
  decided: { batchId: string; answer: AdmitAnswer }[];
  nextHold: number;
}

export const admitUpdate = defineUpdate<AdmitAnswer, [AdmitInput]>('admit');
export const releaseHoldUpdate = defineUpdate<HoldSummary, [DecideHoldInput]>('release');
export const discardHoldUpdate = defineUpdate<HoldSummary, [DecideHoldInput]>('discard');
/** Every hold kept (open ones and the most recent closed ones), newest first. */
export const holdsQuery = defineQuery<HoldSummary[]>('holds');
export const holdQuery = defineQuery<HoldDetail | null, [string]>('hold');
