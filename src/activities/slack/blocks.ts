/**
 * Block Kit messages for approvals and manual tasks, and the ids their interactive elements carry back to the
 * interactivity endpoint. Pure functions: the activities post them, the endpoint reads the ids.
 *
 * An approval message's actions block has the block id `a<level>:<workflowId>`; its Approve button and its
 * "Reject with a reason" select (Slack buttons carry no free text) come back with it. A task's Done button carries
 * `{"w": workflowId, "r": round}` as its value; each failed verification starts a new round with a new button.
 */
import type { KnownBlock } from '@slack/types';
import { REJECT_REASONS } from '../../domain/approval';
import type { ApprovalContext, ApprovalLevel } from '../../workflows/approval/messages';
import type { ManualTaskInput } from '../../workflows/task/messages';

export const APPROVE_ACTION_ID = 'tenure.approval.approve';
export const REJECT_ACTION_ID = 'tenure.approval.reject';
export const TASK_DONE_ACTION_ID = 'tenure.task.done';

/** Slack's limit on `block_id`. */
export const MAX_BLOCK_ID_LENGTH = 255;

export function approvalBlockId(workflowId: string, level: number): string {
  const id = `a${level}:${workflowId}`;
  if (!/^\d$/.test(String(level)) || id.length > MAX_BLOCK_ID_LENGTH) {
    throw new RangeError(`approval block id for level ${level} would exceed Slack's ${MAX_BLOCK_ID_LENGTH} characters`);
  }
  return id;
}

export function parseApprovalBlockId(blockId: string): { workflowId: string; level: number } | undefined {
  const m = /^a(\d):(employee\/.+)$/.exec(blockId);
  return m?.[1] && m[2] ? { level: Number(m[1]), workflowId: m[2] } : undefined;
}

export function taskDoneValue(workflowId: string, round: number): string {
  return JSON.stringify({ w: workflowId, r: round });
}

export function parseTaskDoneValue(value: string): { workflowId: string; round: number } | undefined {
  try {
    const v = JSON.parse(value) as { w?: unknown; r?: unknown };
    if (typeof v.w === 'string' && v.w.startsWith('employee/') && Number.isInteger(v.r)) {
      return { workflowId: v.w, round: v.r as number };
    }
  } catch {
    // not ours
  }
  return undefined;
}

/** Escapes text for Slack mrkdwn (`&`, `<`, `>`), so names cannot inject mentions or links. */
export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function plain(text: string, max = 150): { type: 'plain_text'; text: string } {
  return { type: 'plain_text', text: text.length > max ? `${text.slice(0, max - 1)}…` : text };
}

/** `<@U123>` for each Slack user id. */
export function mentions(ids: readonly string[]): string {
  return ids.map((id) => `<@${id}>`).join(', ');
}

/** A date Slack shows in the reader's own time zone, with the ISO instant as the fallback. */
export function slackDate(iso: string): string {
  const seconds = Math.floor(Date.parse(iso) / 1000);
  return `<!date^${seconds}^{date_short_pretty} {time}|${iso}>`;
}

const ROLE_LABEL: Record<ApprovalLevel['role'], string> = { manager: 'manager', owner: 'app owner' };

export interface ApprovalMessage {
  workflowId: string;
  requestId: string;
  level: number;
  role: ApprovalLevel['role'];
  context: ApprovalContext;
  /** ISO instant the current wait ends (escalation, or the timeout outcome once escalated). */
  decideBy: string;
  /** Set on the message sent on escalation: who did not decide in time. */
  escalatedFrom?: string[];
}

function who(c: ApprovalContext): string {
  return c.personName ? `*${esc(c.personName)}*` : 'A new hire';
}

