import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  currentUpdateInfo,
  isCancellation,
  log,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { MIN_REMINDER_MS, notify, record } from '../people-activities';
import { EMPLOYEE_ID, STAGE, WAITING_ON } from '../search-attributes';
import { enterAtCodeLevel, hasPatch } from '../code-level';
import type {
  ApprovalInput,
  ApprovalLevelStatus,
  ApprovalResult,
  ApprovalState,
  ApprovalStatus,
  Decision,
  SlackMessageRef,
} from './messages';
import { approvalStatusQuery, decideUpdate } from './messages';

/** A manager's decision is checked again when it arrives (active in the identity provider), not only at request. */
export const APPROVER_ELIGIBILITY_PATCH = 'tenure-approver-eligibility';

/** Levels are decided in sequence; Slack block ids carry the level as one digit. */
export const MAX_LEVELS = 9;
const MAX_REASON = 500;

/**
 * An approval: each level's approvers get a Slack message with Approve and Reject; the first decision closes the
 * level. Reminders every `reminderEveryMs`; at the SLA the level escalates (its approvers can still decide, and so
 * can the escalation targets); after `escalationSlaMs` more the request times out and is denied. A rejection or a
 * timeout at any level ends the request; every level's messages are updated in place with the outcome.
 */
export async function approvalWorkflow(input: ApprovalInput): Promise<ApprovalResult> {
  enterAtCodeLevel();
  const run = new Approval(input);
  setHandler(approvalStatusQuery, () => run.status);
  setHandler(decideUpdate, (d: Decision) => run.decide(d), { validator: (d: Decision) => run.validateDecision(d) });
  const result = await run.execute();
  await condition(allHandlersFinished);
  return result;
}

class Approval {
  readonly status: ApprovalStatus;
  /** Set when a level's last approver turned out ineligible: it escalates without waiting for its SLA. */
  private escalateNow = false;

  constructor(private readonly input: ApprovalInput) {
    checkInput(input);
    this.status = {
      requestId: input.requestId,
      hrId: input.hrId,
      systemId: input.systemId,
      state: 'waiting',
      level: 0,
      levels: input.levels.map((l) => ({
        role: l.role,
        approvers: l.approvers,
        escalateTo: l.escalateTo,
        state: 'pending',
        reminders: 0,
        messages: [],
      })),
      waitingOn: [],
      startedAt: new Date().toISOString(),
    };
  }

  async execute(): Promise<ApprovalResult> {
    upsertSearchAttributes([{ key: EMPLOYEE_ID, value: this.input.hrId }]);
    try {
      for (let i = 0; i < this.status.levels.length; i++) {
        const state = await this.runLevel(i);
        if (state !== 'approved') break;
      }
    } catch (err) {
      if (isCancellation(err)) await CancellationScope.nonCancellable(() => this.withdraw());
      throw err;
    }
    this.status.finishedAt = new Date().toISOString();
    this.refresh();
    const last = this.level(this.status.level);
    return {
      outcome: last.state === 'approved' ? 'approved' : last.state === 'rejected' ? 'rejected' : 'timed_out',
      level: this.status.level,
      ...(last.decidedBy ? { decidedBy: last.decidedBy } : {}),
      ...(last.reason ? { reason: last.reason } : {}),
    };
  }

  // ── one level ─────────────────────────────────────────────────────────────────────────────────────────
  private async runLevel(i: number): Promise<ApprovalState> {
    const l = this.level(i);
    this.status.level = i;
    l.state = 'waiting';
    l.openedAt = new Date().toISOString();
    l.deadline = new Date(Date.now() + this.input.slaMs).toISOString();
    this.refresh();
    l.messages.push(...(await this.send(i, l.approvers)));
    let decided = await this.waitForDecision(i);
    if (!decided) {
      l.state = 'escalated';
      l.escalatedAt = new Date().toISOString();
      l.deadline = new Date(Date.now() + this.input.escalationSlaMs).toISOString();
      this.refresh();
      log.info('approval escalated', { requestId: this.input.requestId, level: i });
      l.messages.push(...(await this.send(i, l.escalateTo, l.approvers)));
      decided = await this.waitForDecision(i);
    }
    if (!decided) {
      l.state = 'timed_out';
      l.decidedAt = new Date().toISOString();
      log.info('approval timed out; denied by policy', { requestId: this.input.requestId, level: i });
    }
    l.deadline = undefined;
    this.refresh();
    await this.settle(i);
    return l.state;
  }

  /** Waits until the level is decided or its deadline passes, reminding everyone waited on at each interval. */
  private async waitForDecision(i: number): Promise<boolean> {
    const l = this.level(i);
    const deadline = Date.parse(l.deadline ?? '');
    let nextReminder = Date.now() + this.input.reminderEveryMs;
    for (;;) {
      if (isDecided(l)) return true;
      const now = Date.now();
      if (now >= deadline) return false;
      if (await condition(() => isDecided(l) || this.escalateNow, Math.min(deadline, nextReminder) - now)) {
        if (isDecided(l)) return true;
        this.escalateNow = false;
        return false;
      }
      if (Date.now() >= deadline) return isDecided(l);
      if (Date.now() >= nextReminder) {
        l.reminders += 1;
        await this.remind(i, l.reminders);
        // One reminder for however many intervals passed (a worker outage does not send a burst).
        while (nextReminder <= Date.now()) nextReminder += this.input.reminderEveryMs;
      }
    }
  }

