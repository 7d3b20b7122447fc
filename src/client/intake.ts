import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import express from 'express';
import type { HrEvent, UnknownFieldPolicy } from '../domain/employee';
import { employeeRecordSchema, unknownEventFields, webhookEventSchema } from '../domain/employee';
import { planHireEvent } from '../domain/plan-event';
import type { LoadedPolicy } from '../config/policy-file';
import type { AuditStore, EvidenceInput } from '../activities/audit/types';
import type { Logger } from '../logger';
import type { DeliverEventResult } from '../workflows/employee/messages';
import type { PayloadCodec } from '@temporalio/common';
import type { BambooEnvConfig } from './bamboohr-webhook';
import { createCodecRouter } from './codec-server';
import type { WebClient } from '@slack/web-api';
import type { SlackWorkspace } from './slack-interactivity';
import { createSlackInteractivityRouter } from './slack-interactivity';
import { createBambooWebhookRouter } from './bamboohr-webhook';
import type { HibobWebhookConfig } from './hibob-webhook';
import { createHibobWebhookRouter, HIBOB_WEBHOOK_PATH } from './hibob-webhook';
import { deliverOneGuarded } from '../guard';
import { createGuardBatchRouter, GUARD_BATCH_PATH, heldAnswer } from './guard-batch';
import { TENURE_SIGNATURE_HEADER, TENURE_TIMESTAMP_HEADER, verifyTenureWebhook } from './signature';
import {
  assignRequestId,
  jsonErrorMessage,
  refusalOf,
  requestIdOf,
  requireContentType,
  sendError,
} from './http-errors';
import type { CountRefusal } from './refusals';
import { RefusalLedger } from './refusals';
import type { AdmissionOptions } from './admission';
import { Admission } from './admission';
import { BAMBOO_WEBHOOK_PATH } from './bamboohr-webhook';
import { cleanEventText, cleanRecordText } from '../domain/text';
import type { TenureMetrics } from '../observability/metrics';
import { defaultTenureMetrics } from '../observability/metrics';

export interface IntakeOptions {
  client: Client;
  taskQueue: string;
  /** Shared secret of the generic webhook. */
  webhookSecret: string;
  logger: Logger;
  /** Every delivery and every refusal is recorded here. */
  audit: AuditStore;
  /** The codec endpoint for the Temporal Web UI (`/codec/decode`, `/codec/encode`, `/codec/login`, `/codec/session`). */
  codec?: { codec: PayloadCodec; token: string; allowedOrigins: readonly string[] };
  /** Slack interactivity (POST /slack/interactivity): approvals and manual tasks from Slack buttons. */
  slackInteractivity?: { signingSecret: string; slack: WebClient; workspace?: SlackWorkspace };
  /** The policy the workers run, for plan previews (`POST /webhooks/hr/plan`). */
  policy?: LoadedPolicy;
  /** BambooHR webhooks (POST /webhooks/bamboohr), when configured (see `bambooWebhookConfigFromEnv`). */
  bamboo?: BambooEnvConfig;
  /** HiBob webhooks (POST /webhooks/hibob), when the sync source is HiBob with a webhook secret (`hibobWebhookConfigFromPolicy`). */
  hibob?: HibobWebhookConfig;
  /** @default Date.now */
  now?: () => number;
  /** Largest accepted body. @default "256kb" */
  bodyLimit?: string;
  /**
   * Unauthenticated refusals (bad signature or token, wrong Content-Type, unreadable body, unknown path) a source
   * address may cause per window before it is answered 429; they are audited as one aggregated row per window.
   * @default { limit: 30, windowMs: 60000 }
   */
  refusalLimit?: { limit?: number; windowMs?: number };
  /** Express `trust proxy`, for the source address behind a load balancer (e.g. 1 or "10.0.0.0/8"). @default false */
  trustProxy?: boolean | number | string;
  /** Where accepted and refused events are counted. @default defaultTenureMetrics() */
  metrics?: TenureMetrics;
  /**
   * Event webhooks delivered at once (from the pace of answers and a target answer time, within bounds), and how
   * long a request waits for room before it is answered 503 with `Retry-After` (src/client/admission.ts).
   * @default { minInFlight: 16, maxInFlight: 200, targetLatencyMs: 5000, maxWaitMs: 10000 }
   */
  admission?: AdmissionOptions;
}

