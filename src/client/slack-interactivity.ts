/**
 * Slack interactivity (DESIGN §5 Humans, §6 Slack): `POST /slack/interactivity`, where Slack sends the clicks on
 * Tenure's approval and task messages. In order:
 *
 * 1. the `v0=` signature over the raw body and the timestamp (5 minutes either way) — else 401;
 * 2. the `payload` form field, a `block_actions` payload — anything else is acknowledged and ignored;
 * 3. the Slack user who clicked (from the signed payload) is the person who decides;
 * 4. the decision goes to the workflow as an Update whose id is derived from the action (user, level or round,
 *    button), so a double click or a Slack retry is one decision. The workflow's validator decides whether this
 *    person may decide and whether the request is still open. Both handlers only record the decision and return,
 *    so the answer comes well within Slack's 3 seconds; a task's verification then runs in its workflow, which
 *    updates the message in place with the result.
 *
 * A refusal (not an approver, a closed request) is an ephemeral Slack reply plus HTTP 200, as Slack expects; a
 * forged or stale request is a 401. Every refusal is appended to the audit store; none reaches a workflow's state.
 */
import type { WebClient } from '@slack/web-api';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import express from 'express';
import { z } from 'zod';
import type { AuditStore, EvidenceInput } from '../activities/audit/types';
import {
  APPROVE_ACTION_ID,
  REJECT_ACTION_ID,
  TASK_DONE_ACTION_ID,
  parseApprovalBlockId,
  parseTaskDoneValue,
} from '../activities/slack/blocks';
import { slackCall } from '../activities/slack/notifier';
import { parsePeopleWorkflowId, rejectReasonLabel } from '../domain/approval';
import type { Logger } from '../logger';
import type { ApprovalStatus, Decision } from '../workflows/approval/messages';
import { approvalStatusQuery, decideUpdate } from '../workflows/approval/messages';
import type { ManualTaskStatus } from '../workflows/task/messages';
import { completeTaskUpdate, taskStatusQuery } from '../workflows/task/messages';
import { verifySlackRequest } from './signature';
import { requestIdOf, requireContentType, sendError } from './http-errors';
import type { CountRefusal } from './refusals';

export const SLACK_INTERACTIVITY_PATH = '/slack/interactivity';

export interface SlackInteractivityOptions {
  client: Client;
  /** Slack's signing secret (secret: from the environment, never logged). */
  signingSecret: string;
  /** For ephemeral replies to refused clicks. */
  slack: WebClient;
  audit: AuditStore;
  logger: Logger;
  /** @default Date.now */
  now?: () => number;
  /** Largest accepted body. @default "64kb" */
  bodyLimit?: string;
  /** Told of every refusal before the signature is verified (they are counted, not audited one by one). */
  countRefusal?: CountRefusal;
  /**
   * The Slack workspace whose people may decide (policy `slack.teamId` / `slack.enterpriseId`). A click correctly
   * signed with the app's secret but from another workspace (the same app installed elsewhere) is refused.
   * @default the bot token's own workspace, from Slack's `auth.test` (asked once)
   */
  workspace?: SlackWorkspace;
}

export interface SlackWorkspace {
  teamId: string;
  /** The Enterprise Grid organization, when the workspace is in one. */
  enterpriseId?: string;
}

/** Why a payload is not from `ws`, or undefined when it is. */
export function foreignWorkspace(
  p: {
    team?: { id?: string; enterprise_id?: string } | null;
    user?: { team_id?: string };
    enterprise?: { id?: string } | null;
  },
  ws: SlackWorkspace,
): string | undefined {
  const teams = [p.team?.id, p.user?.team_id].filter((t): t is string => typeof t === 'string' && t !== '');
  if (teams.length === 0) return 'the payload names no workspace';
  if (teams.some((t) => t !== ws.teamId)) return 'the click comes from another Slack workspace';
  const enterprise = p.enterprise?.id ?? p.team?.enterprise_id;
  if (enterprise !== undefined && enterprise !== ws.enterpriseId)
    return 'the click comes from another Slack organization';
  if (ws.enterpriseId !== undefined && enterprise === undefined) return 'the click names no Slack organization';
  return undefined;
}

const ENDPOINT_ACTOR = { type: 'system', id: 'tenure-slack-interactivity' } as const;

const payloadSchema = z.object({
  type: z.string(),
  user: z.object({ id: z.string().min(1), team_id: z.string().optional() }).optional(),
  team: z.object({ id: z.string().optional(), enterprise_id: z.string().optional() }).nullish(),
  enterprise: z.object({ id: z.string().optional() }).nullish(),
  channel: z.object({ id: z.string().min(1) }).nullish(),
  container: z.object({ channel_id: z.string().optional() }).nullish(),
  actions: z
    .array(
      z.object({
        action_id: z.string(),
        block_id: z.string().optional(),
        value: z.string().optional(),
        selected_option: z.object({ value: z.string() }).nullish(),
      }),
    )
    .optional(),
});
type Payload = z.infer<typeof payloadSchema>;
type Action = NonNullable<Payload['actions']>[number];

