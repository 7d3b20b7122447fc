/**
 * People in the loop: the activities of the approval and manual-task workflows. They find approvers in Slack, post
 * the Block Kit messages, remind, escalate, update the messages in place with the outcome and verify a manual task
 * by reading the app. Every action appends evidence under an idempotency key derived from the workflow id, so an
 * activity retry writes nothing twice. Records carry Slack user ids and HR ids, never names or emails.
 */
import type { KnownBlock } from '@slack/types';
import type { WebClient } from '@slack/web-api';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { PeoplePolicy, PeopleSystem, PersonRef } from '../../domain/approval';
import {
  approvalRequestId,
  isManualConnector,
  manualTaskId,
  planApproval,
  ownerRefs,
  taskTimings,
} from '../../domain/approval';
import type { EmployeeRecord } from '../../domain/employee';
import { displayName } from '../../domain/employee';
import { stepIdempotencyKey } from '../../domain/ids';
import type { ApprovalContext, ApprovalInput, ApprovalLevel, SlackMessageRef } from '../../workflows/approval/messages';
import type { ManualTaskInput } from '../../workflows/task/messages';
import type { Actor, AuditStore, EvidenceInput } from '../audit/types';
import { toActivityFailure } from '../errors';
import type { IdentityConnector } from '../identity';
import { ConnectorError } from '../identity';
import type { ApprovalOutcome, TaskMessage, TaskOutcome } from './blocks';
import {
  approvalOutcomeMessage,
  approvalReminderText,
  approvalRequestMessage,
  taskMessage,
  taskOutcomeMessage,
  taskReminderText,
} from './blocks';
import { slackCall } from './notifier';

/** Finds a person's manager, for escalation to the manager's manager (the HRIS, or Tenure's entity workflows). */
export interface ManagerDirectory {
  /** The HR id of the manager of `hrId`, when known. */
  managerOf(hrId: string): Promise<string | undefined>;
}

export interface PeopleActivityDeps {
  /** Slack Web API client (`createSlackClient`). Without it every activity that needs Slack fails as a config error. */
  slack?: WebClient;
  audit: AuditStore;
  /** One connector per system id; a manual system has one only when it can be read (its `read` setting). */
  connectors: ReadonlyMap<string, IdentityConnector>;
  /** The policy: systems (approval rules, owners, manual connectors) and the `people` settings. */
  policy: PeoplePolicy;
  /** For escalation to the manager's manager; without it such escalations go to the fallback approvers. */
  directory?: ManagerDirectory;
}

/** The actor recorded for what Tenure does by itself (posting, reminding, timing out). */
const PEOPLE_ACTOR: Actor = { type: 'system', id: 'tenure-worker' };

/** The longest completion note kept in the evidence. */
const MAX_NOTE_LENGTH = 200;

/** `slack:<id>` or `cli:<name>` as an audit actor. */
export function personActor(principal: string): Actor {
  return { type: 'person', id: principal };
}

// ── inputs ────────────────────────────────────────────────────────────────────────────────────────────────

export interface PrepareApprovalInput {
  hrId: string;
  eventId: string;
  systemId: string;
  record: EmployeeRecord;
  /** `handover`: the leaver's manager accepts their data in the system (policy `dataHandover`). @default "grant" */
  purpose?: 'grant' | 'handover';
}

export interface PrepareManualTaskInput {
  hrId: string;
  eventId: string;
  systemId: string;
  action: ManualTaskInput['action'];
  record: EmployeeRecord;
  /** The account's login name (the work email), when known. */
  workEmail?: string;
}

/** A step that failed permanently: who is asked to fix it, and how long the run waits before it gives up. */
export interface PrepareExceptionTaskInput {
  hrId: string;
  eventId: string;
  /** The run's event kind (hire, termination, …), for the owner's message. */
  kind: string;
  stepId: string;
  /** The system the step acts on; steps without one (the work email) go to the fallback approvers. */
  systemId?: string;
  /** The failure as the run recorded it (already redacted by the activity that failed). */
  error: string;
  /** Which time this step went into exception in this run (1, 2, …): one task per time. */
  round: number;
}

export interface ExceptionTaskPlan {
  /** The fix-and-retry task for the owners; absent when Slack is not configured or nobody can be found. */
  task?: ManualTaskInput;
  /** Why there is no task, when there is none. */
  noTask?: string;
  /** How long the run waits for a fix before it abandons the step. */
  giveUpAfterMs: number;
}

interface RequestRef {
  requestId: string;
  hrId: string;
  systemId: string;
}

