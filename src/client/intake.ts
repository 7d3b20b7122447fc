import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import express from 'express';
import type { HrEvent } from '../domain/employee';
import { employeeRecordSchema, webhookEventSchema } from '../domain/employee';
import { planHireEvent } from '../domain/plan-event';
import type { LoadedPolicy } from '../config/policy-file';
import type { AuditStore, EvidenceInput } from '../activities/audit/types';
import type { Logger } from '../logger';
import { randomUUID } from 'node:crypto';
import type { PayloadCodec } from '@temporalio/common';
import type { BambooEnvConfig } from './bamboohr-webhook';
import { createCodecRouter } from './codec-server';
import type { WebClient } from '@slack/web-api';
import { createSlackInteractivityRouter } from './slack-interactivity';
import type { Policy } from '../domain/policy';
import { createSlackClient } from '../activities/slack/notifier';
import { createBambooWebhookRouter } from './bamboohr-webhook';
import { deliverHrEvent } from './deliver';
import { TENURE_SIGNATURE_HEADER, TENURE_TIMESTAMP_HEADER, verifyTenureWebhook } from './signature';

export interface IntakeOptions {
  client: Client;
  taskQueue: string;
  /** Shared secret of the generic webhook. */
  webhookSecret: string;
  logger: Logger;
  /** Every delivery and every refusal is recorded here. */
  audit: AuditStore;
  /** The codec endpoint for the Temporal Web UI (`/codec/decode`, `/codec/encode`, `/codec/ui/<token>/…`). */
  codec?: { codec: PayloadCodec; token: string; allowedOrigins: readonly string[] };
  /** Slack interactivity (POST /slack/interactivity): approvals and manual tasks from Slack buttons. */
  slackInteractivity?: { signingSecret: string; slack: WebClient };
  /** The policy the workers run, for plan previews (`POST /webhooks/hr/plan`). */
  policy?: LoadedPolicy;
  /** BambooHR webhooks (POST /webhooks/bamboohr), when configured (see `bambooWebhookConfigFromEnv`). */
  bamboo?: BambooEnvConfig;
  /** @default Date.now */
  now?: () => number;
  /** Largest accepted body. @default "256kb" */
  bodyLimit?: string;
}

/** A refusal: HTTP status, a machine-readable code, and a message that says what is wrong. */
interface Refusal {
  status: number;
  error: string;
  message: string;
  issues?: { path: string; message: string }[];
}

const GENERIC_WEBHOOK_PATH = '/webhooks/hr';
const PLAN_PATH = '/webhooks/hr/plan';
const INTAKE_ACTOR = { type: 'system', id: 'tenure-intake' } as const;

