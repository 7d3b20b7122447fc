/**
 * The BambooHR webhook endpoint (`POST /webhooks/bamboohr`), as an express router to mount on the intake app.
 *
 * Verify the signature and timestamp → read which employees changed → fetch each over REST → map to an
 * EmployeeRecord → derive the event kind → deliver with update-with-start. Answers per employee. See
 * docs/bamboohr.md for the mapping, the kinds and the answers.
 */
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import express from 'express';
import { ConnectorError } from '../activities/identity';
import { z } from 'zod';
import { BambooClient } from '../activities/hris/bamboohr/client';
import {
  BAMBOO_EMPLOYEE_FIELDS,
  mapBambooEmployee,
  type BambooMappingOptions,
} from '../activities/hris/bamboohr/mapping';
import {
  BAMBOO_SIGNATURE_HEADER,
  BAMBOO_TIMESTAMP_HEADER,
  bambooEventId,
  parseBambooWebhook,
  verifyBambooWebhook,
  type BambooChange,
} from '../activities/hris/bamboohr/webhook';
import { isValidTimeZone, type EmployeeRecord, type HrEvent, type HrEventKind } from '../domain/employee';
import { employeeWorkflowId } from '../domain/ids';
import type { Logger } from '../logger';
import { employeeStatusQuery } from '../workflows/employee/messages';
import { deliverOneGuarded } from '../guard';
import type { Policy } from '../domain/policy';
import type { Refusal } from './http-errors';
import { jsonErrorMessage, requestIdOf, requireContentType, sendError } from './http-errors';
import type { CountRefusal } from './refusals';

export const BAMBOO_WEBHOOK_PATH = '/webhooks/bamboohr';

const locationSchema = z
  .object({ countryCode: z.string().regex(/^[A-Z]{2}$/), timeZone: z.string().refine(isValidTimeZone) })
  .strict();
const locationsSchema = z.record(z.string().min(1), locationSchema);
const defaultLocationSchema = locationSchema.extend({ name: z.string().min(1) });

/** What `bambooWebhookConfigFromEnv` reads: the router's `secret`, `bamboo` and `mapping`. */
export interface BambooEnvConfig {
  secret: string;
  bamboo: BambooClient;
  mapping: Omit<BambooMappingOptions, 'fallbackUpdatedAt' | 'now'>;
}

/**
 * The BambooHR integration from the environment, or `undefined` when `BAMBOOHR_WEBHOOK_SECRET` is not set
 * (BambooHR not in use). Throws, naming the variable, when it is half configured:
 * `BAMBOOHR_API_KEY`, and `BAMBOOHR_COMPANY` or `BAMBOOHR_BASE_URL`, are then required;
 * `BAMBOOHR_LOCATIONS` (JSON `{ "<location>": { "countryCode", "timeZone" } }`) and
 * `BAMBOOHR_DEFAULT_LOCATION` (JSON `{ "name", "countryCode", "timeZone" }`) are optional.
 */
export function bambooWebhookConfigFromEnv(env: NodeJS.ProcessEnv = process.env): BambooEnvConfig | undefined {
  const secret = env.BAMBOOHR_WEBHOOK_SECRET;
  if (!secret) return undefined;
  const apiKey = env.BAMBOOHR_API_KEY;
  if (!apiKey) throw new Error('BAMBOOHR_WEBHOOK_SECRET is set, so BAMBOOHR_API_KEY is required');
  if (!env.BAMBOOHR_BASE_URL && !env.BAMBOOHR_COMPANY) {
    throw new Error('BAMBOOHR_WEBHOOK_SECRET is set, so BAMBOOHR_COMPANY (or BAMBOOHR_BASE_URL) is required');
  }
  const json = (name: string): unknown => {
    const text = env[name];
    if (text === undefined || text.trim() === '') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new Error(`${name} is not valid JSON`);
    }
  };
  const locations = locationsSchema.safeParse(json('BAMBOOHR_LOCATIONS') ?? {});
  if (!locations.success) {
    throw new Error(
      'BAMBOOHR_LOCATIONS must map location names to { "countryCode": "PT", "timeZone": "Europe/Lisbon" }',
    );
  }
  const fallback = json('BAMBOOHR_DEFAULT_LOCATION');
  const defaultLocation = fallback === undefined ? undefined : defaultLocationSchema.safeParse(fallback);
  if (defaultLocation && !defaultLocation.success) {
    throw new Error('BAMBOOHR_DEFAULT_LOCATION must be { "name", "countryCode", "timeZone" } with an IANA time zone');
  }
  const bamboo = new BambooClient({
    apiKey,
    ...(env.BAMBOOHR_BASE_URL ? { baseUrl: env.BAMBOOHR_BASE_URL } : { companyDomain: env.BAMBOOHR_COMPANY }),
  });
  return {
    secret,
    bamboo,
    mapping: {
      locations: locations.data,
      ...(defaultLocation?.success ? { defaultLocation: defaultLocation.data } : {}),
    },
  };
}

