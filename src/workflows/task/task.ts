import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  currentUpdateInfo,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { PeopleActivities, VerifyManualTaskResult } from '../../activities/slack/activities';
import { MIN_REMINDER_MS, notify, record } from '../people-activities';
import { EMPLOYEE_ID, STAGE, WAITING_ON } from '../search-attributes';
import type { ManualTaskInput, ManualTaskStatus, SlackMessageRef, TaskCompletion } from './messages';
import { completeTaskUpdate, taskStatusQuery } from './messages';
import { enterAtCodeLevel } from '../code-level';

/** Somebody is waiting for the answer: a read that does not succeed within two minutes counts as not done. */
const verifier = proxyActivities<PeopleActivities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds' },
});

const MAX_NOTE = 500;

/**
 * A manual task for an app with no API: the owners get a Slack message with instructions and a Done button (or run
 * `tenure task complete <taskId>`). Reminders every `reminderEveryMs`; at the SLA the task escalates (the escalation
 * targets may complete it too). The `completeTask` Update takes a completion at once (state `verifying`); the workflow
 * then verifies it by reading the app when it can be read; one that does not show reopens the task with a new Done
 * button (`verification_failed`, next round). The task has no timeout: the access it stands for is needed.
 */
export async function manualTaskWorkflow(input: ManualTaskInput): Promise<ManualTaskStatus> {
  enterAtCodeLevel();
  const run = new ManualTask(input);
  setHandler(taskStatusQuery, () => run.status);
  setHandler(completeTaskUpdate, (c: TaskCompletion) => run.complete(c), {
    validator: (c: TaskCompletion) => run.validateCompletion(c),
  });
  await run.execute();
  await condition(allHandlersFinished);
  return run.status;
}

/** A completion taken by the update, waiting to be verified by the main loop. */
interface Claim {
  by: string;
  round: number;
  note?: string;
  /** The update id. */
  id?: string;
}

class ManualTask {
  readonly status: ManualTaskStatus;
  private note?: string;
  private claim?: Claim;

  constructor(private readonly input: ManualTaskInput) {
    if (input.owners.length === 0)
      throw ApplicationFailure.nonRetryable('a manual task needs an owner', 'InvalidInput');
    if (!(input.slaMs > 0) || !(input.reminderEveryMs >= MIN_REMINDER_MS)) {
      throw ApplicationFailure.nonRetryable(
        `slaMs must be positive and reminderEveryMs at least ${MIN_REMINDER_MS}`,
        'InvalidInput',
      );
    }
    const now = Date.now();
    this.status = {
      taskId: input.taskId,
      hrId: input.hrId,
      systemId: input.systemId,
      action: input.action,
      state: 'open',
      openedAt: new Date(now).toISOString(),
      deadline: new Date(now + input.slaMs).toISOString(),
      reminders: 0,
      round: 1,
      messages: [],
      owners: input.owners,
      escalateTo: input.escalateTo,
      waitingOn: [],
    };
  }

  async execute(): Promise<void> {
    upsertSearchAttributes([{ key: EMPLOYEE_ID, value: this.input.hrId }]);
    this.refresh();
    try {
      this.status.messages.push(...(await this.send(this.input.owners)));
      await this.waitUntilDone();
      await this.settle('done');
    } catch (err) {
      if (isCancellation(err)) await CancellationScope.nonCancellable(() => this.withdraw());
      throw err;
    }
  }

  private done(): boolean {
    return this.status.state === 'done';
  }

  /** Reminds every interval and escalates once at the SLA, verifying each completion, until one is verified. */
  private async waitUntilDone(): Promise<void> {
    let nextReminder = Date.now() + this.input.reminderEveryMs;
    for (;;) {
      if (this.claim) await this.verifyClaim(this.claim);
      if (this.done()) return;
      const escalateAt = this.status.escalatedAt ? Infinity : Date.parse(this.status.deadline ?? '');
      const wake = Math.min(escalateAt, nextReminder);
      const now = Date.now();
      if (wake > now && (await condition(() => this.claim !== undefined, wake - now))) continue;
      if (!this.status.escalatedAt && Date.now() >= escalateAt) {
        await this.escalate();
      } else if (Date.now() >= nextReminder) {
        this.status.reminders += 1;
        await this.remind(this.status.reminders);
        // One reminder for however many intervals passed (a worker outage does not send a burst).
        while (nextReminder <= Date.now()) nextReminder += this.input.reminderEveryMs;
      }
    }
  }