export interface ApprovalMessageInput extends RequestRef {
  level: number;
  role: ApprovalLevel['role'];
  context: ApprovalContext;
  /** Slack user id to send it to. */
  to: string;
  decideBy: string;
  /** On escalation: who did not decide in time. */
  escalatedFrom?: string[];
}

export interface ApprovalReminderInput extends RequestRef {
  level: number;
  reminder: number;
  context: ApprovalContext;
  decideBy: string;
  messages: SlackMessageRef[];
}

export interface SettleApprovalInput extends RequestRef {
  level: number;
  role: ApprovalLevel['role'];
  context: ApprovalContext;
  outcome: ApprovalOutcome['outcome'];
  /** Slack user id. */
  decidedBy?: string;
  reason?: string;
  decisionId?: string;
  at: string;
  next?: ApprovalLevel['role'];
  messages: SlackMessageRef[];
}

export interface TaskRef {
  taskId: string;
  hrId: string;
  systemId: string;
  systemName: string;
  action: ManualTaskInput['action'];
  instructions: string;
}

export interface TaskMessageInput extends TaskRef {
  to: string;
  round: number;
  dueBy?: string;
  escalatedFrom?: string[];
}

export interface TaskReminderInput extends TaskRef {
  reminder: number;
  messages: SlackMessageRef[];
}

export interface RefreshTaskMessagesInput extends TaskRef {
  round: number;
  dueBy?: string;
  verificationError?: string;
  /** Escalation messages keep saying who did not complete it. */
  owners: string[];
  messages: SlackMessageRef[];
}

export interface VerifyManualTaskInput extends TaskRef {
  round: number;
  /** `slack:<id>` or `cli:<name>`. */
  by: string;
  accountUserName?: string;
}

export interface VerifyManualTaskResult {
  outcome: 'verified' | 'not_done' | 'unverifiable';
  /** Why the app does not show the task done. */
  error?: string;
  readBack?: { found: boolean; active?: boolean; accountId?: string };
}

export interface SettleManualTaskInput extends TaskRef {
  outcome: TaskOutcome['outcome'];
  by?: string;
  completionId?: string;
  verification?: TaskOutcome['verification'];
  note?: string;
  at: string;
  round: number;
  messages: SlackMessageRef[];
}

export interface MessagesUpdated {
  updated: number;
  /** Messages Slack would not update (deleted, channel gone): `<channel>/<ts>: <error>`. */
  failed: string[];
}

// ── the activities ────────────────────────────────────────────────────────────────────────────────────────

