/**
 * HiBob webhooks: signature verification and the v2 event payload.
 *
 * Signing, as HiBob documents it ("Working with webhooks", step 3): the `Bob-Signature` header is the Base64 of the
 * HMAC-SHA512 of the raw request payload, keyed with the webhook's secret token (UTF-8). HiBob's documentation
 * names SHA-512, not SHA-256, and documents no timestamp header and no replay window: a replayed, validly signed
 * event is caught as a duplicate by its event id (`hibobEventId`), not by a clock.
 *
 * v2 payload (every employee event): `{ companyId, type, triggeredBy, triggeredAt, version: "v2", data: { employeeId,
 * … } }`. HiBob recommends reading the employee through the API rather than trusting payload values; Tenure does.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

export const HIBOB_SIGNATURE_HEADER = 'bob-signature';

/** Base64 HMAC-SHA512 of the raw body, as HiBob signs. */
export function signHibobWebhook(secret: string, rawBody: string | Buffer): string {
  return createHmac('sha512', Buffer.from(secret, 'utf8')).update(Buffer.from(rawBody)).digest('base64');
}

export interface VerifyHibobInput {
  /** The webhook's secret token from HiBob's webhook settings. */
  secret: string;
  /** The `Bob-Signature` header. */
  signature: string | undefined;
  /** The raw request body, exactly as received (not re-serialized JSON). */
  rawBody: Buffer;
}

export type VerifyHibobResult = { ok: true } | { ok: false; reason: string };

/** Timing-safe comparison of the decoded signature with the expected MAC (64 bytes). */
export function verifyHibobWebhook(i: VerifyHibobInput): VerifyHibobResult {
  if (!i.secret) return { ok: false, reason: 'no HiBob webhook secret is configured' };
  const header = i.signature?.trim();
  if (!header) return { ok: false, reason: `missing ${HIBOB_SIGNATURE_HEADER} header` };
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(header)) {
    return { ok: false, reason: `${HIBOB_SIGNATURE_HEADER} is not Base64` };
  }
  const expected = createHmac('sha512', Buffer.from(i.secret, 'utf8')).update(i.rawBody).digest();
  const actual = Buffer.from(header, 'base64');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    return { ok: false, reason: `${HIBOB_SIGNATURE_HEADER} does not match the body` };
  }
  return { ok: true };
}

/** Employee events Tenure acts on: created/updated/deleted, and the lifecycle events. */
export const HIBOB_EMPLOYEE_EVENT_TYPES = [
  'employee.created',
  'employee.updated',
  'employee.deleted',
  'employee.joined',
  'employee.left',
  'employee.activated',
  'employee.inactivated',
  'employee.temporaryLeave',
  'table.entry.created',
  'table.entry.updated',
  'table.entry.deleted',
] as const;
export type HibobEventType = (typeof HIBOB_EMPLOYEE_EVENT_TYPES)[number];

/** One employee a HiBob webhook says changed. */
export interface HibobChange {
  employeeId: string;
  type: HibobEventType;
  /** When HiBob says the event happened, as it wrote it (`triggeredAt`). */
  triggeredAt: string;
}

/** HiBob backend ids are long digit strings; numbers are taken too. */
const idSchema = z
  .union([z.string().regex(/^[A-Za-z0-9._-]{1,64}$/), z.number().int().nonnegative()])
  .transform(String);

const eventSchema = z.object({
  companyId: z.union([z.number(), z.string()]).optional(),
  type: z.string().min(1).max(100),
  triggeredBy: z.string().optional(),
  triggeredAt: z.string().min(1).max(64),
  version: z.string().optional(),
  data: z.object({ employeeId: idSchema }).loose(),
});

export type ParseHibobResult =
  | { ok: true; change: HibobChange }
  /** Not an employee event (HiBob's ping, a task or time-off event): answer 2xx, do nothing. */
  | { ok: true; change: undefined; ignored: string }
  | { ok: false; reason: string };

/** The change a v2 payload announces. HiBob's connection test ("Ping test", `{ text }`) is ignored, not refused. */
export function parseHibobWebhook(body: unknown): ParseHibobResult {
  if (body === 'Ping test' || (typeof body === 'object' && body !== null && 'text' in body && !('type' in body))) {
    return { ok: true, change: undefined, ignored: 'HiBob connection test' };
  }
  const parsed = eventSchema.safeParse(body);
  if (!parsed.success) {
    return {
      ok: false,
      reason: 'not a HiBob webhook body: expected { type, triggeredAt, data: { employeeId } }',
    };
  }
  const { type, triggeredAt, data } = parsed.data;
  if (!(HIBOB_EMPLOYEE_EVENT_TYPES as readonly string[]).includes(type)) {
    return { ok: true, change: undefined, ignored: 'not an employee event' };
  }
  return { ok: true, change: { employeeId: data.employeeId, type: type as HibobEventType, triggeredAt } };
}

/**
 * A stable event id for one change, so a webhook HiBob retries is a duplicate, not a second event:
 * `hibob-<employeeId>-<16 hex of sha256(type|employeeId|triggeredAt)>`.
 */
export function hibobEventId(change: HibobChange): string {
  const digest = createHash('sha256').update(`${change.type}|${change.employeeId}|${change.triggeredAt}`).digest('hex');
  return `hibob-${change.employeeId}-${digest.slice(0, 16)}`;
}

/**
 * HiBob's `triggeredAt` as an ISO instant: it is written without an offset (`2025-01-08T13:06:26.915906`), which
 * Tenure reads as UTC; `undefined` when unreadable.
 */
export function hibobInstant(value: string): string | undefined {
  const t = value.trim();
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(t);
  if (!m) return undefined;
  const fraction = m[2] ? m[2].slice(0, 4) : '';
  const zone = m[3] ? m[3].replace(/^([+-]\d{2})(\d{2})$/, '$1:$2') : 'Z';
  const ms = Date.parse(`${m[1]}${fraction}${zone}`);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}