/** A click Tenure understands. */
type Intent =
  | { kind: 'approval'; workflowId: string; level: number; decision: Decision['decision']; reason?: string }
  | { kind: 'task'; workflowId: string; round: number }
  /** One of ours, but malformed (an unknown reason, a bad block id). */
  | { kind: 'invalid'; workflowId?: string; message: string };

function intentOf(a: Action): Intent | undefined {
  if (a.action_id === APPROVE_ACTION_ID || a.action_id === REJECT_ACTION_ID) {
    const block = a.block_id ? parseApprovalBlockId(a.block_id) : undefined;
    if (!block) return { kind: 'invalid', message: 'this button does not belong to a Tenure request' };
    if (a.action_id === APPROVE_ACTION_ID) return { kind: 'approval', ...block, decision: 'approve' };
    const code = a.selected_option?.value ?? '';
    const reason = rejectReasonLabel(code);
    if (!reason) return { kind: 'invalid', workflowId: block.workflowId, message: 'pick one of the listed reasons' };
    return { kind: 'approval', ...block, decision: 'reject', reason };
  }
  if (a.action_id === TASK_DONE_ACTION_ID) {
    const v = a.value ? parseTaskDoneValue(a.value) : undefined;
    if (!v) return { kind: 'invalid', message: 'this button does not belong to a Tenure task' };
    return { kind: 'task', ...v };
  }
  return undefined;
}

/** The update id of a click: the same person clicking the same thing again is the same update. */
export function slackUpdateId(userId: string, intent: Exclude<Intent, { kind: 'invalid' }>): string {
  return intent.kind === 'approval'
    ? `slack:${userId}:a${intent.level}:${intent.decision}`
    : `slack:${userId}:done:${intent.round}`;
}