/** Builds the people-in-the-loop activities with their dependencies injected, so tests pass real local peers. */
export function createPeopleActivities(deps: PeopleActivityDeps) {
  const { audit, policy } = deps;
  const idpId = policy.systems.find((s) => s.kind === 'identity-provider')?.id;

  function slackClient(): WebClient {
    if (!deps.slack) throw ApplicationFailure.nonRetryable('no Slack configured (policy `slack`)', 'config');
    return deps.slack;
  }

  function workflowId(): string {
    return Context.current().info.workflowExecution?.workflowId ?? 'standalone';
  }

  function system(systemId: string): PeopleSystem {
    const s = policy.systems.find((x) => x.id === systemId);
    if (!s) throw ApplicationFailure.nonRetryable(`system "${systemId}" is not in this worker's policy`, 'config');
    return s;
  }

  /**
   * Runs one action and appends its evidence under `key` (a retry writes nothing new). A failure is evidence too:
   * once on the first attempt, once when it is final.
   */
  async function act<T>(
    meta: { key: string; action: string; hrId: string; systemId: string; requestId: string; actor?: Actor },
    fn: () => Promise<{
      result: T;
      outcome: string;
      detail?: Record<string, unknown>;
      readBack?: EvidenceInput['readBack'];
    }>,
  ): Promise<T> {
    const info = Context.current().info;
    const base = {
      hrId: meta.hrId,
      systemId: meta.systemId,
      actor: meta.actor ?? PEOPLE_ACTOR,
      action: meta.action,
      requestId: meta.requestId,
    };
    try {
      const { result, outcome, detail, readBack } = await fn();
      await audit.append({
        ...base,
        key: meta.key,
        at: new Date().toISOString(),
        outcome,
        ...(detail ? { detail } : {}),
        ...(readBack ? { readBack } : {}),
      });
      return result;
    } catch (err) {
      const failure = toActivityFailure(err);
      const final = failure instanceof ApplicationFailure && failure.nonRetryable;
      if (final || info.attempt === 1) {
        await audit.append({
          ...base,
          key: `${meta.key}#${final ? 'failed' : 'retrying'}`,
          at: new Date().toISOString(),
          outcome: final ? 'failed' : 'retrying',
          detail: { error: failure.message, attempt: info.attempt },
        });
      }
      throw failure;
    }
  }

  // ── finding people in Slack ───────────────────────────────────────────────────────────────────────────

  async function slackIdByEmail(email: string): Promise<string | undefined> {
    try {
      const slack = slackClient();
      const found = await slackCall('slack', () => slack.users.lookupByEmail({ email }));
      return found.user?.id;
    } catch (err) {
      if (err instanceof ConnectorError && err.type === 'not_found') return undefined;
      throw err;
    }
  }

  /**
   * May this HR person decide? Only while their identity-provider account is active: a manager Tenure offboarded or
   * suspended for a leave is inactive there. Without an identity provider connector nothing can be said (eligible).
   */
  async function approverEligibility(hrId: string): Promise<{ eligible: boolean; reason?: string }> {
    const idp = idpId ? deps.connectors.get(idpId) : undefined;
    if (!idp) return { eligible: true };
    const account = await idp.findByHrKey(hrId);
    if (!account) return { eligible: false, reason: 'has no account in the identity provider' };
    if (!account.active)
      return { eligible: false, reason: 'is not active in the identity provider (left, or on leave)' };
    return { eligible: true };
  }

  async function slackIdByHrId(hrId: string): Promise<string | undefined> {
    const idp = idpId ? deps.connectors.get(idpId) : undefined;
    if (!idp) return undefined;
    const account = await idp.findByHrKey(hrId);
    if (account && !account.active) return undefined;
    return account ? slackIdByEmail(account.userName) : undefined;
  }

  async function slackIdOf(ref: PersonRef): Promise<string | undefined> {
    switch (ref.kind) {
      case 'email':
        return slackIdByEmail(ref.email);
      case 'hr':
        return slackIdByHrId(ref.hrId);
      case 'manager-of': {
        const manager = deps.directory ? await deps.directory.managerOf(ref.hrId) : undefined;
        return manager ? slackIdByHrId(manager) : undefined;
      }
    }
  }

  async function slackIds(refs: readonly PersonRef[]): Promise<string[]> {
    const ids: string[] = [];
    for (const ref of refs) {
      const id = await slackIdOf(ref);
      if (id && !ids.includes(id)) ids.push(id);
    }
    return ids;
  }

  // ── posting ───────────────────────────────────────────────────────────────────────────────────────────

  async function post(to: string, message: { text: string; blocks: KnownBlock[] }): Promise<SlackMessageRef> {
    const slack = slackClient();
    const posted = await slackCall('slack', () =>
      slack.chat.postMessage({ channel: to, text: message.text, blocks: message.blocks }),
    );
    if (!posted.ts) throw new ConnectorError('transient', 'Slack returned no message ts', { systemId: 'slack' });
    return { channel: posted.channel ?? to, ts: posted.ts, to, escalation: false };
  }

  /** Updates each message in place; one Slack refuses (deleted, archived) does not stop the others. */
  async function updateAll(
    messages: readonly SlackMessageRef[],
    render: (m: SlackMessageRef) => { text: string; blocks: KnownBlock[] },
  ): Promise<MessagesUpdated> {
    const slack = slackClient();
    const out: MessagesUpdated = { updated: 0, failed: [] };
    for (const m of messages) {
      const body = render(m);
      try {
        await slackCall('slack', () =>
          slack.chat.update({ channel: m.channel, ts: m.ts, text: body.text, blocks: body.blocks }),
        );
        out.updated += 1;
      } catch (err) {
        if (err instanceof ConnectorError && !err.retryable) out.failed.push(`${m.channel}/${m.ts}: ${err.message}`);
        else throw err;
      }
    }
    return out;
  }

  /** Posts a reminder in each message's thread; a recipient Slack refuses does not stop the others. */
  async function remindAll(messages: readonly SlackMessageRef[], text: string): Promise<MessagesUpdated> {
    const slack = slackClient();
    const out: MessagesUpdated = { updated: 0, failed: [] };
    for (const m of messages) {
      try {
        await slackCall('slack', () => slack.chat.postMessage({ channel: m.channel, thread_ts: m.ts, text }));
        out.updated += 1;
      } catch (err) {
        if (err instanceof ConnectorError && !err.retryable) out.failed.push(`${m.channel}/${m.ts}: ${err.message}`);
        else throw err;
      }
    }
    return out;
  }

  function taskView(i: TaskRef, round: number, extra: Partial<TaskMessage> = {}): TaskMessage {
    return {
      workflowId: workflowId(),
      task: { taskId: i.taskId, systemName: i.systemName, action: i.action, instructions: i.instructions },
      round,
      ...extra,
    };
  }

  /** Connector errors out of an activity become retryable or permanent failures (see `toActivityFailure`). */
  async function classified<T>(
    fn: () => Promise<T>,
    failed?: { action: string; hrId: string; systemId: string },
  ): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const failure = toActivityFailure(err);
      // A permanent failure (a configuration error, nobody to ask) is evidence like any other failed step.
      if (failed && failure instanceof ApplicationFailure && failure.nonRetryable) {
        await audit.append({
          key: stepIdempotencyKey(workflowId(), `${failed.action}:${failed.systemId}:failed`),
          hrId: failed.hrId,
          systemId: failed.systemId,
          actor: PEOPLE_ACTOR,
          action: failed.action,
          requestId: workflowId(),
          at: new Date().toISOString(),
          outcome: 'failed',
          detail: { errorType: failure.type ?? 'error', error: failure.message },
        });
      }
      throw failure;
    }
  }

  async function prepareApproval(i: PrepareApprovalInput): Promise<ApprovalInput | null> {
    const handover = i.purpose === 'handover';
    const sys = handover ? handoverApprover(system(i.systemId)) : system(i.systemId);
    const plan = planApproval(sys, policy.people, i.record.managerHrId);
    if (!plan) return null;
    const fallback = await slackIds(plan.fallback);
    const levels: ApprovalLevel[] = [];
    for (const l of plan.levels) {
      const hrIds: Record<string, string> = {};
      let approvers = await slackIds(l.approvers);
      const manager = l.role === 'manager' ? l.approvers.find((r) => r.kind === 'hr') : undefined;
      if (manager?.kind === 'hr') {
        const check = await approverEligibility(manager.hrId);
        if (!check.eligible) {
          // A departed or suspended manager never approves: the next in the chain (their manager, else fallback).
          approvers = [];
          await audit.append({
            key: stepIdempotencyKey(workflowId(), `approver-skipped:${i.systemId}:${manager.hrId}`),
            hrId: i.hrId,
            systemId: i.systemId,
            actor: PEOPLE_ACTOR,
            action: 'approver_skipped',
            requestId: workflowId(),
            at: new Date().toISOString(),
            outcome: 'skipped',
            detail: { level: l.role, approverHrId: manager.hrId, reason: `the manager ${check.reason ?? ''}`.trim() },
          });
          const next = await slackIds(l.escalateTo);
          for (const ref of l.escalateTo) {
            if (ref.kind !== 'manager-of' || !deps.directory) continue;
            const boss = await deps.directory.managerOf(ref.hrId);
            const id = boss ? await slackIdByHrId(boss) : undefined;
            if (boss && id) hrIds[id] = boss;
          }
          approvers = next;
        } else {
          const id = await slackIdByHrId(manager.hrId);
          if (id) hrIds[id] = manager.hrId;
        }
      }
      if (approvers.length === 0) approvers = fallback;
      if (approvers.length === 0) {
        throw ApplicationFailure.nonRetryable(
          `nobody can approve ${i.systemId} at the ${l.role} level: no approver or fallback approver is in Slack`,
          'config',
        );
      }
      let escalateTo = await slackIds(l.escalateTo);
      if (escalateTo.length === 0) escalateTo = fallback;
      for (const ref of l.escalateTo) {
        if (ref.kind !== 'manager-of' || !deps.directory) continue;
        const boss = await deps.directory.managerOf(ref.hrId);
        const id = boss ? await slackIdByHrId(boss) : undefined;
        if (boss && id) hrIds[id] = boss;
      }
      levels.push({
        role: l.role,
        approvers,
        escalateTo: escalateTo.filter((x) => !approvers.includes(x)),
        ...(Object.keys(hrIds).length ? { hrIds } : {}),
      });
    }
    const name = displayName(i.record);
    return {
      requestId: approvalRequestId(i.hrId, i.eventId, i.systemId),
      hrId: i.hrId,
      systemId: i.systemId,
      context: {
        systemName: sys.name,
        department: i.record.department,
        title: i.record.title,
        startDate: i.record.hireDate,
        personName: `${name.givenName} ${name.familyName}`,
        ...(handover
          ? { purpose: 'handover' as const, ...(i.record.exitDate ? { exitDate: i.record.exitDate } : {}) }
          : {}),
      },
      levels,
      slaMs: plan.slaMs,
      reminderEveryMs: plan.reminderEveryMs,
      escalationSlaMs: plan.escalationSlaMs,
      timeoutOutcome: plan.timeoutOutcome,
    };
  }

  /** The manager's login at the identity provider, for a hand-over task; HR's id when they have no account. */
  async function managerLogin(managerHrId: string | undefined): Promise<string> {
    if (!managerHrId) return 'nobody: the leaver has no manager in HR, ask HR who takes over';
    const idp = idpId ? deps.connectors.get(idpId) : undefined;
    const account = await idp?.findByHrKey(managerHrId);
    return account ? `${account.userName} (their manager)` : `their manager, HR id ${managerHrId}`;
  }

  async function prepareManualTask(i: PrepareManualTaskInput): Promise<ManualTaskInput> {
    const sys = system(i.systemId);
    const handover = i.action === 'transfer_data' ? sys.dataHandover : undefined;
    if (i.action === 'transfer_data' && !handover) {
      throw ApplicationFailure.nonRetryable(`system "${i.systemId}" has no dataHandover in the policy`, 'config');
    }
    if (!handover && !isManualConnector(sys.connector)) {
      throw ApplicationFailure.nonRetryable(`system "${i.systemId}" is not a manual system`, 'config');
    }
    const fallback = await slackIds(ownerFallback(policy));
    let owners = await slackIds(ownerRefs(sys, policy.people));
    if (owners.length === 0) owners = fallback;
    if (owners.length === 0) {
      throw ApplicationFailure.nonRetryable(
        `nobody owns ${i.systemId} in Slack: no owner or fallback approver`,
        'config',
      );
    }
    const name = displayName(i.record);
    const login = i.workEmail ?? i.record.workEmail;
    const who = [
      `Person: ${name.givenName} ${name.familyName}`,
      login ? `login: ${login}` : undefined,
      `${i.record.title}, ${i.record.department}`,
      i.action === 'create_account' ? `starts ${i.record.hireDate}` : undefined,
      handover ? `give their data to: ${await managerLogin(i.record.managerHrId)}` : undefined,
    ].filter((x): x is string => x !== undefined);
    const instructions = handover?.instructions ?? (isManualConnector(sys.connector) ? sys.connector.instructions : '');
    const timings = taskTimings(sys, policy.people);
    return {
      taskId: manualTaskId(i.hrId, i.eventId, i.systemId, i.action),
      hrId: i.hrId,
      systemId: i.systemId,
      systemName: sys.name,
      action: i.action,
      instructions: `${instructions}\n${who.join(' · ')}`,
      owners,
      escalateTo: fallback.filter((x) => !owners.includes(x)),
      slaMs: timings.slaMs,
      reminderEveryMs: timings.reminderEveryMs,
      // A transfer cannot be seen by reading accounts: the owner's word (and who gave it) is the evidence.
      verify: !handover && deps.connectors.has(i.systemId),
      ...(login ? { accountUserName: login } : {}),
    };
  }

  /** The owners of a failed step's system (else the fallback approvers), as a fix-and-retry task. */
  async function prepareExceptionTask(i: PrepareExceptionTaskInput): Promise<ExceptionTaskPlan> {
    const giveUpAfterMs = policy.people?.exceptions.giveUpAfter ?? 7 * 86_400_000;
    const systemKey = i.systemId ?? 'tenure';
    const plan: ExceptionTaskPlan = await (async (): Promise<ExceptionTaskPlan> => {
      if (!deps.slack) return { giveUpAfterMs, noTask: 'no Slack configured: an operator retries with tenure retry' };
      const sys = i.systemId ? policy.systems.find((x) => x.id === i.systemId) : undefined;
      const fallback = await slackIds(ownerFallback(policy));
      let owners = sys ? await slackIds(ownerRefs(sys, policy.people)) : [];
      if (owners.length === 0) owners = fallback;
      if (owners.length === 0) return { giveUpAfterMs, noTask: 'nobody owns the system in Slack' };
      const timings = sys
        ? taskTimings(sys, policy.people)
        : {
            slaMs: policy.people?.tasks.sla ?? 3 * 86_400_000,
            reminderEveryMs: policy.people?.tasks.remindEvery ?? 86_400_000,
          };
      const taskId = manualTaskId(
        i.hrId,
        `${i.eventId}.${i.stepId.replace(/[^A-Za-z0-9_.-]/g, '-')}.${i.round}`,
        systemKey,
        'fix_exception',
      );
      return {
        giveUpAfterMs,
        task: {
          taskId,
          hrId: i.hrId,
          systemId: systemKey,
          systemName: sys?.name ?? 'Tenure',
          action: 'fix_exception',
          instructions:
            `The ${i.kind} step ${i.stepId} for HR id ${i.hrId} failed and retrying alone will not fix it: ${i.error}\n` +
            `Fix the cause, then click Done: Tenure runs the step again (or: tenure retry ${i.hrId} ${i.stepId}). ` +
            `Left unfixed, the step is abandoned after ${Math.round(giveUpAfterMs / 3_600_000)} h.`,
          owners,
          escalateTo: fallback.filter((x) => !owners.includes(x)),
          slaMs: timings.slaMs,
          reminderEveryMs: timings.reminderEveryMs,
          // The retry is the verification: Done is the owner's word that the cause is fixed.
          verify: false,
        },
      };
    })();
    await audit.append({
      key: stepIdempotencyKey(workflowId(), `exception:${i.stepId}:${i.round}:opened`),
      hrId: i.hrId,
      systemId: systemKey,
      actor: PEOPLE_ACTOR,
      action: 'exception_opened',
      requestId: workflowId(),
      at: new Date().toISOString(),
      outcome: plan.task ? 'owner_task' : 'operator',
      detail: {
        stepId: i.stepId,
        round: i.round,
        giveUpAfterMs,
        ...(plan.task ? { taskId: plan.task.taskId, owners: plan.task.owners.length } : { noTask: plan.noTask }),
      },
    });
    return plan;
  }

  return {
    /**
     * A step in exception: the fix-and-retry task for its owners (their Done retries the step), and the give-up
     * time; the exception's opening is evidence.
     */
    prepareExceptionTask(i: PrepareExceptionTaskInput): Promise<ExceptionTaskPlan> {
      return classified(() => prepareExceptionTask(i));
    },

    /**
     * A manager's decision, checked again when it arrives: still active in the identity provider? A refusal is
     * evidence; the request stays open for the others.
     */
    async checkApprover(i: {
      requestId: string;
      hrId: string;
      systemId: string;
      level: number;
      slackUserId: string;
      approverHrId: string;
    }): Promise<{ eligible: boolean; reason?: string }> {
      const check = await classified(() => approverEligibility(i.approverHrId));
      if (!check.eligible) {
        await audit.append({
          key: stepIdempotencyKey(workflowId(), `approver-refused:${i.level}:${i.slackUserId}`),
          hrId: i.hrId,
          systemId: i.systemId,
          actor: { type: 'person', id: `slack:${i.slackUserId}` },
          action: 'approval_decision_refused',
          requestId: i.requestId,
          at: new Date().toISOString(),
          outcome: 'refused',
          detail: { level: i.level, approverHrId: i.approverHrId, reason: `the approver ${check.reason ?? ''}`.trim() },
        });
      }
      return check;
    },

    /** A step nobody fixed in time is abandoned: evidence, so the run can end and later events go ahead. */
    async recordExceptionAbandoned(i: {
      hrId: string;
      stepId: string;
      systemId?: string;
      round: number;
      afterMs: number;
    }): Promise<void> {
      await audit.append({
        key: stepIdempotencyKey(workflowId(), `exception:${i.stepId}:${i.round}:abandoned`),
        hrId: i.hrId,
        systemId: i.systemId ?? 'tenure',
        actor: PEOPLE_ACTOR,
        action: 'exception_abandoned',
        requestId: workflowId(),
        at: new Date().toISOString(),
        outcome: 'abandoned',
        detail: { stepId: i.stepId, round: i.round, afterMs: i.afterMs },
      });
    },

    /**
     * The approval request for granting `systemId` to this person, with approvers and escalation targets found in
     * Slack; `null` when the system's policy needs no approval. A level whose people cannot be found goes to the
     * fallback approvers.
     */
    prepareApproval(i: PrepareApprovalInput): Promise<ApprovalInput | null> {
      return classified(() => prepareApproval(i), { action: 'prepare_approval', hrId: i.hrId, systemId: i.systemId });
    },

    /**
     * The manual task for a system with no API: the owner team (found in Slack) is asked to do `action`; the task is
     * verified by reading the app when the system has a connector that can read it.
     */
    prepareManualTask(i: PrepareManualTaskInput): Promise<ManualTaskInput> {
      return classified(() => prepareManualTask(i), {
        action: 'prepare_manual_task',
        hrId: i.hrId,
        systemId: i.systemId,
      });
    },

    /** Sends one approver (or escalation target) the request with Approve and Reject. */
    postApprovalRequest(i: ApprovalMessageInput): Promise<SlackMessageRef> {
      const wf = workflowId();
      const escalation = i.escalatedFrom !== undefined;
      return act(
        {
          key: stepIdempotencyKey(wf, `approval:${i.level}:${escalation ? 'escalate' : 'request'}:${i.to}`),
          action: escalation ? 'approval_escalated' : 'approval_requested',
          hrId: i.hrId,
          systemId: i.systemId,
          requestId: wf,
        },
        async () => {
          const ref = await post(
            i.to,
            approvalRequestMessage({
              workflowId: wf,
              requestId: i.requestId,
              level: i.level,
              role: i.role,
              context: i.context,
              decideBy: i.decideBy,
              ...(i.escalatedFrom ? { escalatedFrom: i.escalatedFrom } : {}),
            }),
          );
          return {
            result: { ...ref, escalation },
            outcome: 'sent',
            detail: { level: i.level, role: i.role, to: i.to, channel: ref.channel, ts: ref.ts, decideBy: i.decideBy },
          };
        },
      );
    },

    /** Reminds everyone waited on, in the thread of their request message. */
    remindApprovers(i: ApprovalReminderInput): Promise<MessagesUpdated> {
      const wf = workflowId();
      return act(
        {
          key: stepIdempotencyKey(wf, `approval:${i.level}:reminder:${i.reminder}`),
          action: 'approval_reminded',
          hrId: i.hrId,
          systemId: i.systemId,
          requestId: wf,
        },
        async () => {
          const r = await remindAll(i.messages, approvalReminderText(i));
          return {
            result: r,
            outcome: r.updated > 0 ? 'sent' : 'failed',
            detail: { level: i.level, reminder: i.reminder, to: i.messages.map((m) => m.to), failed: r.failed },
          };
        },
      );
    },

    /**
     * Records a level's outcome (a person's decision, the timeout, a withdrawal) and updates its messages in place.
     * The decision is evidence first: a message Slack will not update does not undo it.
     */
    async settleApproval(i: SettleApprovalInput): Promise<MessagesUpdated> {
      const wf = workflowId();
      const decided = i.outcome === 'approved' || i.outcome === 'rejected';
      const evidence: EvidenceInput = {
        key: stepIdempotencyKey(wf, `approval:${i.level}:decision`),
        at: i.at,
        hrId: i.hrId,
        systemId: i.systemId,
        actor: decided && i.decidedBy ? personActor(`slack:${i.decidedBy}`) : PEOPLE_ACTOR,
        action: i.outcome === 'cancelled' ? 'approval_cancelled' : 'approval_decided',
        requestId: wf,
        outcome: i.outcome,
        detail: {
          level: i.level,
          role: i.role,
          ...(i.reason ? { reason: i.reason } : {}),
          ...(i.decisionId ? { decisionId: i.decisionId } : {}),
          ...(i.outcome === 'timed_out' ? { policyOutcome: 'denied' } : {}),
        },
      };
      await audit.append(evidence);
      try {
        const view = {
          workflowId: wf,
          requestId: i.requestId,
          level: i.level,
          role: i.role,
          context: i.context,
          decideBy: i.at,
        };
        const outcome: ApprovalOutcome = {
          outcome: i.outcome,
          at: i.at,
          ...(i.decidedBy ? { decidedBy: i.decidedBy } : {}),
          ...(i.reason ? { reason: i.reason } : {}),
          ...(i.next ? { next: i.next } : {}),
        };
        return await updateAll(i.messages, () => approvalOutcomeMessage(view, outcome));
      } catch (err) {
        throw toActivityFailure(err);
      }
    },

    /** Sends one owner (or escalation target) the task with its Done button. */
    postManualTask(i: TaskMessageInput): Promise<SlackMessageRef> {
      const wf = workflowId();
      const escalation = i.escalatedFrom !== undefined;
      return act(
        {
          key: stepIdempotencyKey(wf, `task:${escalation ? 'escalate' : 'open'}:${i.to}`),
          action: escalation ? 'manual_task_escalated' : 'manual_task_opened',
          hrId: i.hrId,
          systemId: i.systemId,
          requestId: wf,
        },
        async () => {
          const extra: Partial<TaskMessage> = {};
          if (i.dueBy) extra.dueBy = i.dueBy;
          if (i.escalatedFrom) extra.escalatedFrom = i.escalatedFrom;
          const ref = await post(i.to, taskMessage(taskView(i, i.round, extra)));
          return {
            result: { ...ref, escalation },
            outcome: 'sent',
            detail: { taskId: i.taskId, action: i.action, to: i.to, channel: ref.channel, ts: ref.ts },
          };
        },
      );
    },

    remindTaskOwners(i: TaskReminderInput): Promise<MessagesUpdated> {
      const wf = workflowId();
      return act(
        {
          key: stepIdempotencyKey(wf, `task:reminder:${i.reminder}`),
          action: 'manual_task_reminded',
          hrId: i.hrId,
          systemId: i.systemId,
          requestId: wf,
        },
        async () => {
          const r = await remindAll(i.messages, taskReminderText({ systemName: i.systemName, reminder: i.reminder }));
          return {
            result: r,
            outcome: r.updated > 0 ? 'sent' : 'failed',
            detail: { taskId: i.taskId, reminder: i.reminder, to: i.messages.map((m) => m.to), failed: r.failed },
          };
        },
      );
    },

    /**
     * Reads the app to check that the task is done: the account exists (create) or is inactive or gone (disable).
     * `unverifiable` when the app cannot be read. A read that fails for good counts as not done.
     */
    verifyManualTask(i: VerifyManualTaskInput): Promise<VerifyManualTaskResult> {
      const wf = workflowId();
      return act<VerifyManualTaskResult>(
        {
          key: stepIdempotencyKey(wf, `task:verify:${i.round}`),
          action: 'manual_task_verified',
          hrId: i.hrId,
          systemId: i.systemId,
          requestId: wf,
          actor: personActor(i.by),
        },
        async () => {
          const reader = deps.connectors.get(i.systemId);
          if (!reader) {
            return {
              result: { outcome: 'unverifiable' },
              outcome: 'unverifiable',
              detail: { taskId: i.taskId, round: i.round },
            };
          }
          const account = await reader.findByHrKey(i.hrId, i.accountUserName);
          const readBack = account
            ? { found: true, active: account.active, accountId: account.id }
            : { found: false as boolean };
          let error: string | undefined;
          if (i.action === 'create_account' && !account) {
            error = `${i.systemName} shows no account for this person yet`;
          } else if (i.action === 'disable_account' && account?.active) {
            error = `${i.systemName} still shows the account active`;
          }
          const result: VerifyManualTaskResult = error
            ? { outcome: 'not_done', error, readBack }
            : { outcome: 'verified', readBack };
          return {
            result,
            outcome: error ? 'failed' : 'verified',
            detail: { taskId: i.taskId, round: i.round, ...(error ? { error } : {}) },
            readBack,
          };
        },
      );
    },

    /** After a failed verification: the messages say why and carry the next round's Done button. */
    async refreshTaskMessages(i: RefreshTaskMessagesInput): Promise<MessagesUpdated> {
      try {
        return await updateAll(i.messages, (m) => {
          const extra: Partial<TaskMessage> = {};
          if (i.dueBy) extra.dueBy = i.dueBy;
          if (i.verificationError) extra.verificationError = i.verificationError;
          if (m.escalation) extra.escalatedFrom = i.owners;
          return taskMessage(taskView(i, i.round, extra));
        });
      } catch (err) {
        throw toActivityFailure(err);
      }
    },

    /** Records the task's outcome and updates its messages in place. */
    async settleManualTask(i: SettleManualTaskInput): Promise<MessagesUpdated> {
      const wf = workflowId();
      await audit.append({
        key: stepIdempotencyKey(wf, `task:${i.outcome}`),
        at: i.at,
        hrId: i.hrId,
        systemId: i.systemId,
        actor: i.by ? personActor(i.by) : PEOPLE_ACTOR,
        action: i.outcome === 'done' ? 'manual_task_completed' : 'manual_task_cancelled',
        requestId: wf,
        outcome: i.outcome,
        detail: {
          taskId: i.taskId,
          action: i.action,
          round: i.round,
          ...(i.verification ? { verification: i.verification } : {}),
          ...(i.completionId ? { completionId: i.completionId } : {}),
          ...(i.note ? { note: i.note.slice(0, MAX_NOTE_LENGTH) } : {}),
        },
      });
      try {
        const outcome: TaskOutcome = {
          outcome: i.outcome,
          at: i.at,
          ...(i.by ? { by: i.by } : {}),
          ...(i.verification ? { verification: i.verification } : {}),
        };
        return await updateAll(i.messages, () => taskOutcomeMessage(taskView(i, i.round), outcome));
      } catch (err) {
        throw toActivityFailure(err);
      }
    },
  };
}

/** Manual tasks escalate to the fallback approvers. */
/** A hand-over is the manager's to accept, whatever the system's grant approval says; its timings carry over. */
function handoverApprover(sys: PeopleSystem): PeopleSystem {
  const rule = sys.approval;
  return {
    ...sys,
    approval: {
      approvers: ['manager'],
      escalateTo: rule?.escalateTo ?? 'next-manager',
      onTimeout: 'deny',
      ...(rule?.sla ? { sla: rule.sla } : {}),
      ...(rule?.remindEvery ? { remindEvery: rule.remindEvery } : {}),
      ...(rule?.escalationSla ? { escalationSla: rule.escalationSla } : {}),
    },
  };
}

function ownerFallback(policy: PeoplePolicy): PersonRef[] {
  return (policy.people?.fallbackApprovers ?? []).map((email) => ({ kind: 'email', email }));
}

export type PeopleActivities = ReturnType<typeof createPeopleActivities>;
