import { defineQuery, defineUpdate } from '@temporalio/workflow';

/** One level of a sequential approval: the manager, then the app owner, for example. */
export interface ApprovalLevel {
  role: 'manager' | 'owner';
  /** Slack user ids allowed to decide at this level (resolved from HR ids / owner emails when the request opens). */
  approvers: string[];
  /** Who may also decide once the level is escalated (the manager's manager, the fallback approvers): Slack user ids. */
  escalateTo: string[];
  /**
   * Slack user id → HR id, for deciders who are managers (the manager, the manager's manager): their eligibility
   * (active in the identity provider) is checked again when their decision arrives.
   */
  hrIds?: Record<string, string>;
}

/** What the approver sees. The input is encrypted by the payload codec; nothing here reaches search attributes. */
export interface ApprovalContext {
  systemName: string;
  department: string;
  title: string;
  /** The hire date, `YYYY-MM-DD`. */
  startDate: string;
  /** The person's preferred name: the approver has to know who they decide for. Never logged, never in evidence. */
  personName?: string;
  /** `handover`: a leaver's data in the system goes to the approver (their manager), who accepts or declines. */
  purpose?: 'grant' | 'handover';
  /** For a hand-over: the exit date, `YYYY-MM-DD`. */
  exitDate?: string;
}

export interface ApprovalInput {
  /** Stable id of the request, shown to people: `<hrId>/<eventId>/<systemId>` (see `approvalRequestId`). */
  requestId: string;
  hrId: string;
  systemId: string;
  context: ApprovalContext;
  /** Decided in order; a rejection or a timeout at any level ends the request. At most two (manager, owner). */
  levels: ApprovalLevel[];
  /** Per level: a decision is expected within this many ms, then the level escalates. */
  slaMs: number;
  /** Reminder interval while waiting, ms. */
  reminderEveryMs: number;
  /** After escalation, how long until the timeout outcome applies, ms. */
  escalationSlaMs: number;
  /** What a request nobody decided becomes. Access grants: deny. */
  timeoutOutcome: 'denied';
}

/** `pending`: a later level that has not opened yet. */
export type ApprovalState = 'pending' | 'waiting' | 'escalated' | 'approved' | 'rejected' | 'timed_out' | 'cancelled';

export interface Decision {
  decision: 'approve' | 'reject';
  /** Slack user id of the person who clicked (from the verified Slack payload). */
  slackUserId: string;
  /** The level the clicked message belongs to: a click on an earlier level's message never decides a later one. */
  level: number;
  /** Required to reject. */
  reason?: string;
}

/** A Slack message of this request, updated in place with the outcome. */
export interface SlackMessageRef {
  channel: string;
  ts: string;
  /** The Slack user it was sent to. */
  to: string;
  /** Sent on escalation. */
  escalation: boolean;
}

export interface ApprovalLevelStatus {
  role: ApprovalLevel['role'];
  approvers: string[];
  escalateTo: string[];
  state: ApprovalState;
  openedAt?: string;
  /** When the current wait ends: escalation while `waiting`, the timeout outcome while `escalated`. */
  deadline?: string;
  decidedAt?: string;
  /** Slack user id of the decider. */
  decidedBy?: string;
  reason?: string;
  /** The update id of the decision (derived from the Slack action), to recognise a repeated click. */
  decisionId?: string;
  reminders: number;
  escalatedAt?: string;
  messages: SlackMessageRef[];
}

export interface ApprovalStatus {
  requestId: string;
  hrId: string;
  systemId: string;
  state: ApprovalState;
  /** Index of the level open now (or the last one that was). */
  level: number;
  levels: ApprovalLevelStatus[];
  /** Everyone who may decide right now (approvers, plus escalation targets once escalated); empty once closed. */
  waitingOn: string[];
  startedAt: string;
  finishedAt?: string;
}

export interface ApprovalResult {
  outcome: 'approved' | 'rejected' | 'timed_out';
  /** Slack user id of whoever made the final decision (absent on timeout). */
  decidedBy?: string;
  reason?: string;
  /** The level that ended the request. */
  level: number;
}

export const approvalStatusQuery = defineQuery<ApprovalStatus>('status');
/**
 * A person's decision. The validator refuses people who may not decide this level now, levels that are not open,
 * and a rejection without a reason. The update id is derived from the Slack action (user, level, button), so a
 * double click is one decision.
 */
export const decideUpdate = defineUpdate<ApprovalStatus, [Decision]>('decide');