/** A refusal: HTTP status, a machine-readable code, and a message that says what is wrong. */
interface Refusal {
  status: number;
  error: string;
  message: string;
  issues?: { path: string; message: string }[];
}

type Issue = { path: string; message: string };

/**
 * A schema's verdict plus the unknown fields the policy refuses: the data, or one 422 that names every bad field
 * (the schema's issues at `pathOf(path)`, then the refused fields).
 */
function validated<T>(
  error: string,
  parsed:
    | { success: true; data: T }
    | { success: false; error: { issues: readonly { path: PropertyKey[]; message: string }[] } },
  refused: readonly Issue[],
  pathOf: (path: PropertyKey[]) => string,
): { ok: true; data: T } | { ok: false; refusal: Refusal } {
  if (parsed.success && refused.length === 0) return { ok: true, data: parsed.data };
  const issues: Issue[] = [
    ...(parsed.success ? [] : parsed.error.issues.map((i) => ({ path: pathOf(i.path), message: i.message }))),
    ...refused,
  ];
  return {
    ok: false,
    refusal: { status: 422, error, message: issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues },
  };
}

const GENERIC_WEBHOOK_PATH = '/webhooks/hr';
const PLAN_PATH = '/webhooks/hr/plan';
const KNOWN_ENDPOINTS = new Set([
  GENERIC_WEBHOOK_PATH,
  PLAN_PATH,
  GUARD_BATCH_PATH,
  '/slack/interactivity',
  BAMBOO_WEBHOOK_PATH,
  HIBOB_WEBHOOK_PATH,
  '/healthz',
]);

/** The event webhooks under admission control (one request, one delivery or a few). */
const ADMITTED_PATHS: ReadonlySet<string> = new Set([GENERIC_WEBHOOK_PATH, BAMBOO_WEBHOOK_PATH, HIBOB_WEBHOOK_PATH]);

function sourceOfPath(path: string): string {
  if (path === BAMBOO_WEBHOOK_PATH) return 'bamboohr';
  if (path === HIBOB_WEBHOOK_PATH) return 'hibob';
  return 'generic-webhook';
}

/** The endpoint a request is for, as logs and evidence name it: never the raw path (it may hold anything). */
export function endpointLabel(req: express.Request): string {
  const path = req.path;
  if (path === '/codec' || path.startsWith('/codec/')) return '/codec';
  return KNOWN_ENDPOINTS.has(path) ? path : '(unknown)';
}
const INTAKE_ACTOR = { type: 'system', id: 'tenure-intake' } as const;

/** Under `intake.unknownFields: refuse`, one issue per unknown field; none under `ignore`. */
function unknownFieldIssues(
  fields: readonly string[],
  policy: UnknownFieldPolicy,
): { path: string; message: string }[] {
  if (policy !== 'refuse') return [];
  return fields.map((path) => ({
    path,
    message: 'is not a field Tenure knows, and the policy refuses unknown fields (intake.unknownFields)',
  }));
}

/** `{ ignoredFields }` when some were ignored, for answers and evidence: names only, never values. */
function ignoredFieldsOf(fields: readonly string[]): { ignoredFields?: string[] } {
  return fields.length > 0 ? { ignoredFields: [...fields] } : {};
}

