/**
 * What a HiBob webhook means for Tenure, in one call the intake can use (it is not wired into the intake yet):
 * verify `Bob-Signature`, parse the v2 payload, read the employee over the People API (HiBob's advice: never trust
 * payload values) and map it exactly as the roster sync maps it. Outcomes name fields, never values.
 */
import type { HibobClient } from './client';
import { mapHibobEmployee, type HibobMappingOptions } from './mapping';
import { hibobEventId, hibobInstant, parseHibobWebhook, verifyHibobWebhook, type HibobChange } from './webhook';
import type { EmployeeRecord } from '../../../domain/employee';

export interface HibobWebhookInput {
  secret: string;
  /** The `Bob-Signature` header. */
  signature: string | undefined;
  rawBody: Buffer;
  client: HibobClient;
  mapping: Omit<HibobMappingOptions, 'updatedAt'>;
}

export type HibobWebhookOutcome =
  /** Refused before anything was read: 401 for a bad signature, 400 for a body that is no HiBob event. */
  | { outcome: 'refused'; httpStatus: 400 | 401; reason: string }
  /** A ping or an event that is not about an employee: answer 2xx and do nothing. */
  | { outcome: 'ignored'; reason: string }
  /** The employee was deleted, or HiBob no longer shows them: the roster sync reports them as vanished. */
  | { outcome: 'gone'; change: HibobChange; eventId: string }
  /** HiBob's data cannot make a valid record: which fields, never their values. */
  | { outcome: 'invalid'; change: HibobChange; eventId: string; issues: string[] }
  | { outcome: 'record'; change: HibobChange; eventId: string; record: EmployeeRecord };

/** Verify, parse, read and map one HiBob webhook. Read failures are `ConnectorError`s (thrown; retry them). */
export async function hibobWebhookRecord(i: HibobWebhookInput): Promise<HibobWebhookOutcome> {
  const verified = verifyHibobWebhook({ secret: i.secret, signature: i.signature, rawBody: i.rawBody });
  if (!verified.ok) return { outcome: 'refused', httpStatus: 401, reason: verified.reason };
  const text = i.rawBody.toString('utf8');
  let body: unknown = text;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    // HiBob's first connection test is the bare string "Ping test".
  }
  const parsed = parseHibobWebhook(body);
  if (!parsed.ok) return { outcome: 'refused', httpStatus: 400, reason: parsed.reason };
  if (parsed.change === undefined) return { outcome: 'ignored', reason: parsed.ignored };
  const change = parsed.change;
  const eventId = hibobEventId(change);
  if (change.type === 'employee.deleted') return { outcome: 'gone', change, eventId };
  const employee = await i.client.getEmployee(change.employeeId);
  if (employee === undefined) return { outcome: 'gone', change, eventId };
  const updatedAt = hibobInstant(change.triggeredAt);
  const mapped = mapHibobEmployee(employee, { ...i.mapping, ...(updatedAt !== undefined ? { updatedAt } : {}) });
  if (!mapped.ok) {
    return { outcome: 'invalid', change, eventId, issues: mapped.issues.map((x) => `${x.field}: ${x.message}`) };
  }
  return { outcome: 'record', change, eventId, record: mapped.record };
}
