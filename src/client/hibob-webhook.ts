/**
 * The HiBob webhook endpoint (`POST /webhooks/hibob`), as an express router to mount on the intake app.
 *
 * Verify `Bob-Signature` → parse the v2 event → read the employee over the People API → map it (all in
 * `hibobWebhookRecord`) → derive the kind against what the entity last accepted → deliver through the mass-change
 * guard. One employee per delivery, so one answer. HiBob sends no timestamp header: a replay is caught as a duplicate
 * by the event's stable id (`hibobEventId`). See docs/hris.md ("HiBob webhook endpoint").
 */
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import express from 'express';
import type { EvidenceInput } from '../activities/audit/types';
import { HibobClient } from '../activities/hris/hibob/client';
import { hibobWebhookRecord, type HibobWebhookOutcome } from '../activities/hris/hibob/intake';
import type { HibobMappingOptions } from '../activities/hris/hibob/mapping';
import { HIBOB_SIGNATURE_HEADER } from '../activities/hris/hibob/webhook';
import { ConnectorError } from '../activities/identity';
import type { EmployeeRecord, HrEvent, HrEventKind } from '../domain/employee';
import { employeeWorkflowId } from '../domain/ids';
import type { Policy } from '../domain/policy';
import type { SyncPolicy } from '../domain/policy-sync';
import { deliverOneGuarded } from '../guard';
import type { Logger } from '../logger';
import type { TenureMetrics } from '../observability/metrics';
import { employeeStatusQuery, type EmployeeStatus } from '../workflows/employee/messages';
import { deriveBambooKind } from './bamboohr-webhook';
import type { Refusal } from './http-errors';
import { requestIdOf, sendError } from './http-errors';
import type { CountRefusal } from './refusals';

export const HIBOB_WEBHOOK_PATH = '/webhooks/hibob';

/** The source name on events, evidence and metrics. */
const SOURCE = 'hibob';
const ACTOR = { type: 'system', id: 'tenure-intake' } as const;
/** Retry-After when HiBob could not be read and HiBob gave no delay of its own. */
const DEFAULT_RETRY_AFTER_SECONDS = 60;

/** What `hibobWebhookConfigFromPolicy` builds: the router's `secret`, `hibob` and `mapping`. */
export interface HibobWebhookConfig {
  secret: string;
  hibob: HibobClient;
  mapping: Omit<HibobMappingOptions, 'updatedAt'>;
}

/**
 * The HiBob webhook from the policy's `sync.source` (type `hibob` with `webhookSecretEnv`), its secrets read from the
 * environment now; `undefined` when the source is not HiBob or has no webhook secret. Throws, naming the variable,
 * when one it names is not set.
 */
export function hibobWebhookConfigFromPolicy(
  sync: SyncPolicy | undefined,
  vars: NodeJS.ProcessEnv,
): HibobWebhookConfig | undefined {
  const src = sync?.source;
  if (src?.type !== 'hibob' || src.webhookSecretEnv === undefined) return undefined;
  const need = (name: string): string => {
    const v = vars[name];
    if (!v) throw new Error(`hibob webhook: environment variable ${name} is not set`);
    return v;
  };
  return {
    secret: need(src.webhookSecretEnv),
    hibob: new HibobClient({
      baseUrl: src.baseUrl,
      serviceUserId: need(src.serviceUserIdEnv),
      token: need(src.tokenEnv),
    }),
    mapping: { locations: src.locations, ...(src.defaultLocation ? { defaultLocation: src.defaultLocation } : {}) },
  };
}

export interface HibobWebhookRouterOptions extends HibobWebhookConfig {
  client: Client;
  taskQueue: string;
  logger: Logger;
  /** @default Date.now */
  now?: () => number;
  /** Largest body. @default "256kb" */
  bodyLimit?: string;
  /** Told of every refusal before the signature is verified (they are counted, not audited one by one). */
  countRefusal?: CountRefusal;
  /** Records a refusal of a correctly signed delivery (one audit row each). */
  recordRefusal?: (requestId: string, r: Refusal, hrId?: string) => Promise<void>;
  /** Writes evidence of what a signed delivery led to (received, held, reported). */
  recordEvidence?: (e: EvidenceInput) => Promise<void>;
  /** The policy the workers run: the mass-change guard plans each event with it (docs/guard.md). Absent: unguarded. */
  policy?: Policy;
  metrics?: TenureMetrics;
}

/** The answer to one HiBob delivery. */
export interface HibobWebhookAnswer {
  /**
   * `ignored`: a ping or a non-employee event, or a leaver Tenure never knew; `reported`: deleted in (or gone from)
   * HiBob, recorded and left to the roster sync, never a termination; `held`: the mass-change guard holds it.
   */
  outcome: 'accepted' | 'duplicate' | 'held' | 'ignored' | 'reported';
  employeeId?: string;
  eventId?: string;
  kind?: HrEventKind;
  workflowId?: string;
  effectiveAt?: string;
  holdId?: string;
  reason?: string;
}

