import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { SlackMessageRef } from '../approval/messages';

export type { SlackMessageRef } from '../approval/messages';

export interface ManualTaskInput {
  /** `<hrId>/<eventId>/<systemId>/<action>` (see `manualTaskId`); `tenure task complete <taskId>`. */
  taskId: string;
  hrId: string;
  systemId: string;
  systemName: string;
  /**
   * `transfer_data`: hand a leaver's data in the app to their manager; `fix_exception`: fix the cause of a step that
   * failed permanently, then Done retries it.
   */
  action: 'create_account' | 'disable_account' | 'transfer_data' | 'fix_exception';
  /** What the owner must do, in words (no personal data beyond what the owner needs). */
  instructions: string;
  /** Slack user ids of the app's owners. */
  owners: string[];
  /** Slack user ids told (and allowed to complete) once the task is escalated. */
  escalateTo: string[];
  /** How long the owners have before escalation, ms. */
  slaMs: number;
  reminderEveryMs: number;
  /** When the app can be read, completion is checked by reading it before the task closes. */
  verify: boolean;
  /** The login name the account has (or had) in the app, to find it when verifying. */
  accountUserName?: string;
}

/**
 * `verifying`: a completion is being checked by reading the app; `verification_failed`: the last completion did not
 * show in the app, the task is open again.
 */
export type TaskState = 'open' | 'escalated' | 'verifying' | 'verification_failed' | 'done' | 'cancelled';

export interface TaskCompletion {
  /** `slack:<userId>` (from a verified Slack payload) or `cli:<operator name>`. */
  by: string;
  note?: string;
}

export interface ManualTaskStatus {
  taskId: string;
  hrId: string;
  systemId: string;
  action: ManualTaskInput['action'];
  state: TaskState;
  openedAt: string;
  /** When the current wait escalates (absent once escalated or closed). */
  deadline?: string;
  completedAt?: string;
  /** `slack:<userId>` or `cli:<name>`. */
  completedBy?: string;
  /** The update id of the accepted completion. */
  completionId?: string;
  /** What reading the app showed for the accepted completion. `unverifiable`: the app cannot be read. */
  verification?: 'verified' | 'unverifiable';
  reminders: number;
  escalatedAt?: string;
  /** Completions tried so far; each failed verification starts a new round (a new Done button). */
  round: number;
  /** Why the last completion did not close the task. */
  verificationError?: string;
  messages: SlackMessageRef[];
  owners: string[];
  escalateTo: string[];
  /** Who may complete it now (Slack user ids); operators may always complete from the CLI. */
  waitingOn: string[];
}

export const taskStatusQuery = defineQuery<ManualTaskStatus>('status');
/**
 * Marks the task done. The validator refuses people who are not owners (or escalation targets once escalated), a task
 * already closed, and a completion while another is being verified. The handler answers at once with state
 * `verifying`; the workflow then reads the app and moves to `done`, or to `verification_failed` with the reason and
 * the next `round` (watch `taskStatusQuery`; `tenure task complete` does).
 */
export const completeTaskUpdate = defineUpdate<ManualTaskStatus, [TaskCompletion]>('completeTask');