export function createSlackInteractivityRouter(opts: SlackInteractivityOptions): express.Router {
  const now = opts.now ?? Date.now;
  const log = opts.logger;
  const router = express.Router();

  /** The workspace clicks must come from: configured, else the bot token's (auth.test, asked once; retried on failure). */
  let learned: Promise<SlackWorkspace> | undefined;
  const workspace = (): Promise<SlackWorkspace> => {
    if (opts.workspace) return Promise.resolve(opts.workspace);
    learned ??= slackCall('slack', () => opts.slack.auth.test()).then((r) => {
      const a = r as { team_id?: string; enterprise_id?: string };
      if (!a.team_id) throw new Error('auth.test named no team');
      return { teamId: a.team_id, ...(a.enterprise_id ? { enterpriseId: a.enterprise_id } : {}) };
    });
    learned.catch(() => {
      learned = undefined;
    });
    return learned;
  };

  /** Evidence must not turn a refusal into a 500; a failed write is logged loudly instead. */
  const recordSafely = async (e: EvidenceInput): Promise<void> => {
    try {
      await opts.audit.append(e);
    } catch (err) {
      log.error({ key: e.key, err: (err as Error).message }, 'audit write failed');
    }
  };

  const ephemeral = async (channel: string, user: string, text: string): Promise<boolean> => {
    try {
      await slackCall('slack', () => opts.slack.chat.postEphemeral({ channel, user, text }));
      return true;
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not send an ephemeral reply');
      return false;
    }
  };

  router.post(
    SLACK_INTERACTIVITY_PATH,
    requireContentType('application/x-www-form-urlencoded', opts.countRefusal),
    express.raw({ type: () => true, limit: opts.bodyLimit ?? '64kb' }),
    async (req, res) => {
      const requestId = requestIdOf(res);
      const at = (): string => new Date(now()).toISOString();
      const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);

      // 1. Signature and freshness, over the raw bytes, before anything is parsed.
      const verified = verifySlackRequest({
        secret: opts.signingSecret,
        timestamp: req.get('x-slack-request-timestamp'),
        signature: req.get('x-slack-signature'),
        rawBody,
        nowSeconds: Math.floor(now() / 1000),
      });
      const refuseHttp = async (status: number, error: string, message: string): Promise<void> => {
        log.warn(
          { path: SLACK_INTERACTIVITY_PATH, requestId, status, error, reason: message },
          'slack request refused',
        );
        await recordSafely({
          key: `slack:${requestId}`,
          at: at(),
          actor: ENDPOINT_ACTOR,
          action: 'slack_request_refused',
          requestId,
          outcome: 'refused',
          detail: { endpoint: SLACK_INTERACTIVITY_PATH, status, error, reason: message },
        });
        sendError(res, status, error, message);
      };
      if (!verified.ok) {
        if (opts.countRefusal)
          opts.countRefusal(req, res, { status: 401, error: 'bad_signature', message: verified.reason });
        else
          log.warn(
            { path: SLACK_INTERACTIVITY_PATH, requestId, status: 401, reason: verified.reason },
            'slack request refused',
          );
        return sendError(res, 401, 'bad_signature', verified.reason);
      }

      // 2. The payload.
      let payload: Payload;
      try {
        const field = new URLSearchParams(rawBody.toString('utf8')).get('payload');
        if (field === null) return refuseHttp(400, 'no_payload', 'the form has no "payload" field');
        const parsed = payloadSchema.safeParse(JSON.parse(field));
        if (!parsed.success) return refuseHttp(400, 'invalid_payload', 'the payload is not a Slack interaction');
        payload = parsed.data;
      } catch {
        return refuseHttp(400, 'invalid_payload', 'the payload is not JSON');
      }
      // 2b. The workspace: the app's signing secret is the same in every workspace it is installed in.
      let ws: SlackWorkspace;
      try {
        ws = await workspace();
      } catch (err) {
        log.error({ requestId, err: (err as Error).name }, 'could not learn the Slack workspace (auth.test)');
        return sendError(res, 503, 'unavailable', 'could not check the Slack workspace; try again');
      }
      const foreign = foreignWorkspace(payload, ws);
      if (foreign) return refuseHttp(403, 'foreign_workspace', foreign);

      const action = payload.actions?.[0];
      const intent = payload.type === 'block_actions' && action ? intentOf(action) : undefined;
      const userId = payload.user?.id;
      if (!intent || !userId || !action) {
        log.debug({ requestId, type: payload.type }, 'slack interaction ignored: not a Tenure action');
        res.status(200).send('');
        return;
      }
      const channel = payload.channel?.id ?? payload.container?.channel_id ?? userId;
      const ref = intent.workflowId ? parsePeopleWorkflowId(intent.workflowId) : undefined;

      // 3. A refusal: an ephemeral reply to the person, evidence, and 200 so Slack shows nothing else.
      const refuse = async (code: string, message: string): Promise<void> => {
        log.info({ requestId, kind: intent.kind, code }, 'slack action refused');
        const replied = await ephemeral(channel, userId, `:no_entry: ${capitalise(message)}`);
        await recordSafely({
          key: `slack:${requestId}`,
          at: at(),
          ...(ref ? { hrId: ref.hrId, systemId: ref.systemId } : {}),
          actor: { type: 'person', id: `slack:${userId}` },
          action: intent.kind === 'task' ? 'manual_task_refused' : 'approval_refused',
          requestId: intent.workflowId ?? requestId,
          outcome: 'refused',
          detail: {
            code,
            reason: message,
            slackActionId: action.action_id,
            ...(intent.kind === 'approval' ? { level: intent.level, decision: intent.decision } : {}),
            ...(intent.kind === 'task' ? { round: intent.round } : {}),
            ephemeralReply: replied,
          },
        });
        res.status(200).send('');
      };
      if (intent.kind === 'invalid') return refuse('InvalidAction', intent.message);
      if (!ref || ref.kind !== intent.kind) return refuse('UnknownRequest', 'this is not a Tenure request');

      // 4. The decision, as an Update with an id derived from the click.
      const updateId = slackUpdateId(userId, intent);
      const handle = opts.client.workflow.getHandle(intent.workflowId);
      try {
        if (intent.kind === 'approval') {
          const decision: Decision = {
            decision: intent.decision,
            slackUserId: userId,
            level: intent.level,
            ...(intent.reason ? { reason: intent.reason } : {}),
          };
          await handle.executeUpdate(decideUpdate, { args: [decision], updateId });
        } else {
          await handle.executeUpdate(completeTaskUpdate, { args: [{ by: `slack:${userId}` }], updateId });
        }
        log.info({ requestId, kind: intent.kind }, 'slack action delivered');
        res.status(200).send('');
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError) {
          const cause = err.cause;
          const code = cause instanceof ApplicationFailure ? (cause.type ?? 'Refused') : 'Refused';
          return refuse(code, cause?.message ?? err.message);
        }
        if (err instanceof WorkflowNotFoundError) {
          // The workflow has finished (or never existed): a repeat of the decision that closed it is not a refusal.
          log.debug({ requestId, kind: intent.kind }, 'slack action on a closed or unknown workflow');
          const closed = await closedAnswer(handle, intent.kind, updateId);
          if (closed && 'repeat' in closed) {
            log.info({ requestId, kind: intent.kind }, 'slack action repeated after close; nothing to do');
            res.status(200).send('');
            return;
          }
          return closed
            ? refuse('RequestClosed', closed.closed)
            : refuse('UnknownRequest', 'this request is no longer known');
        }
        log.error({ requestId, kind: intent.kind, err: (err as Error).message }, 'could not deliver a slack action');
        sendError(res, 503, 'unavailable', 'could not reach Temporal; try again');
      }
    },
  );
  return router;
}

/** For a finished workflow: `repeat` when this very update closed it, else why it is closed (undefined: unknown). */
async function closedAnswer(
  handle: WorkflowHandle,
  kind: 'approval' | 'task',
  updateId: string,
): Promise<{ repeat: true } | { closed: string } | undefined> {
  try {
    if (kind === 'approval') {
      const s: ApprovalStatus = await handle.query(approvalStatusQuery);
      if (s.levels.some((l) => l.decisionId === updateId)) return { repeat: true };
      return { closed: `this request is closed (${s.state.replace('_', ' ')})` };
    }
    const s: ManualTaskStatus = await handle.query(taskStatusQuery);
    if (s.completionId === updateId) return { repeat: true };
    return { closed: `this task is closed (${s.state})` };
  } catch {
    return undefined;
  }
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
