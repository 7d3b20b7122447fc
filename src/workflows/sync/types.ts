/** The sync workflow's contract types (zod-free, I/O-free). */
import type { HrEventKind } from '../../domain/employee';

export interface SyncRunInput {
  /** Stable per run (the workflow id): the guard's batch id and the evidence keys. */
  runId: string;
  /** Read the whole roster even in incremental mode (`tenure sync run --full`). */
  full?: boolean;
}

/** How a sync run is asked for (`tenure sync run [--full]`; the schedule passes nothing). */
export interface SyncWorkflowInput {
  full?: boolean;
}

export interface SyncSummary {
  runId: string;
  source: string;
  /** `incremental`: only who changed since `changedSince` was read (no vanished check). */
  mode: 'full' | 'incremental';
  changedSince?: string;
  /** When the newest full read of the roster started (this run's start when it is full). */
  lastFullAt: string;
  startedAt: string;
  finishedAt: string;
  /** People read from the roster (valid rows). */
  read: number;
  /** Rows that could not be records: the source's reference and what is wrong (field names, no values). */
  invalid: { ref: string; issues: string[] }[];
  /** People whose entity already holds what the roster says. */
  unchanged: number;
  /** Every difference, as the event sent. */
  planned: { hrId: string; kind: HrEventKind; eventId: string; fields: string[] }[];
  /** Delivery outcomes by name: accepted, duplicate, stale, held, failed, … */
  outcomes: Record<string, number>;
  held: boolean;
  holdId?: string;
  reasons: string[];
  /** People Tenure knows (not terminated) who are not in the roster: reported, never terminated by the sync. */
  vanished: { hrId: string; lastStatus: string }[];
  onVanished: 'report' | 'terminate_after_review';
  /** Under `terminate_after_review`: the hold that keeps the vanished people's terminations for review. */
  vanishedHoldId?: string;
}

/** The schedule of a task queue (one per deployment's queue), as the Temporal UI lists it. */
export function syncScheduleId(taskQueue: string): string {
  return `tenure-sync-${taskQueue}`;
}