  private async escalate(): Promise<void> {
    this.status.escalatedAt = new Date().toISOString();
    this.status.deadline = undefined;
    if (this.status.state === 'open') this.status.state = 'escalated';
    this.refresh();
    log.info('manual task escalated', { taskId: this.input.taskId });
    this.status.messages.push(...(await this.send(this.input.escalateTo, this.input.owners)));
  }

  private async send(to: string[], escalatedFrom?: string[]): Promise<SlackMessageRef[]> {
    const sent = await Promise.all(
      to.map((recipient) =>
        notify
          .postManualTask({
            ...this.ref(),
            to: recipient,
            round: this.status.round,
            ...(this.status.deadline ? { dueBy: this.status.deadline } : {}),
            ...(escalatedFrom ? { escalatedFrom } : {}),
          })
          .catch((err: unknown) => {
            if (isCancellation(err)) throw err;
            log.warn('could not send a task message', { taskId: this.input.taskId, error: String(err) });
            return undefined;
          }),
      ),
    );
    return sent.filter((m): m is SlackMessageRef => m !== undefined);
  }

  private async remind(reminder: number): Promise<void> {
    const messages = this.status.messages.filter((m) => this.status.waitingOn.includes(m.to));
    if (messages.length === 0) return;
    try {
      await notify.remindTaskOwners({ ...this.ref(), reminder, messages });
    } catch (err) {
      if (isCancellation(err)) throw err;
      log.warn('could not send a task reminder', { taskId: this.input.taskId, error: String(err) });
    }
  }

  private async settle(outcome: 'done' | 'cancelled'): Promise<void> {
    try {
      // Evidence of an outcome is written even when the workflow is being cancelled meanwhile.
      const r = await CancellationScope.nonCancellable(() =>
        record.settleManualTask({
          ...this.ref(),
          outcome,
          at: this.status.completedAt ?? new Date().toISOString(),
          round: this.status.round,
          messages: this.status.messages,
          ...(this.status.completedBy ? { by: this.status.completedBy } : {}),
          ...(this.status.completionId ? { completionId: this.status.completionId } : {}),
          ...(this.status.verification ? { verification: this.status.verification } : {}),
          ...(this.note ? { note: this.note } : {}),
        }),
      );
      if (r.failed.length) log.warn('some task messages could not be updated', { failed: r.failed.length });
    } catch (err) {
      if (isCancellation(err)) throw err;
      log.error('could not record the task outcome', { taskId: this.input.taskId, error: String(err) });
    }
  }

  private async withdraw(): Promise<void> {
    if (this.done() || this.status.state === 'cancelled') return;
    this.status.state = 'cancelled';
    this.status.deadline = undefined;
    this.refresh();
    await this.settle('cancelled');
  }

  // ── completion ────────────────────────────────────────────────────────────────────────────────────────
  validateCompletion(c: TaskCompletion): void {
    const s = this.status;
    if (s.state === 'done') {
      throw ApplicationFailure.nonRetryable(
        `this task is closed: already done${s.completedBy ? ` by ${describe(s.completedBy)}` : ''}`,
        'TaskClosed',
      );
    }
    if (s.state === 'cancelled') throw ApplicationFailure.nonRetryable('this task was withdrawn', 'TaskClosed');
    if (s.state === 'verifying') {
      throw ApplicationFailure.nonRetryable('another completion is being verified; try again in a moment', 'TaskBusy');
    }
    if (typeof c.by !== 'string')
      throw ApplicationFailure.nonRetryable('who completed it is missing', 'InvalidCompletion');
    if (c.by.startsWith('slack:')) {
      if (!s.waitingOn.includes(c.by.slice('slack:'.length))) {
        throw ApplicationFailure.nonRetryable('you are not an owner of this task', 'NotAnOwner');
      }
    } else if (!/^cli:\S{1,64}$/.test(c.by)) {
      throw ApplicationFailure.nonRetryable(
        'a completion comes from `slack:<user id>` or `cli:<name>`',
        'InvalidCompletion',
      );
    }
    if ((c.note?.length ?? 0) > MAX_NOTE) {
      throw ApplicationFailure.nonRetryable(`the note is longer than ${MAX_NOTE} characters`, 'InvalidCompletion');
    }
  }