export interface BambooWebhookRouterOptions {
  client: Client;
  taskQueue: string;
  /** The webhook's private key from BambooHR (Account Settings → Webhooks → Private Key). */
  secret: string;
  bamboo: BambooClient;
  logger: Logger;
  /** Location → country and time zone (BambooHR has no time zone field). @default no locations: every employee needs `defaultLocation` */
  mapping?: Omit<BambooMappingOptions, 'fallbackUpdatedAt' | 'now'>;
  /** @default Date.now */
  now?: () => number;
  /** Largest body. @default "256kb" */
  bodyLimit?: string;
  /** Employees fetched and delivered at once. @default 4 */
  concurrency?: number;
  /** Told of every refusal before the signature is verified (they are counted, not audited one by one). */
  countRefusal?: CountRefusal;
  /** Records a refusal of a correctly signed delivery (one audit row each). */
  recordRefusal?: (requestId: string, r: Refusal) => Promise<void>;
  /** The policy the workers run: the mass-change guard plans each event with it (docs/guard.md). Absent: unguarded. */
  policy?: Policy;
}

/** What happened to one employee of a webhook. */
export interface BambooEmployeeOutcome {
  employeeId: string;
  /** `held`: the mass-change guard held it (`holdId`); nothing runs until an operator releases it. */
  outcome: 'accepted' | 'duplicate' | 'rejected' | 'invalid' | 'ignored' | 'failed' | 'held';
  /** For `held`: the hold to release with `tenure guard release`. */
  holdId?: string;
  eventId?: string;
  kind?: HrEventKind;
  workflowId?: string;
  effectiveAt?: string;
  reason?: string;
  /** For `invalid`: what is wrong, named by BambooHR field. */
  issues?: { field: string; message: string }[];
  /** For `failed`: whether BambooHR should retry the delivery. */
  retryable?: boolean;
}

/**
 * The event kind for a mapped record: a terminated record is a `termination`, one on leave a `leave_start`;
 * otherwise a person Tenure has no accepted hire for is a `hire`, anyone else a `change`.
 */
export function deriveBambooKind(record: EmployeeRecord, hasAcceptedHire: boolean): HrEventKind {
  if (record.status === 'terminated') return 'termination';
  if (record.status === 'on_leave') return 'leave_start';
  return hasAcceptedHire ? 'change' : 'hire';
}

async function hasAcceptedHire(client: Client, hrId: string): Promise<boolean> {
  try {
    const status = await client.workflow.getHandle(employeeWorkflowId(hrId)).query(employeeStatusQuery);
    return status.events.some((e) => e.kind === 'hire' && e.outcome === 'accepted');
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  });
  await Promise.all(lanes);
  return out;
}

