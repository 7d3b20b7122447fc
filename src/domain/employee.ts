import { z } from 'zod';
import { stripControlCharacters } from './text';

/**
 * Length bounds of every free-text field of a record, in characters (UTF-16 code units, as JavaScript counts them;
 * at most three bytes each in UTF-8). They keep each value far below what any downstream store takes: Temporal's
 * 2,048-byte search attribute values and 2 MB payloads, SCIM attributes, Slack blocks. Documented in docs/webhook.md.
 */
export const RECORD_LIMITS = {
  hrId: 64,
  name: 100,
  email: 254,
  department: 100,
  title: 150,
  locationName: 100,
  timeZone: 64,
} as const;

const text = (max: number) => z.string().min(1).max(max);

/** IANA time zone name, checked against the runtime's time zone database. */
export const timeZoneSchema = z.string().max(RECORD_LIMITS.timeZone).refine(isValidTimeZone, {
  message: 'must be an IANA time zone such as "Europe/Lisbon"',
});

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** A calendar date `YYYY-MM-DD` that exists (no 2026-02-30). */
export const calendarDateSchema = z.iso.date({ message: 'must be a calendar date YYYY-MM-DD' });

export const hrIdSchema = z
  .string()
  .min(1)
  .max(RECORD_LIMITS.hrId)
  .regex(/^[A-Za-z0-9._-]+$/, { message: 'may contain only letters, digits, ".", "_" and "-"' });

export const employmentTypes = ['employee', 'contractor', 'intern', 'temporary'] as const;
export const employeeStatuses = ['pre_hire', 'active', 'on_leave', 'terminated'] as const;

/**
 * The schemas below strip keys they do not know: HR systems add fields, and an extra field must not break an
 * integration. Intake names them first (`unknownEventFields`) and, by the policy's `intake.unknownFields`, reports
 * them as ignored or refuses the event (docs/webhook.md, Unknown fields).
 */
export const locationSchema = z.object({
  name: text(RECORD_LIMITS.locationName),
  countryCode: z.string().regex(/^[A-Z]{2}$/, { message: 'must be an ISO 3166-1 alpha-2 code such as "PT"' }),
  timeZone: timeZoneSchema,
});

/** The normalized HR snapshot of one person (DESIGN §3). */
export const employeeRecordSchema = z
  .object({
    hrId: hrIdSchema,
    legalFirstName: text(RECORD_LIMITS.name),
    legalLastName: text(RECORD_LIMITS.name),
    preferredFirstName: text(RECORD_LIMITS.name).optional(),
    preferredLastName: text(RECORD_LIMITS.name).optional(),
    personalEmail: z.email().max(RECORD_LIMITS.email).optional(),
    workEmail: z.email().max(RECORD_LIMITS.email).optional(),
    department: text(RECORD_LIMITS.department),
    title: text(RECORD_LIMITS.title),
    location: locationSchema,
    managerHrId: hrIdSchema.optional(),
    employmentType: z.enum(employmentTypes),
    status: z.enum(employeeStatuses),
    hireDate: calendarDateSchema,
    exitDate: calendarDateSchema.optional(),
    exitKind: z.enum(['voluntary', 'involuntary']).optional(),
    sourceUpdatedAt: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with offset' }),
  })
  .refine((r) => r.personalEmail !== undefined || r.workEmail !== undefined, {
    message: 'needs personalEmail or workEmail',
    path: ['personalEmail'],
  });

export type EmployeeRecord = z.infer<typeof employeeRecordSchema>;

export const hrEventKinds = [
  'hire',
  'rehire',
  'change',
  'leave_start',
  'leave_end',
  'termination',
  'cancel_hire',
] as const;
export type HrEventKind = (typeof hrEventKinds)[number];

/** Tenure's own generic webhook body: the public contract for HR integrations. */
export const webhookEventSchema = z.object({
  eventId: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9._:-]+$/, { message: 'may contain only letters, digits, ".", "_", ":" and "-"' }),
  kind: z.enum(hrEventKinds),
  record: employeeRecordSchema,
});

export type WebhookEvent = z.infer<typeof webhookEventSchema>;

/** What intake does with a field it does not know (the policy's `intake.unknownFields`). */
export const unknownFieldPolicies = ['ignore', 'refuse'] as const;
export type UnknownFieldPolicy = (typeof unknownFieldPolicies)[number];

/** At most this many unknown fields are named in an answer or an audit record. */
export const MAX_NAMED_UNKNOWN_FIELDS = 50;
/** A field name longer than this is shortened (with "…") where it is named. */
const MAX_FIELD_NAME = 64;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unknownKeys(value: unknown, known: object, prefix: string): string[] {
  if (!isPlainObject(value)) return [];
  return Object.keys(value)
    .filter((key) => !Object.hasOwn(known, key))
    .map((key) => {
      const name = stripControlCharacters(key) || '(unprintable)';
      return `${prefix}${name.length > MAX_FIELD_NAME ? `${name.slice(0, MAX_FIELD_NAME)}…` : name}`;
    });
}

/**
 * The fields of an unvalidated event body (`{ eventId, kind, record }`, or a plan preview's `{ record }`) that the
 * webhook schema does not know, as paths: `costCenter` at the top level, `record.costCenter`,
 * `record.location.building`. Names only, never values (values may be personal data); control characters are
 * stripped from the names, long ones are shortened and at most {@link MAX_NAMED_UNKNOWN_FIELDS} are returned.
 * The fields of an unknown field are not walked.
 */
export function unknownEventFields(body: unknown): string[] {
  const record = isPlainObject(body) ? body.record : undefined;
  const location = isPlainObject(record) ? record.location : undefined;
  return [
    ...unknownKeys(body, webhookEventSchema.shape, ''),
    ...unknownKeys(record, employeeRecordSchema.shape, 'record.'),
    ...unknownKeys(location, locationSchema.shape, 'record.location.'),
  ].slice(0, MAX_NAMED_UNKNOWN_FIELDS);
}

/** An HR event as Tenure handles it after intake (DESIGN §3). */
export interface HrEvent {
  eventId: string;
  source: string;
  kind: HrEventKind;
  record: EmployeeRecord;
  /** ISO instant the intake accepted the event. */
  receivedAt: string;
  /**
   * Set only by drift reconciliation (intake never sets it; the webhook schema has no such field): the record is HR's
   * current one, sent back so the entity repairs the accounts that drifted from it (src/domain/plan-repair.ts).
   */
  repair?: RepairRequest;
}

/** What a reconciliation asks the entity to repair, by system id. */
export interface RepairRequest {
  /** Systems where the person's account is absent or off while HR says they work here. */
  missing: string[];
  /** Systems whose account's attributes (title, department, manager, name) differ from HR. */
  drift: string[];
}

/** Name used in systems: the preferred name where HR has one. */
export function displayName(r: EmployeeRecord): { givenName: string; familyName: string } {
  return {
    givenName: r.preferredFirstName ?? r.legalFirstName,
    familyName: r.preferredLastName ?? r.legalLastName,
  };
}
