/**
 * `POST /webhooks/hr/batch`: a whole roster (`tenure import`) as ONE batch for the mass-change guard
 * (docs/webhook.md, Batches; docs/guard.md). Signed like the generic webhook; every event is validated with the same
 * schema, and one bad event refuses the whole batch (422 naming `events.<i>.<field>`), so nothing half-starts.
 */
import type { Client } from '@temporalio/client';
import express from 'express';
import type { AuditStore, EvidenceInput } from '../activities/audit/types';
import type { LoadedPolicy } from '../config/policy-file';
import type { HrEvent, UnknownFieldPolicy } from '../domain/employee';
import { unknownEventFields, webhookEventSchema } from '../domain/employee';
import { cleanEventText } from '../domain/text';
import type { GuardedEvent, GuardPath } from '../guard';
import { deliverGuarded } from '../guard';
import type { Logger } from '../logger';
import { jsonErrorMessage, requestIdOf, requireContentType, sendError } from './http-errors';
import type { CountRefusal } from './refusals';

export const GUARD_BATCH_PATH = '/webhooks/hr/batch';
/** Events in one batch at most. */
export const MAX_BATCH_EVENTS = 20_000;
const INTAKE_ACTOR = { type: 'system', id: 'tenure-intake' } as const;

/** The 202 answer of a held event: `held: true` and the hold to release (docs/webhook.md). */
export function heldAnswer(eventId: string, g: Extract<GuardedEvent, { held: true }>) {
  return {
    outcome: 'held' as const,
    held: true as const,
    eventId,
    holdId: g.holdId,
    reasons: g.reasons,
    reason: `held by the mass-change guard (${g.holdId}): nothing runs until an operator releases it`,
  };
}

interface Refusal {
  status: number;
  error: string;
  message: string;
  issues?: { path: string; message: string }[];
}

export interface GuardBatchRouterOptions {
  client: Client;
  taskQueue: string;
  logger: Logger;
  audit: AuditStore;
  policy?: LoadedPolicy;
  unknownFieldPolicy: UnknownFieldPolicy;
  now: () => number;
  countRefusal: CountRefusal;
  verifySigned: (req: express.Request, rawBody: Buffer) => { ok: true } | { ok: false; reason: string };
  recordRefusal: (requestId: string, r: Refusal) => Promise<void>;
  /** @default "32mb" */
  bodyLimit?: string;
}

const batchPaths: GuardPath[] = ['import', 'sync'];

export function createGuardBatchRouter(opts: GuardBatchRouterOptions): express.Router {
  const router = express.Router();
  const log = opts.logger;
  const record = async (e: EvidenceInput): Promise<void> => {
    try {
      await opts.audit.append(e);
    } catch (err) {
      log.error({ key: e.key, err: (err as Error).message }, 'audit write failed');
    }
  };
  router.post(
    GUARD_BATCH_PATH,
    requireContentType('application/json', opts.countRefusal),
    express.raw({ type: () => true, limit: opts.bodyLimit ?? '32mb' }),
    async (req, res) => {
      const requestId = requestIdOf(res);
      const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const verified = opts.verifySigned(req, rawBody);
      if (!verified.ok) {
        opts.countRefusal(req, res, { status: 401, error: 'bad_signature', message: verified.reason });
        return sendError(res, 401, 'bad_signature', verified.reason);
      }
      const refuse = async (r: Refusal): Promise<void> => {
        log.warn({ path: GUARD_BATCH_PATH, requestId, status: r.status, error: r.error }, 'hr batch refused');
        await opts.recordRefusal(requestId, r);
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
      const b = (body ?? {}) as { batchId?: unknown; path?: unknown; events?: unknown };
      const issues: { path: string; message: string }[] = [];
      if (typeof b.batchId !== 'string' || !/^[A-Za-z0-9._:-]{1,128}$/.test(b.batchId)) {
        issues.push({ path: 'batchId', message: 'must be 1-128 letters, digits, ".", "_", ":" or "-"' });
      }
      const path = (b.path ?? 'import') as GuardPath;
      if (!batchPaths.includes(path)) issues.push({ path: 'path', message: `must be one of ${batchPaths.join(', ')}` });
      if (!Array.isArray(b.events) || b.events.length === 0 || b.events.length > MAX_BATCH_EVENTS) {
        issues.push({ path: 'events', message: `must be an array of 1 to ${MAX_BATCH_EVENTS} events` });
      }
      const events: HrEvent[] = [];
      const receivedAt = new Date(opts.now()).toISOString();
      const seen = new Set<string>();
      for (const [i, raw] of (Array.isArray(b.events) ? b.events : []).entries()) {
        if (opts.unknownFieldPolicy === 'refuse') {
          for (const f of unknownEventFields(raw)) {
            issues.push({ path: `events.${i}.${f}`, message: 'is not a field Tenure knows (intake.unknownFields)' });
          }
        }
        const parsed = webhookEventSchema.safeParse(cleanEventText(raw));
        if (!parsed.success) {
          for (const issue of parsed.error.issues) {
            issues.push({ path: ['events', i, ...issue.path].join('.'), message: issue.message });
          }
          continue;
        }
        if (seen.has(parsed.data.eventId)) {
          issues.push({ path: `events.${i}.eventId`, message: 'repeats an earlier event of the batch' });
        }
        seen.add(parsed.data.eventId);
        events.push({ ...parsed.data, source: `batch-${path}`, receivedAt });
      }
      if (issues.length > 0) {
        const shown = issues.slice(0, 50);
        return refuse({
          status: 422,
          error: 'invalid_batch',
          message: shown.map((i) => `${i.path}: ${i.message}`).join('; '),
          issues: shown,
        });
      }
      try {
        const delivery = await deliverGuarded(opts.client, opts.taskQueue, opts.policy.policy, {
          path,
          batchId: String(b.batchId),
          events,
        });
        await record({
          key: `intake:${requestId}`,
          at: receivedAt,
          actor: INTAKE_ACTOR,
          action: delivery.held ? 'hr_batch_held' : 'hr_batch_received',
          requestId: String(b.batchId),
          outcome: delivery.held ? 'held' : 'delivered',
          detail: {
            path,
            events: events.length,
            held: delivery.results.filter((r) => r.held).length,
            ...(delivery.holdId ? { holdId: delivery.holdId, reasons: delivery.reasons } : {}),
          },
        });
        log.info(
          { requestId, batchId: b.batchId, events: events.length, held: delivery.held, holdId: delivery.holdId },
          'hr batch delivered',
        );
        res.status(delivery.held ? 202 : 200).json({ batchId: b.batchId, ...delivery });
      } catch (err) {
        log.error({ requestId, batchId: b.batchId, err: (err as Error).message }, 'batch delivery failed');
        sendError(res, 503, 'unavailable', 'could not reach Temporal; send the batch again (it is the same batch)');
      }
    },
  );
  return router;
}