  private async send(i: number, to: string[], escalatedFrom?: string[]): Promise<SlackMessageRef[]> {
    const l = this.level(i);
    const sent = await Promise.all(
      to.map((recipient) =>
        notify
          .postApprovalRequest({
            requestId: this.input.requestId,
            hrId: this.input.hrId,
            systemId: this.input.systemId,
            level: i,
            role: l.role,
            context: this.input.context,
            to: recipient,
            decideBy: l.deadline ?? new Date().toISOString(),
            ...(escalatedFrom ? { escalatedFrom } : {}),
          })
          .catch((err: unknown) => {
            if (isCancellation(err)) throw err;
            log.warn('could not send an approval message', {
              requestId: this.input.requestId,
              level: i,
              error: String(err),
            });
            return undefined;
          }),
      ),
    );
    return sent.filter((m): m is SlackMessageRef => m !== undefined);
  }

  private async remind(i: number, reminder: number): Promise<void> {
    const l = this.level(i);
    const messages = l.messages.filter((m) => this.status.waitingOn.includes(m.to));
    if (messages.length === 0) return;
    try {
      await notify.remindApprovers({
        requestId: this.input.requestId,
        hrId: this.input.hrId,
        systemId: this.input.systemId,
        level: i,
        reminder,
        context: this.input.context,
        decideBy: l.deadline ?? new Date().toISOString(),
        messages,
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      log.warn('could not send a reminder', { requestId: this.input.requestId, level: i, error: String(err) });
    }
  }

  /** The level's outcome becomes evidence and every message of the level shows it. */
  private async settle(i: number): Promise<void> {
    const l = this.level(i);
    const outcome = l.state;
    if (outcome !== 'approved' && outcome !== 'rejected' && outcome !== 'timed_out' && outcome !== 'cancelled') return;
    const next = outcome === 'approved' ? this.input.levels[i + 1]?.role : undefined;
    try {
      // Evidence of an outcome is written even when the workflow is being cancelled meanwhile.
      const r = await CancellationScope.nonCancellable(() =>
        record.settleApproval({
          requestId: this.input.requestId,
          hrId: this.input.hrId,
          systemId: this.input.systemId,
          level: i,
          role: l.role,
          context: this.input.context,
          outcome,
          at: l.decidedAt ?? new Date().toISOString(),
          messages: l.messages,
          ...(l.decidedBy ? { decidedBy: l.decidedBy } : {}),
          ...(l.reason ? { reason: l.reason } : {}),
          ...(l.decisionId ? { decisionId: l.decisionId } : {}),
          ...(next ? { next } : {}),
        }),
      );
      if (r.failed.length) log.warn('some approval messages could not be updated', { failed: r.failed.length });
    } catch (err) {
      if (isCancellation(err)) throw err;
      log.error('could not record the approval outcome', { requestId: this.input.requestId, error: String(err) });
    }
  }

  /** Cancelled by the parent (the hire was cancelled or superseded): the open level's messages say so. */
  private async withdraw(): Promise<void> {
    const l = this.level(this.status.level);
    if (l.state !== 'waiting' && l.state !== 'escalated') return;
    l.state = 'cancelled';
    l.decidedAt = new Date().toISOString();
    l.deadline = undefined;
    this.refresh();
    await this.settle(this.status.level);
  }

  // ── decisions ─────────────────────────────────────────────────────────────────────────────────────────
  validateDecision(d: Decision): void {
    if (d.decision !== 'approve' && d.decision !== 'reject') {
      throw ApplicationFailure.nonRetryable(`"${String(d.decision)}" is not a decision`, 'InvalidDecision');
    }
    const l = this.status.levels[d.level];
    if (!l) throw ApplicationFailure.nonRetryable(`this request has no level ${d.level}`, 'InvalidDecision');
    if (l.state !== 'waiting' && l.state !== 'escalated') {
      throw ApplicationFailure.nonRetryable(closedMessage(l), 'RequestClosed');
    }
    if (d.level !== this.status.level) {
      throw ApplicationFailure.nonRetryable('this step of the request is not open', 'RequestClosed');
    }
    if (!this.status.waitingOn.includes(d.slackUserId)) {
      throw ApplicationFailure.nonRetryable(
        `you are not an approver of this request at the ${l.role} level`,
        'NotAnApprover',
      );
    }
    if (d.decision === 'reject' && !d.reason?.trim()) {
      throw ApplicationFailure.nonRetryable('a rejection needs a reason', 'ReasonRequired');
    }
    if ((d.reason?.length ?? 0) > MAX_REASON) {
      throw ApplicationFailure.nonRetryable(`the reason is longer than ${MAX_REASON} characters`, 'InvalidDecision');
    }
  }

  async decide(d: Decision): Promise<ApprovalStatus> {
    const approverHrId = this.input.levels[d.level]?.hrIds?.[d.slackUserId];
    if (approverHrId !== undefined && hasPatch(APPROVER_ELIGIBILITY_PATCH)) {
      const check = await record.checkApprover({
        requestId: this.input.requestId,
        hrId: this.input.hrId,
        systemId: this.input.systemId,
        level: d.level,
        slackUserId: d.slackUserId,
        approverHrId,
      });
      if (!check.eligible) {
        // Gone or suspended since the request was sent: not their decision any more; the others can still decide.
        for (const level of this.status.levels) {
          level.approvers = level.approvers.filter((x) => x !== d.slackUserId);
          level.escalateTo = level.escalateTo.filter((x) => x !== d.slackUserId);
        }
        // Nobody left to ask at this level before the SLA: escalate now (the next in the chain, or the fallback).
        const open = this.level(this.status.level);
        if (open.state === 'waiting' && open.approvers.length === 0) this.escalateNow = true;
        this.refresh();
        throw ApplicationFailure.nonRetryable(
          'you can no longer decide this request: you are not active in the identity provider',
          'NotAnApprover',
        );
      }
      // Decided by someone else while the check ran.
      this.validateDecision(d);
    }
    return this.record(d);
  }

  private record(d: Decision): ApprovalStatus {
    const l = this.level(d.level);
    l.state = d.decision === 'approve' ? 'approved' : 'rejected';
    l.decidedAt = new Date().toISOString();
    l.decidedBy = d.slackUserId;
    const reason = d.reason?.trim();
    if (reason) l.reason = reason;
    const id = currentUpdateInfo()?.id;
    if (id) l.decisionId = id;
    l.deadline = undefined;
    this.refresh();
    return this.status;
  }

  // ── status and visibility ─────────────────────────────────────────────────────────────────────────────
  private level(i: number): ApprovalLevelStatus {
    const l = this.status.levels[i];
    if (!l) throw ApplicationFailure.nonRetryable(`no approval level ${i}`);
    return l;
  }

  /** Recomputes the overall state and who is waited on, and publishes them as search attributes. */
  private refresh(): void {
    const levels = this.status.levels;
    const current = this.level(this.status.level);
    const ended = levels.find((l) => l.state === 'rejected' || l.state === 'timed_out' || l.state === 'cancelled');
    let state: ApprovalState;
    if (ended) state = ended.state;
    else if (levels.every((l) => l.state === 'approved')) state = 'approved';
    else state = current.state === 'escalated' ? 'escalated' : 'waiting';
    this.status.state = state;
    this.status.waitingOn =
      current.state === 'waiting'
        ? [...current.approvers]
        : current.state === 'escalated'
          ? [...new Set([...current.approvers, ...current.escalateTo])]
          : [];
    const open = current.state === 'waiting' || current.state === 'escalated';
    upsertSearchAttributes([
      { key: STAGE, value: open ? `approval_${current.state}_${current.role}` : `approval_${state}` },
      { key: WAITING_ON, value: open ? this.status.waitingOn.map((id) => `slack:${id}`).join(',') : null },
    ]);
    upsertMemo({
      requestId: this.input.requestId,
      waitingSince: open ? (current.escalatedAt ?? current.openedAt ?? null) : null,
      deadline: open ? (current.deadline ?? null) : null,
    });
  }
}

function isDecided(l: ApprovalLevelStatus): boolean {
  return l.state === 'approved' || l.state === 'rejected' || l.state === 'cancelled';
}

function closedMessage(l: ApprovalLevelStatus): string {
  switch (l.state) {
    case 'approved':
      return `this request is closed: already approved${l.decidedBy ? ` by <@${l.decidedBy}>` : ''}`;
    case 'rejected':
      return `this request is closed: already rejected${l.decidedBy ? ` by <@${l.decidedBy}>` : ''}`;
    case 'timed_out':
      return 'this request is closed: nobody decided in time, so it was denied';
    case 'cancelled':
      return 'this request was withdrawn';
    default:
      return 'this step of the request is not open yet';
  }
}

function checkInput(i: ApprovalInput): void {
  const bad = (why: string): never => {
    throw ApplicationFailure.nonRetryable(`invalid approval input: ${why}`, 'InvalidInput');
  };
  if (i.levels.length === 0 || i.levels.length > MAX_LEVELS) bad(`needs 1 to ${MAX_LEVELS} levels`);
  i.levels.forEach((l, n) => {
    if (l.approvers.length === 0) bad(`level ${n} (${l.role}) has no approver`);
  });
  if (!(i.slaMs > 0) || !(i.escalationSlaMs > 0)) bad('slaMs and escalationSlaMs must be positive');
  if (!(i.reminderEveryMs >= MIN_REMINDER_MS)) bad(`reminderEveryMs must be at least ${MIN_REMINDER_MS}`);
}