/** The intake HTTP app: HR webhooks in, update-with-start out. Stateless, safe behind a load balancer. */
export function createIntakeApp(opts: IntakeOptions): express.Express {
  const now = opts.now ?? Date.now;
  const log = opts.logger;
  /** What to do with fields the schema does not know. @default "ignore" (also when no policy is loaded) */
  const unknownFieldPolicy: UnknownFieldPolicy = opts.policy?.policy.intake?.unknownFields ?? 'ignore';
  const metrics = opts.metrics ?? defaultTenureMetrics();
  /** Evidence must not turn a refusal into a 500; a failed write is logged loudly instead. */
  const recordSafely = async (e: EvidenceInput): Promise<void> => {
    try {
      await opts.audit.append(e);
    } catch (err) {
      log.error({ key: e.key, err: (err as Error).message }, 'audit write failed');
    }
  };
  /** Both signed endpoints: the shared secret over `<timestamp>.<raw body>`, within the time window. */
  const verifySigned = (req: express.Request, rawBody: Buffer) =>
    verifyTenureWebhook({
      secret: opts.webhookSecret,
      timestamp: req.get(TENURE_TIMESTAMP_HEADER),
      signature: req.get(TENURE_SIGNATURE_HEADER),
      rawBody,
      nowSeconds: Math.floor(now() / 1000),
    });
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', opts.trustProxy ?? false);
  const ledger = new RefusalLedger({ audit: opts.audit, logger: log, now, ...opts.refusalLimit });
  app.locals.refusals = ledger;
  const countRefusal: CountRefusal = (req, res, r) =>
    ledger.count(req.ip ?? 'unknown', endpointLabel(req), r, requestIdOf(res));
  /** A signed request refused: one row of evidence each. */
  const recordSignedRefusal = (endpoint: string, requestId: string, r: Refusal, hrId?: string): Promise<void> =>
    recordSafely({
      key: `intake:${requestId}`,
      at: new Date(now()).toISOString(),
      hrId,
      actor: INTAKE_ACTOR,
      action: 'hr_event_refused',
      requestId,
      outcome: 'refused',
      detail: { endpoint, status: r.status, error: r.error, reason: r.message },
    });
  const requireJson = requireContentType('application/json', countRefusal);

  app.use(assignRequestId());
  app.use(ledger.guard(endpointLabel));
  // Bursts: at most so many event deliveries at once; past that a short wait, then 503 with Retry-After.
  let overloaded = 0;
  let overloadLoggedAt = 0;
  const admission = new Admission({
    ...opts.admission,
    now,
    onOverloaded: (path, retryAfterSeconds) => {
      metrics.hrEvent({ source: sourceOfPath(path), outcome: 'refused', reason: 'overloaded' });
      overloaded += 1;
      if (now() - overloadLoggedAt >= 10_000) {
        log.warn(
          { path, deferred: overloaded, retryAfterSeconds, ...admission.load },
          'intake overloaded: answered 503',
        );
        overloadLoggedAt = now();
        overloaded = 0;
      }
    },
  });
  app.use(admission.middleware(ADMITTED_PATHS));

  if (opts.codec) {
    app.use(
      '/codec',
      createCodecRouter({
        ...opts.codec,
        logger: log,
        countRefusal,
        recordRefusal: (requestId, r) => recordSignedRefusal('/codec', requestId, r),
      }),
    );
  }

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });

  /** Dry run for integrators: the plan a signed hire record would run under the served policy. Runs nothing. */
  app.post(
    PLAN_PATH,
    requireJson,
    express.raw({ type: () => true, limit: opts.bodyLimit ?? '256kb' }),
    async (req, res) => {
      const requestId = requestIdOf(res);
      const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const verified = verifySigned(req, rawBody);
      if (!verified.ok) {
        countRefusal(req, res, { status: 401, error: 'bad_signature', message: verified.reason });
        return sendError(res, 401, 'bad_signature', verified.reason);
      }
      const refuse = async (r: Refusal): Promise<void> => {
        log.warn({ path: PLAN_PATH, requestId, status: r.status, error: r.error, reason: r.message }, 'plan refused');
        await recordSignedRefusal(PLAN_PATH, requestId, r);
        sendError(res, r.status, r.error, r.message, r.issues ? { issues: r.issues } : {});
      };
      if (!opts.policy) {
        return refuse({ status: 501, error: 'no_policy', message: 'this intake server has no policy loaded' });
      }
      let body: unknown;
      try {
        body = JSON.parse(rawBody.toString('utf8'));
      } catch (err) {
        return refuse({ status: 400, error: 'malformed_json', message: jsonErrorMessage(err) });
      }
      const unknownFields = unknownEventFields(body);
      const refused = unknownFieldIssues(unknownFields, unknownFieldPolicy);
      const parsed = employeeRecordSchema.safeParse(cleanRecordText((body as { record?: unknown } | null)?.record));
      const valid = validated('invalid_record', parsed, refused, (path) => ['record', ...path].join('.'));
      if (!valid.ok) return refuse(valid.refusal);
      res.json({
        ...planHireEvent(valid.data, opts.policy.policy, opts.policy.version),
        ...ignoredFieldsOf(unknownFields),
      });
    },
  );

  app.post(
    GENERIC_WEBHOOK_PATH,
    requireJson,
    express.raw({ type: () => true, limit: opts.bodyLimit ?? '256kb' }),
    async (req, res) => {
      const requestId = requestIdOf(res);
      const refuse = async (r: Refusal, hrId?: string): Promise<void> => {
        metrics.hrEvent({ source: 'generic-webhook', outcome: 'refused', reason: r.error });
        log.warn(
          { path: GENERIC_WEBHOOK_PATH, requestId, status: r.status, error: r.error, reason: r.message },
          'hr event refused',
        );
        await recordSignedRefusal(GENERIC_WEBHOOK_PATH, requestId, r, hrId);
        sendError(res, r.status, r.error, r.message, r.issues ? { issues: r.issues } : {});
      };
      const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const verified = verifySigned(req, rawBody);
      if (!verified.ok) {
        // Unauthenticated: counted per window (and per source, for the rate limit), not a row each.
        metrics.hrEvent({ source: 'generic-webhook', outcome: 'refused', reason: 'bad_signature' });
        countRefusal(req, res, { status: 401, error: 'bad_signature', message: verified.reason });
        return sendError(res, 401, 'bad_signature', verified.reason);
      }

      let body: unknown;
      try {
        body = JSON.parse(rawBody.toString('utf8'));
      } catch (err) {
        return refuse({ status: 400, error: 'malformed_json', message: jsonErrorMessage(err) });
      }
      // Fields the schema does not know: named, then stripped by the schema (ignore) or refused (refuse).
      const unknownFields = unknownEventFields(body);
      const refused = unknownFieldIssues(unknownFields, unknownFieldPolicy);
      const parsed = webhookEventSchema.safeParse(cleanEventText(body));
      const valid = validated('invalid_event', parsed, refused, (path) => path.join('.') || '(root)');
      if (!valid.ok) return refuse(valid.refusal);
      const event: HrEvent = { ...valid.data, source: 'generic-webhook', receivedAt: new Date(now()).toISOString() };
      try {
        const guarded = await deliverOneGuarded(opts.client, opts.taskQueue, opts.policy?.policy, event);
        if (guarded.held) {
          // Held by the mass-change guard: nothing runs until an operator releases the hold (docs/guard.md).
          log.warn({ requestId, eventId: event.eventId, kind: event.kind, holdId: guarded.holdId }, 'hr event held');
          await recordSafely({
            key: `intake:${requestId}`,
            at: event.receivedAt,
            hrId: event.record.hrId,
            actor: INTAKE_ACTOR,
            action: 'hr_event_held',
            requestId: event.eventId,
            outcome: 'held',
            detail: { kind: event.kind, source: event.source, holdId: guarded.holdId, reasons: guarded.reasons },
          });
          return res.status(202).json(heldAnswer(event.eventId, guarded));
        }
        const result = guarded.result;
        log.info(
          {
            requestId,
            eventId: event.eventId,
            kind: event.kind,
            outcome: result.outcome,
            ...ignoredFieldsOf(unknownFields),
          },
          'hr event delivered',
        );
        if (result.outcome === 'rejected') {
          return refuse({ status: 409, error: 'rejected', message: result.reason ?? 'rejected' }, event.record.hrId);
        }
        await recordSafely({
          key: `intake:${requestId}`,
          at: event.receivedAt,
          hrId: event.record.hrId,
          actor: INTAKE_ACTOR,
          action: 'hr_event_received',
          requestId: event.eventId,
          outcome: result.outcome,
          detail: {
            kind: event.kind,
            source: event.source,
            workflowId: result.workflowId,
            plan: result.plan,
            // When the run is due: `tenure report` expects every planned step's evidence once it has passed.
            ...(result.effectiveAt ? { effectiveAt: result.effectiveAt } : {}),
            ...(isLate(result, event.receivedAt) ? { late: true } : {}),
            // Names of the fields the event had and Tenure ignored; never their values (they may be personal data).
            ...ignoredFieldsOf(unknownFields),
          },
        });
        metrics.hrEvent({ source: event.source, outcome: result.outcome === 'accepted' ? 'accepted' : 'duplicate' });
        res
          .status(result.outcome === 'accepted' ? 202 : 200)
          .json({ ...withLateness(result, event.receivedAt), ...ignoredFieldsOf(unknownFields) });
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError) {
          return refuse(
            { status: 422, error: 'rejected', message: err.cause?.message ?? err.message },
            event.record.hrId,
          );
        }
        log.error({ requestId, eventId: event.eventId, err: (err as Error).message }, 'delivery failed');
        metrics.hrEvent({ source: event.source, outcome: 'failed', reason: 'unavailable' });
        sendError(res, 503, 'unavailable', 'could not reach Temporal; retry later');
      }
    },
  );

  app.use(
    createGuardBatchRouter({
      client: opts.client,
      taskQueue: opts.taskQueue,
      logger: log,
      audit: opts.audit,
      ...(opts.policy ? { policy: opts.policy } : {}),
      unknownFieldPolicy,
      now,
      countRefusal,
      verifySigned,
      recordRefusal: (requestId, r) => recordSignedRefusal(GUARD_BATCH_PATH, requestId, r),
    }),
  );

  if (opts.slackInteractivity) {
    app.use(
      createSlackInteractivityRouter({
        client: opts.client,
        audit: opts.audit,
        logger: log,
        now: opts.now,
        countRefusal,
        ...opts.slackInteractivity,
      }),
    );
  }
  if (opts.bamboo) {
    app.use(
      createBambooWebhookRouter({
        client: opts.client,
        taskQueue: opts.taskQueue,
        logger: log,
        countRefusal,
        recordRefusal: (requestId, r) => recordSignedRefusal('/webhooks/bamboohr', requestId, r),
        ...(opts.policy ? { policy: opts.policy.policy } : {}),
        ...opts.bamboo,
      }),
    );
  }
  if (opts.hibob) {
    app.use(
      createHibobWebhookRouter({
        client: opts.client,
        taskQueue: opts.taskQueue,
        logger: log,
        now,
        metrics,
        countRefusal,
        recordRefusal: (requestId, r, hrId) => recordSignedRefusal(HIBOB_WEBHOOK_PATH, requestId, r, hrId),
        recordEvidence: recordSafely,
        ...(opts.policy ? { policy: opts.policy.policy } : {}),
        ...opts.hibob,
      }),
    );
  }

  app.use((req, res) => {
    const r = { status: 404, error: 'not_found', message: 'no such endpoint' };
    countRefusal(req, res, r);
    sendError(res, r.status, r.error, r.message);
  });
  // Everything thrown or passed on, body-parser errors included (too large, bad Content-Encoding, unreadable):
  // the error shape, never a stack or a path; logged by name only; counted as an unauthenticated refusal, as
  // nothing was verified yet.
  app.use((err: unknown, req: express.Request, res: express.Response, next: express.NextFunction) => {
    if (res.headersSent) return next(err);
    const r = refusalOf(err);
    if (r.status >= 500) {
      log.error(
        { endpoint: endpointLabel(req), requestId: requestIdOf(res), err: err instanceof Error ? err.name : 'error' },
        'request failed',
      );
    } else {
      countRefusal(req, res, r);
    }
    sendError(res, r.status, r.error, r.message);
  });
  return app;
}