function requestSection(m: ApprovalMessage): KnownBlock[] {
  const c = m.context;
  if (c.purpose === 'handover') {
    return [
      { type: 'header', text: plain(`Data hand-over: ${c.systemName}`) },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `${c.personName ? `*${esc(c.personName)}*` : 'A member of your team'} is leaving. Approve to receive their data in *${esc(c.systemName)}*; reject if nobody should.`,
        },
        fields: [
          { type: 'mrkdwn', text: `*Title*\n${esc(c.title)}` },
          { type: 'mrkdwn', text: `*Department*\n${esc(c.department)}` },
          { type: 'mrkdwn', text: `*Leaves*\n${esc(c.exitDate ?? 'now')}` },
          { type: 'mrkdwn', text: `*You decide as*\n${ROLE_LABEL[m.role]}` },
        ],
      },
    ];
  }
  return [
    { type: 'header', text: plain(`Access request: ${c.systemName}`) },
    {
      type: 'section',
      text: { type: 'mrkdwn', text: `${who(c)} needs access to *${esc(c.systemName)}*.` },
      fields: [
        { type: 'mrkdwn', text: `*Title*\n${esc(c.title)}` },
        { type: 'mrkdwn', text: `*Department*\n${esc(c.department)}` },
        { type: 'mrkdwn', text: `*Starts*\n${esc(c.startDate)}` },
        { type: 'mrkdwn', text: `*You decide as*\n${ROLE_LABEL[m.role]}` },
      ],
    },
  ];
}

function requestFooter(m: ApprovalMessage): KnownBlock {
  return {
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `Request \`${esc(m.requestId)}\` · Tenure` }],
  };
}

/** The message an approver gets: context, Approve, and a select of reasons to reject. */
export function approvalRequestMessage(m: ApprovalMessage): { text: string; blocks: KnownBlock[] } {
  const c = m.context;
  const escalation = m.escalatedFrom
    ? `Escalated to you: ${m.escalatedFrom.length ? mentions(m.escalatedFrom) : 'the approver'} did not decide in time. `
    : '';
  const blocks: KnownBlock[] = [
    ...requestSection(m),
    {
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `${escalation}Please decide by ${slackDate(m.decideBy)}.` }],
    },
    {
      type: 'actions',
      block_id: approvalBlockId(m.workflowId, m.level),
      elements: [
        {
          type: 'button',
          action_id: APPROVE_ACTION_ID,
          text: plain('Approve'),
          style: 'primary',
          value: 'approve',
        },
        {
          type: 'static_select',
          action_id: REJECT_ACTION_ID,
          placeholder: plain('Reject with a reason…'),
          options: Object.entries(REJECT_REASONS).map(([code, label]) => ({ text: plain(label, 75), value: code })),
        },
      ],
    },
    requestFooter(m),
  ];
  return {
    text: `${escalation}Access request: ${c.systemName} for ${c.personName ?? 'a new hire'} (${c.title}, ${c.department}). Approve or reject in Tenure's message.`,
    blocks,
  };
}

export type ApprovalOutcomeKind = 'approved' | 'rejected' | 'timed_out' | 'cancelled';

export interface ApprovalOutcome {
  outcome: ApprovalOutcomeKind;
  /** Slack user id. */
  decidedBy?: string;
  reason?: string;
  at: string;
  /** Shown when the request continues at a next level: "now waiting for the app owner". */
  next?: ApprovalLevel['role'];
}

function outcomeLine(o: ApprovalOutcome): string {
  const when = slackDate(o.at);
  switch (o.outcome) {
    case 'approved':
      return `:white_check_mark: *Approved* by ${mentions(o.decidedBy ? [o.decidedBy] : [])} ${when}${o.next ? ` · now waiting for the ${ROLE_LABEL[o.next]}` : ''}`;
    case 'rejected':
      return `:x: *Rejected* by ${mentions(o.decidedBy ? [o.decidedBy] : [])} ${when}: ${esc(o.reason ?? '')}`;
    case 'timed_out':
      return `:hourglass: *Timed out* ${when}: nobody decided in time, so the request is *denied* by policy.`;
    case 'cancelled':
      return `:no_entry_sign: *Withdrawn* ${when}: the HR event behind this request no longer needs it.`;
  }
}

/** The same message after the decision: the outcome instead of the buttons. */
export function approvalOutcomeMessage(m: ApprovalMessage, o: ApprovalOutcome): { text: string; blocks: KnownBlock[] } {
  const line = outcomeLine(o);
  return {
    text: `Access request: ${m.context.systemName}: ${o.outcome.replace('_', ' ')}`,
    blocks: [...requestSection(m), { type: 'section', text: { type: 'mrkdwn', text: line } }, requestFooter(m)],
  };
}