/** The intake HTTP app: HR webhooks in, update-with-start out. Stateless, safe behind a load balancer. */
export function createIntakeApp(opts: IntakeOptions): express.Express {
  const now = opts.now ?? Date.now;
  const log = opts.logger;
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

  if (opts.codec) app.use('/codec', createCodecRouter({ ...opts.codec, logger: log }));

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });

  /** Dry run for integrators: the plan a signed hire record would run under the served policy. Runs nothing. */
  app.post(PLAN_PATH, express.raw({ type: () => true, limit: opts.bodyLimit ?? '256kb' }), (req, res) => {
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const verified = verifySigned(req, rawBody);
    if (!verified.ok) return void res.status(401).json({ error: 'bad_signature', message: verified.reason });
    if (!opts.policy) {
      return void res.status(501).json({ error: 'no_policy', message: 'this intake server has no policy loaded' });
    }
    let body: unknown;
    try {
      body = JSON.parse(rawBody.toString('utf8'));
    } catch (err) {
      return void res
        .status(400)
        .json({ error: 'malformed_json', message: `body is not valid JSON: ${(err as Error).message}` });
    }
    const parsed = employeeRecordSchema.safeParse((body as { record?: unknown } | null)?.record);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({ path: ['record', ...i.path].join('.'), message: i.message }));
      return void res.status(422).json({
        error: 'invalid_record',
        message: issues.map((i) => `${i.path}: ${i.message}`).join('; '),
        issues,
      });
    }
    res.json(planHireEvent(parsed.data, opts.policy.policy, opts.policy.version));
  });

  app.post(
    GENERIC_WEBHOOK_PATH,
    express.raw({ type: () => true, limit: opts.bodyLimit ?? '256kb' }),
    async (req, res) => {
      const requestId = randomUUID();
      const refuse = async (r: Refusal, hrId?: string): Promise<void> => {
        log.warn(
          { path: GENERIC_WEBHOOK_PATH, requestId, status: r.status, error: r.error, reason: r.message },
          'hr event refused',
        );
        await recordSafely({
          key: `intake:${requestId}`,
          at: new Date(now()).toISOString(),
          hrId,
          actor: INTAKE_ACTOR,
          action: 'hr_event_refused',
          requestId,
          outcome: 'refused',
          detail: { endpoint: GENERIC_WEBHOOK_PATH, status: r.status, error: r.error, reason: r.message },
        });
        res.status(r.status).json({ ...r, requestId });
      };
      const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const verified = verifySigned(req, rawBody);
      if (!verified.ok) return refuse({ status: 401, error: 'bad_signature', message: verified.reason });

      let body: unknown;
      try {
        body = JSON.parse(rawBody.toString('utf8'));
      } catch (err) {
        return refuse({
          status: 400,
          error: 'malformed_json',
          message: `body is not valid JSON: ${(err as Error).message}`,
        });
      }
      const parsed = webhookEventSchema.safeParse(body);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(root)', message: i.message }));
        return refuse({
          status: 422,
          error: 'invalid_event',
          message: issues.map((i) => `${i.path}: ${i.message}`).join('; '),
          issues,
        });
      }
      const event: HrEvent = { ...parsed.data, source: 'generic-webhook', receivedAt: new Date(now()).toISOString() };
      try {
        const result = await deliverHrEvent(opts.client, opts.taskQueue, event);
        log.info(
          { requestId, eventId: event.eventId, kind: event.kind, outcome: result.outcome },
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
          detail: { kind: event.kind, source: event.source, workflowId: result.workflowId, plan: result.plan },
        });
        res.status(result.outcome === 'accepted' ? 202 : 200).json(result);
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError) {
          return refuse(
            { status: 422, error: 'rejected', message: err.cause?.message ?? err.message },
            event.record.hrId,
          );
        }
        log.error({ requestId, eventId: event.eventId, err: (err as Error).message }, 'delivery failed');
        res.status(503).json({ error: 'unavailable', message: 'could not reach Temporal; retry later', requestId });
      }
    },
  );

  if (opts.slackInteractivity) {
    app.use(
      createSlackInteractivityRouter({
        client: opts.client,
        audit: opts.audit,
        logger: log,
        now: opts.now,
        ...opts.slackInteractivity,
      }),
    );
  }
  if (opts.bamboo) {
    app.use(createBambooWebhookRouter({ client: opts.client, taskQueue: opts.taskQueue, logger: log, ...opts.bamboo }));
  }

  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found', message: 'no such endpoint' });
  });
  return app;
}

export interface RunningIntake {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startIntakeServer(opts: IntakeOptions & { port: number; host?: string }): Promise<RunningIntake> {
  const app = createIntakeApp(opts);
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port, opts.host ?? '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Slack buttons need the app's signing secret and the policy's Slack bot token; both or neither. */
export function slackInteractivityFromEnv(
  env: { TENURE_SLACK_SIGNING_SECRET?: string },
  policy: Policy,
  processEnv: NodeJS.ProcessEnv = process.env,
): { slackInteractivity?: { signingSecret: string; slack: WebClient } } {
  if (!env.TENURE_SLACK_SIGNING_SECRET || !policy.slack) return {};
  const token = processEnv[policy.slack.tokenEnv];
  if (!token) throw new Error(`slack: environment variable ${policy.slack.tokenEnv} is not set`);
  return {
    slackInteractivity: {
      signingSecret: env.TENURE_SLACK_SIGNING_SECRET,
      slack: createSlackClient({ token, apiUrl: policy.slack.apiUrl }),
    },
  };
}
