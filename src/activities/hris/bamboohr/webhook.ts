/**
 * BambooHR webhooks: signature verification and the two payload shapes.
 *
 * Signing, as BambooHR documents it: `X-BambooHR-Signature` is the hex HMAC-SHA256, keyed with the webhook's
 * private key, of the raw request body immediately followed by the `X-BambooHR-Timestamp` header value (no
 * separator). BambooHR does not document a replay window or the timestamp's format; Tenure accepts Unix
 * seconds or an ISO 8601 date-time and refuses one more than 5 minutes from its clock, either way
 * (docs/bamboohr.md).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

export const BAMBOO_SIGNATURE_HEADER = 'x-bamboohr-signature';
export const BAMBOO_TIMESTAMP_HEADER = 'x-bamboohr-timestamp';
export const BAMBOO_DEFAULT_TOLERANCE_SECONDS = 300;

/** Hex HMAC-SHA256 of `<raw body><timestamp>`, as BambooHR signs. */
export function signBambooWebhook(secret: string, rawBody: string | Buffer, timestamp: string): string {
  return createHmac('sha256', secret)
    .update(Buffer.concat([Buffer.from(rawBody), Buffer.from(timestamp, 'utf8')]))
    .digest('hex');
}

/** Seconds since the epoch of a timestamp header: Unix seconds, or an ISO 8601 date-time. */
export function bambooTimestampSeconds(value: string): number | undefined {
  const t = value.trim();
  if (/^\d{1,12}$/.test(t)) return Number(t);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(t)) return undefined;
  const ms = Date.parse(t.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

export interface VerifyBambooInput {
  secret: string;
  timestamp: string | undefined;
  signature: string | undefined;
  rawBody: Buffer;
  /** Seconds since the epoch. */
  nowSeconds: number;
  /** @default 300 */
  toleranceSeconds?: number;
}

export type VerifyBambooResult = { ok: true } | { ok: false; reason: string };

export function verifyBambooWebhook(i: VerifyBambooInput): VerifyBambooResult {
  const tolerance = i.toleranceSeconds ?? BAMBOO_DEFAULT_TOLERANCE_SECONDS;
  if (!i.timestamp) return { ok: false, reason: `missing ${BAMBOO_TIMESTAMP_HEADER} header` };
  const ts = bambooTimestampSeconds(i.timestamp);
  if (ts === undefined) {
    return { ok: false, reason: `${BAMBOO_TIMESTAMP_HEADER} must be Unix seconds or an ISO 8601 date-time` };
  }
  if (Math.abs(i.nowSeconds - ts) > tolerance) {
    return {
      ok: false,
      reason: `${BAMBOO_TIMESTAMP_HEADER} is more than ${tolerance} seconds from the server clock (stale or future request)`,
    };
  }
  if (!i.signature) return { ok: false, reason: `missing ${BAMBOO_SIGNATURE_HEADER} header` };
  const expected = Buffer.from(signBambooWebhook(i.secret, i.rawBody, i.timestamp));
  const actual = Buffer.from(i.signature.trim().toLowerCase());
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
    return { ok: false, reason: `${BAMBOO_SIGNATURE_HEADER} does not match the body` };
  }
  return { ok: true };
}

/** One employee a webhook says changed. */
export interface BambooChange {
  employeeId: string;
  action: 'created' | 'updated' | 'deleted';
  /** When BambooHR says the change happened, as it wrote it; absent when it did not say. */
  at?: string;
  changedFields: string[];
}

const idSchema = z.union([z.string().regex(/^\d{1,18}$/), z.number().int().nonnegative()]).transform(String);

/** Event-based payload: `{ type: "employee.updated", timestamp, data: { companyId, employeeId, changedFields } }`. */
const eventBasedSchema = z.object({
  type: z.enum(['employee.created', 'employee.updated', 'employee.deleted']),
  timestamp: z.string().optional(),
  data: z.object({ employeeId: idSchema, changedFields: z.array(z.string()).optional() }),
});

/** Field-based (global / permissioned) payload: `{ employees: [{ id, action, timestamp, changedFields, fields }] }`. */
const fieldBasedSchema = z.object({
  employees: z
    .array(
      z.object({
        id: idSchema,
        action: z.enum(['Created', 'Updated', 'Deleted']).optional(),
        timestamp: z.string().optional(),
        changedFields: z.array(z.string()).optional(),
      }),
    )
    .min(1),
});

export type ParseBambooResult = { ok: true; changes: BambooChange[] } | { ok: false; reason: string };

/**
 * The changed employees of either payload shape, one entry per employee (the last change wins). Field values a
 * field-based payload carries are ignored: Tenure reads the employee over REST, so it acts on current data.
 */
export function parseBambooWebhook(body: unknown): ParseBambooResult {
  const event = eventBasedSchema.safeParse(body);
  if (event.success) {
    const { type, timestamp, data } = event.data;
    const change: BambooChange = {
      employeeId: data.employeeId,
      action: type.slice('employee.'.length) as BambooChange['action'],
      changedFields: data.changedFields ?? [],
    };
    if (timestamp !== undefined) change.at = timestamp;
    return { ok: true, changes: [change] };
  }
  const fields = fieldBasedSchema.safeParse(body);
  if (fields.success) {
    const byId = new Map<string, BambooChange>();
    for (const e of fields.data.employees) {
      const change: BambooChange = {
        employeeId: e.id,
        action: (e.action?.toLowerCase() ?? 'updated') as BambooChange['action'],
        changedFields: e.changedFields ?? [],
      };
      if (e.timestamp !== undefined) change.at = e.timestamp;
      byId.delete(e.id);
      byId.set(e.id, change);
    }
    return { ok: true, changes: [...byId.values()] };
  }
  return {
    ok: false,
    reason: 'not a BambooHR webhook body: expected { type, data: { employeeId } } or { employees: [{ id, action }] }',
  };
}

/**
 * A stable event id for one change, so a webhook BambooHR retries is a duplicate, not a second event:
 * `bamboohr-<employeeId>-<16 hex of sha256(action|employeeId|timestamp or raw body)>`.
 */
export function bambooEventId(change: BambooChange, rawBody: Buffer): string {
  const when = change.at ?? createHash('sha256').update(rawBody).digest('hex');
  const digest = createHash('sha256').update(`${change.action}|${change.employeeId}|${when}`).digest('hex');
  return `bamboohr-${change.employeeId}-${digest.slice(0, 16)}`;
}