export function approvalReminderText(m: { context: ApprovalContext; decideBy: string; reminder: number }): string {
  return `Reminder ${m.reminder}: the access request for ${m.context.systemName} (${m.context.title}, ${m.context.department}) is still waiting for your decision, above. Please decide by ${slackDate(m.decideBy)}.`;
}

// ── manual tasks ──────────────────────────────────────────────────────────────────────────────────────────

export interface TaskMessage {
  workflowId: string;
  task: Pick<ManualTaskInput, 'taskId' | 'systemName' | 'action' | 'instructions'>;
  round: number;
  /** ISO instant the task escalates (absent once escalated). */
  dueBy?: string;
  escalatedFrom?: string[];
  /** Why the last completion did not close the task. */
  verificationError?: string;
}

const ACTION_LABEL: Record<ManualTaskInput['action'], string> = {
  create_account: 'Create an account',
  disable_account: 'Disable an account',
  transfer_data: "Hand a leaver's data to their manager",
  fix_exception: 'Fix a failed step',
};

function taskHead(m: TaskMessage): KnownBlock[] {
  return [
    { type: 'header', text: plain(`Manual task: ${m.task.systemName}`) },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*${ACTION_LABEL[m.task.action]} in ${esc(m.task.systemName)}*\n${esc(m.task.instructions)}`,
      },
    },
  ];
}

function taskFooter(m: TaskMessage): KnownBlock {
  return {
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: `Task \`${esc(m.task.taskId)}\` · or from a terminal: \`tenure task complete ${esc(m.task.taskId)}\``,
      },
    ],
  };
}

/** The task message: instructions and a Done button (a new one per round). */
export function taskMessage(m: TaskMessage): { text: string; blocks: KnownBlock[] } {
  const notes: string[] = [];
  if (m.escalatedFrom) notes.push(`Escalated to you: ${mentions(m.escalatedFrom)} did not complete it in time.`);
  if (m.verificationError) notes.push(`:warning: Not done yet: ${esc(m.verificationError)}`);
  if (m.dueBy) notes.push(`Please do it by ${slackDate(m.dueBy)}.`);
  const blocks: KnownBlock[] = [...taskHead(m)];
  if (notes.length) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: notes.join(' ') }] });
  blocks.push(
    {
      type: 'actions',
      block_id: `t${m.round}`,
      elements: [
        {
          type: 'button',
          action_id: TASK_DONE_ACTION_ID,
          text: plain('Done'),
          style: 'primary',
          value: taskDoneValue(m.workflowId, m.round),
        },
      ],
    },
    taskFooter(m),
  );
  return {
    text: `${m.escalatedFrom ? 'Escalated: ' : ''}Manual task: ${ACTION_LABEL[m.task.action].toLowerCase()} in ${m.task.systemName}. Click Done when it is done.`,
    blocks,
  };
}

export interface TaskOutcome {
  outcome: 'done' | 'cancelled';
  by?: string;
  at: string;
  verification?: 'verified' | 'unverifiable';
}

function completer(by: string | undefined): string {
  if (!by) return 'someone';
  if (by.startsWith('slack:')) return `<@${by.slice('slack:'.length)}>`;
  return `an operator (\`${esc(by)}\`)`;
}

export function taskOutcomeMessage(m: TaskMessage, o: TaskOutcome): { text: string; blocks: KnownBlock[] } {
  const line =
    o.outcome === 'done'
      ? `:white_check_mark: *Done* by ${completer(o.by)} ${slackDate(o.at)}${o.verification === 'verified' ? ` · verified by reading ${esc(m.task.systemName)}` : ''}`
      : `:no_entry_sign: *Withdrawn* ${slackDate(o.at)}: no longer needed.`;
  return {
    text: `Manual task: ${m.task.systemName}: ${o.outcome}`,
    blocks: [...taskHead(m), { type: 'section', text: { type: 'mrkdwn', text: line } }, taskFooter(m)],
  };
}

export function taskReminderText(m: { systemName: string; reminder: number }): string {
  return `Reminder ${m.reminder}: the manual task in ${m.systemName} above is still open. Click Done when it is done.`;
}