/** What the entity knows of a person: the record it last accepted, its accepted hire, the events it has seen. */
async function entityOf(client: Client, hrId: string): Promise<EmployeeStatus | undefined> {
  try {
    return await client.workflow.getHandle(employeeWorkflowId(hrId)).query(employeeStatusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/**
 * The kind for a mapped record, derived exactly as BambooHR's webhook does (`deriveBambooKind`: terminated →
 * termination, on leave → leave_start, no accepted hire → hire, else change), then read against the record the entity
 * last accepted, as the roster sync reads it (src/sync/diff.ts): already on leave or already terminated is a change,
 * back from leave a leave_end. `null` for a leaver Tenure never knew (nothing to take away, no hire to send). An event
 * id the entity has already seen keeps the kind it was received with, so the entity answers it as a duplicate.
 */
export function deriveHibobKind(record: EmployeeRecord, eventId: string, entity?: EmployeeStatus): HrEventKind | null {
  const seen = entity?.events.find((e) => e.eventId === eventId);
  if (seen) return seen.kind;
  const previous = entity?.record;
  const hasAcceptedHire = entity?.events.some((e) => e.kind === 'hire' && e.outcome === 'accepted') ?? false;
  if (!hasAcceptedHire) {
    if (record.status === 'terminated' && previous === undefined) return null;
    return deriveBambooKind(record, false);
  }
  const kind = deriveBambooKind(record, true);
  if (kind === 'leave_start' && previous?.status === 'on_leave') return 'change';
  if (kind === 'termination' && previous?.status === 'terminated') return 'change';
  if (kind === 'change' && previous?.status === 'on_leave' && record.status === 'active') return 'leave_end';
  return kind;
}

/** `"<field>: <message>"` → `{ path, message }`: HiBob field names, never values. */
function issueOf(text: string): { path: string; message: string } {
  const at = text.indexOf(': ');
  return at < 0 ? { path: '(record)', message: text } : { path: text.slice(0, at), message: text.slice(at + 2) };
}

/** The router: mount it on the intake app (before its 404 handler). */
export function createHibobWebhookRouter(opts: HibobWebhookRouterOptions): express.Router {
  const now = opts.now ?? Date.now;
  const log = opts.logger;
  const router = express.Router();
  const count = (outcome: 'accepted' | 'duplicate' | 'refused' | 'failed', reason?: string): void =>
    opts.metrics?.hrEvent({ source: SOURCE, outcome, ...(reason !== undefined ? { reason } : {}) });

  router.post(
    HIBOB_WEBHOOK_PATH,
    // HiBob's connection test may arrive as a bare string: any Content-Type is read raw; the signature decides.
    express.raw({ type: () => true, limit: opts.bodyLimit ?? '256kb' }),
    async (req, res) => {
      const requestId = requestIdOf(res);
      const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const receivedAt = new Date(now()).toISOString();
      const refuse = async (
        r: Refusal & { issues?: { path: string; message: string }[] },
        hrId?: string,
      ): Promise<void> => {
        count('refused', r.error);
        log.warn(
          { path: HIBOB_WEBHOOK_PATH, requestId, status: r.status, error: r.error, reason: r.message },
          'hibob webhook refused',
        );
        await opts.recordRefusal?.(requestId, { status: r.status, error: r.error, message: r.message }, hrId);
        sendError(res, r.status, r.error, r.message, r.issues ? { issues: r.issues } : {});
      };
      const unavailable = (error: string, message: string, retryAfterSeconds: number): void => {
        count('failed', error);
        sendError(res, 503, error, message, { retryAfterSeconds });
      };

      let outcome: HibobWebhookOutcome;
      try {
        outcome = await hibobWebhookRecord({
          secret: opts.secret,
          signature: req.get(HIBOB_SIGNATURE_HEADER),
          rawBody,
          client: opts.hibob,
          mapping: { ...opts.mapping, now: () => new Date(now()) },
        });
      } catch (err) {
        // HiBob could not be read (throttled, down, credentials refused): 503 so HiBob sends the event again.
        const e = err instanceof ConnectorError ? err : undefined;
        const retryAfterMs = e?.details.retryAfterMs;
        const seconds =
          typeof retryAfterMs === 'number' ? Math.max(1, Math.ceil(retryAfterMs / 1000)) : DEFAULT_RETRY_AFTER_SECONDS;
        log.warn(
          { path: HIBOB_WEBHOOK_PATH, requestId, type: e?.type ?? 'error', status: e?.details.status },
          'hibob webhook: could not read the employee',
        );
        return unavailable('hris_unavailable', 'could not read the employee from HiBob; retry later', seconds);
      }

      if (outcome.outcome === 'refused') {
        if (outcome.httpStatus === 401) {
          // Unauthenticated: counted per window (and per source, for the rate limit), not a row each.
          count('refused', 'bad_signature');
          const r = { status: 401, error: 'bad_signature', message: outcome.reason };
          if (opts.countRefusal) opts.countRefusal(req, res, r);
          else
            log.warn({ path: HIBOB_WEBHOOK_PATH, requestId, status: 401, reason: r.message }, 'hibob webhook refused');
          return sendError(res, r.status, r.error, r.message);
        }
        return refuse({ status: 400, error: 'unknown_payload', message: outcome.reason });
      }
      if (outcome.outcome === 'ignored') {
        log.info({ path: HIBOB_WEBHOOK_PATH, requestId, reason: outcome.reason }, 'hibob webhook ignored');
        const answer: HibobWebhookAnswer = { outcome: 'ignored', reason: outcome.reason };
        return res.status(200).json(answer);
      }

      const { change, eventId } = outcome;
      const hrId = change.employeeId;
      if (outcome.outcome === 'gone') {
        // Never a termination: the roster sync reports vanished people and the policy decides (sync.onVanished).
        const reason =
          change.type === 'employee.deleted'
            ? 'deleted in HiBob: reported, not acted on; record the termination in HiBob to take access away'
            : 'HiBob no longer shows this employee: reported, not acted on';
        await opts.recordEvidence?.({
          key: `intake:${requestId}`,
          at: receivedAt,
          hrId,
          actor: ACTOR,
          action: 'hr_event_reported',
          requestId: eventId,
          outcome: 'reported',
          detail: { source: SOURCE, type: change.type, reason },
        });
        log.info({ requestId, eventId, type: change.type, outcome: 'reported' }, 'hibob employee reported');
        const answer: HibobWebhookAnswer = { outcome: 'reported', employeeId: hrId, eventId, reason };
        return res.status(200).json(answer);
      }
      if (outcome.outcome === 'invalid') {
        const issues = outcome.issues.map(issueOf);
        return refuse(
          {
            status: 422,
            error: 'invalid_record',
            message: `HiBob's data for this employee is not a valid record: ${issues.map((i) => i.path).join(', ')}`,
            issues,
          },
          hrId,
        );
      }

      const record = outcome.record;
      try {
        const kind = deriveHibobKind(record, eventId, await entityOf(opts.client, record.hrId));
        if (kind === null) {
          log.info({ requestId, eventId, outcome: 'ignored' }, 'hibob employee ignored');
          const answer: HibobWebhookAnswer = {
            outcome: 'ignored',
            employeeId: hrId,
            eventId,
            reason: 'a leaver Tenure never provisioned: nothing to take away',
          };
          return res.status(200).json(answer);
        }
        const event: HrEvent = { eventId, source: SOURCE, kind, record, receivedAt };
        const guarded = await deliverOneGuarded(opts.client, opts.taskQueue, opts.policy, event, 'webhook');
        if (guarded.held) {
          log.warn({ requestId, eventId, kind, holdId: guarded.holdId }, 'hibob employee held');
          await opts.recordEvidence?.({
            key: `intake:${requestId}`,
            at: receivedAt,
            hrId: record.hrId,
            actor: ACTOR,
            action: 'hr_event_held',
            requestId: eventId,
            outcome: 'held',
            detail: { kind, source: SOURCE, holdId: guarded.holdId, reasons: guarded.reasons },
          });
          const answer: HibobWebhookAnswer = {
            outcome: 'held',
            employeeId: hrId,
            eventId,
            kind,
            holdId: guarded.holdId,
            reason: guarded.reasons.join('; '),
          };
          return res.status(202).json(answer);
        }
        const result = guarded.result;
        log.info({ requestId, eventId, kind, outcome: result.outcome }, 'hibob employee delivered');
        if (result.outcome === 'rejected') {
          return refuse({ status: 409, error: 'rejected', message: result.reason ?? 'rejected' }, record.hrId);
        }
        await opts.recordEvidence?.({
          key: `intake:${requestId}`,
          at: receivedAt,
          hrId: record.hrId,
          actor: ACTOR,
          action: 'hr_event_received',
          requestId: eventId,
          outcome: result.outcome,
          detail: {
            kind,
            source: SOURCE,
            type: change.type,
            workflowId: result.workflowId,
            plan: result.plan,
            ...(result.effectiveAt ? { effectiveAt: result.effectiveAt } : {}),
          },
        });
        count(result.outcome === 'accepted' ? 'accepted' : 'duplicate');
        const answer: HibobWebhookAnswer = { outcome: result.outcome, employeeId: hrId, eventId, kind };
        if (result.workflowId !== undefined) answer.workflowId = result.workflowId;
        if (result.effectiveAt !== undefined) answer.effectiveAt = result.effectiveAt;
        if (result.reason !== undefined) answer.reason = result.reason;
        return res.status(result.outcome === 'accepted' ? 202 : 200).json(answer);
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError) {
          return refuse({ status: 422, error: 'rejected', message: err.cause?.message ?? err.message }, record.hrId);
        }
        log.error({ requestId, eventId, err: (err as Error).message }, 'hibob delivery failed');
        return unavailable('unavailable', 'could not reach Temporal; retry later', DEFAULT_RETRY_AFTER_SECONDS);
      }
    },
  );
  return router;
}