  /** Takes the completion; the main loop verifies it by reading the app, then closes or reopens the task. */
  complete(c: TaskCompletion): ManualTaskStatus {
    const id = currentUpdateInfo()?.id;
    this.claim = { by: c.by, round: this.status.round, ...(c.note ? { note: c.note } : {}), ...(id ? { id } : {}) };
    this.status.state = 'verifying';
    this.refresh();
    return this.status;
  }

  private async verifyClaim(claim: Claim): Promise<void> {
    let result: VerifyManualTaskResult = { outcome: 'unverifiable' };
    if (this.input.verify) {
      try {
        result = await verifier.verifyManualTask({
          ...this.ref(),
          round: claim.round,
          by: claim.by,
          ...(this.input.accountUserName ? { accountUserName: this.input.accountUserName } : {}),
        });
      } catch (err) {
        if (isCancellation(err)) throw err;
        result = { outcome: 'not_done', error: `could not read ${this.input.systemName} to check it` };
        log.warn('task verification failed', { taskId: this.input.taskId, error: String(err) });
      }
    }
    this.claim = undefined;
    if (result.outcome === 'not_done') {
      this.status.state = 'verification_failed';
      this.status.verificationError = result.error ?? 'the app does not show it done';
      this.status.round += 1;
      this.refresh();
      await this.refreshMessages();
      return;
    }
    this.status.state = 'done';
    this.status.completedAt = new Date().toISOString();
    this.status.completedBy = claim.by;
    this.status.verification = result.outcome;
    this.status.verificationError = undefined;
    this.status.deadline = undefined;
    if (claim.id) this.status.completionId = claim.id;
    if (claim.note) this.note = claim.note;
    this.refresh();
  }

  private async refreshMessages(): Promise<void> {
    try {
      await notify.refreshTaskMessages({
        ...this.ref(),
        round: this.status.round,
        owners: this.input.owners,
        messages: this.status.messages,
        ...(this.status.deadline ? { dueBy: this.status.deadline } : {}),
        ...(this.status.verificationError ? { verificationError: this.status.verificationError } : {}),
      });
    } catch (err) {
      log.warn('could not update the task messages', { taskId: this.input.taskId, error: String(err) });
    }
  }

  // ── status and visibility ─────────────────────────────────────────────────────────────────────────────
  private ref() {
    const i = this.input;
    return {
      taskId: i.taskId,
      hrId: i.hrId,
      systemId: i.systemId,
      systemName: i.systemName,
      action: i.action,
      instructions: i.instructions,
    };
  }

  private refresh(): void {
    const s = this.status;
    const open = s.state !== 'done' && s.state !== 'cancelled';
    s.waitingOn = open ? [...new Set([...s.owners, ...(s.escalatedAt ? s.escalateTo : [])])] : [];
    upsertSearchAttributes([
      { key: STAGE, value: `task_${s.state}` },
      { key: WAITING_ON, value: open ? s.waitingOn.map((id) => `slack:${id}`).join(',') : null },
    ]);
    upsertMemo({
      taskId: s.taskId,
      waitingSince: open ? s.openedAt : null,
      deadline: open ? (s.deadline ?? null) : null,
      escalatedAt: s.escalatedAt ?? null,
    });
  }
}

function describe(by: string): string {
  return by.startsWith('slack:') ? `<@${by.slice('slack:'.length)}>` : `an operator (${by})`;
}