export interface RunningIntake {
  url: string;
  port: number;
  /** Writes the counted unauthenticated refusals to the audit store now (also done every window and at close). */
  flushRefusals(): Promise<void>;
  close(): Promise<void>;
}

export async function startIntakeServer(opts: IntakeOptions & { port: number; host?: string }): Promise<RunningIntake> {
  const app = createIntakeApp(opts);
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port, opts.host ?? '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const { port } = server.address() as AddressInfo;
  const ledger = app.locals.refusals as RefusalLedger;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    port,
    flushRefusals: () => ledger.flush(),
    close: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await ledger.close();
    },
  };
}

/** An accepted event whose instant had already passed when it arrived: its run starts at once, flagged late. */
function isLate(result: DeliverEventResult, receivedAt: string): boolean {
  return (
    result.outcome === 'accepted' &&
    result.effectiveAt !== undefined &&
    Date.parse(result.effectiveAt) < Date.parse(receivedAt)
  );
}

/** The answer, with `late` (and why) when the run takes effect late. */
function withLateness(result: DeliverEventResult, receivedAt: string): DeliverEventResult {
  if (!isLate(result, receivedAt)) return result;
  const note = `late: ${result.effectiveAt ?? ''} had already passed when the event arrived; the run starts at once`;
  return { ...result, late: true, reason: result.reason ? `${result.reason}; ${note}` : note };
}