/** The router: mount it on the intake app (before its 404 handler). */
export function createBambooWebhookRouter(opts: BambooWebhookRouterOptions): express.Router {
  const now = opts.now ?? Date.now;
  const log = opts.logger;
  const mapping = opts.mapping ?? { locations: {} };
  const concurrency = Math.max(1, opts.concurrency ?? 4);
  const router = express.Router();

  async function handle(change: BambooChange, rawBody: Buffer): Promise<BambooEmployeeOutcome> {
    const base: BambooEmployeeOutcome = { employeeId: change.employeeId, outcome: 'ignored' };
    if (change.action === 'deleted') {
      return {
        ...base,
        reason: 'deleted in BambooHR: Tenure does not act on deletions; record the termination in BambooHR instead',
      };
    }
    const eventId = bambooEventId(change, rawBody);
    let employee;
    try {
      employee = await opts.bamboo.getEmployee(change.employeeId, BAMBOO_EMPLOYEE_FIELDS);
    } catch (err) {
      if (err instanceof ConnectorError && err.type === 'not_found') {
        return { ...base, reason: 'BambooHR no longer has this employee' };
      }
      const retryable = !(err instanceof ConnectorError) || err.retryable;
      return { ...base, outcome: 'failed', retryable, reason: err instanceof Error ? err.message : String(err) };
    }
    const receivedAt = new Date(now()).toISOString();
    const mapped = mapBambooEmployee(employee, {
      ...mapping,
      now: () => new Date(now()),
      ...(change.at !== undefined ? { fallbackUpdatedAt: change.at } : { fallbackUpdatedAt: receivedAt }),
    });
    if (!mapped.ok) {
      return {
        ...base,
        outcome: 'invalid',
        eventId,
        reason: mapped.issues.map((i) => `${i.field}: ${i.message}`).join('; '),
        issues: mapped.issues,
      };
    }
    const record = mapped.record;
    try {
      const kind = deriveBambooKind(record, await hasAcceptedHire(opts.client, record.hrId));
      const event: HrEvent = { eventId, source: 'bamboohr', kind, record, receivedAt };
      const guarded = await deliverOneGuarded(opts.client, opts.taskQueue, opts.policy, event);
      if (guarded.held) {
        return { employeeId: change.employeeId, outcome: 'held', holdId: guarded.holdId, eventId, kind };
      }
      const result = guarded.result;
      const out: BambooEmployeeOutcome = { employeeId: change.employeeId, outcome: result.outcome, eventId, kind };
      if (result.workflowId !== undefined) out.workflowId = result.workflowId;
      if (result.effectiveAt !== undefined) out.effectiveAt = result.effectiveAt;
      if (result.reason !== undefined) out.reason = result.reason;
      return out;
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        return { ...base, outcome: 'rejected', eventId, reason: err.cause?.message ?? err.message };
      }
      return {
        ...base,
        outcome: 'failed',
        eventId,
        retryable: true,
        reason: `could not reach Temporal: ${(err as Error).message}`,
      };
    }
  }

  router.post(
    BAMBOO_WEBHOOK_PATH,
    requireContentType('application/json', opts.countRefusal),
    express.raw({ type: () => true, limit: opts.bodyLimit ?? '256kb' }),
    async (req, res) => {
      const requestId = requestIdOf(res);
      const refuse = async (status: number, error: string, message: string): Promise<void> => {
        log.warn({ path: BAMBOO_WEBHOOK_PATH, requestId, status, error, reason: message }, 'bamboohr webhook refused');
        await opts.recordRefusal?.(requestId, { status, error, message });
        sendError(res, status, error, message);
      };
      const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const verified = verifyBambooWebhook({
        secret: opts.secret,
        timestamp: req.get(BAMBOO_TIMESTAMP_HEADER),
        signature: req.get(BAMBOO_SIGNATURE_HEADER),
        rawBody,
        nowSeconds: Math.floor(now() / 1000),
      });
      if (!verified.ok) {
        if (opts.countRefusal)
          opts.countRefusal(req, res, { status: 401, error: 'bad_signature', message: verified.reason });
        else
          log.warn(
            { path: BAMBOO_WEBHOOK_PATH, requestId, status: 401, reason: verified.reason },
            'bamboohr webhook refused',
          );
        return sendError(res, 401, 'bad_signature', verified.reason);
      }

      let body: unknown;
      try {
        body = JSON.parse(rawBody.toString('utf8'));
      } catch (err) {
        return refuse(400, 'malformed_json', jsonErrorMessage(err));
      }
      const parsed = parseBambooWebhook(body);
      if (!parsed.ok) return refuse(400, 'unknown_payload', parsed.reason);

      const results = await mapLimited(parsed.changes, concurrency, (change) => handle(change, rawBody));
      for (const r of results) {
        const entry = { employeeId: r.employeeId, eventId: r.eventId, kind: r.kind, outcome: r.outcome };
        if (r.outcome === 'failed' || r.outcome === 'invalid')
          log.warn({ ...entry, reason: r.reason }, 'bamboohr employee not delivered');
        else log.info(entry, 'bamboohr employee handled');
      }
      // A failure worth retrying makes BambooHR send the whole delivery again; what was delivered is then a duplicate.
      const retry = results.some((r) => r.outcome === 'failed' && r.retryable);
      res.status(retry ? 503 : 200).json({ results });
    },
  );
  return router;
}
