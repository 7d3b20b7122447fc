/**
 * The policy's `sync` section (issue 14, item 2): where the daily roster comes from, when the Temporal Schedule runs
 * it, and what a person who vanished from the roster leads to. Secrets are only named (`...Env`), never written here.
 */
import { z } from 'zod';
import { isValidTimeZone } from './employee';
import { durationSchema } from './approval';
import { envVarName } from './env-var-name';

const locationSchema = z
  .object({
    countryCode: z.string().regex(/^[A-Z]{2}$/, { message: 'must be an ISO 3166-1 alpha-2 code such as "PT"' }),
    timeZone: z.string().refine(isValidTimeZone, { message: 'must be an IANA time zone such as "Europe/Lisbon"' }),
  })
  .strict();

/** BambooHR: a custom report of every employee (POST /reports/custom), "changed since" for incremental runs. */
export const bambooSyncSourceSchema = z
  .object({
    type: z.literal('bamboohr'),
    /** e.g. https://api.bamboohr.com/api/gateway.php/acme/v1 */
    baseUrl: z.url(),
    apiKeyEnv: envVarName,
    /** BambooHR location name → country and time zone (BambooHR has no time zone field). */
    locations: z.record(z.string().min(1), locationSchema).default({}),
    defaultLocation: locationSchema.extend({ name: z.string().min(1) }).optional(),
  })
  .strict();

/** A CSV roster file in the `tenure import` format (docs/import.md). */
export const csvSyncSourceSchema = z
  .object({
    type: z.literal('csv'),
    path: z.string().min(1),
  })
  .strict();

/** HiBob: one People search (POST /people/search) of every employee; API service user id and token (docs/hris.md). */
export const hibobSyncSourceSchema = z
  .object({
    type: z.literal('hibob'),
    /** @default https://api.hibob.com/v1 (the sandbox is https://api.sandbox.hibob.com/v1) */
    baseUrl: z.url().default('https://api.hibob.com/v1'),
    serviceUserIdEnv: envVarName,
    tokenEnv: envVarName,
    /** The HiBob webhook's secret token: when set, the intake serves `POST /webhooks/hibob` (docs/hris.md). */
    webhookSecretEnv: envVarName.optional(),
    /** HiBob site name → country and time zone. */
    locations: z.record(z.string().min(1), locationSchema).default({}),
    defaultLocation: locationSchema.extend({ name: z.string().min(1) }).optional(),
  })
  .strict();

const employmentTypeSchema = z.enum(['employee', 'contractor', 'intern', 'temporary']);
/** The keys of the Workday field map (src/activities/hris/workday/mapping.ts, `WorkdayFieldMap`). */
const workdayFieldKeys = [
  'hrId',
  'legalFirstName',
  'legalLastName',
  'preferredFirstName',
  'workEmail',
  'personalEmail',
  'department',
  'title',
  'location',
  'managerHrId',
  'workerType',
  'employeeType',
  'active',
  'terminated',
  'onLeave',
  'hireDate',
  'exitDate',
  'updatedAt',
] as const;

/** Workday: a RaaS custom report as JSON (GET …/ccx/service/customreport2/<tenant>/<owner>/<report>) (docs/hris.md). */
export const workdaySyncSourceSchema = z
  .object({
    type: z.literal('workday'),
    /** e.g. https://wd2-impl-services1.workday.com/ccx/service/customreport2/acme/ISU_Tenure/Tenure_Workers */
    reportUrl: z.url(),
    usernameEnv: envVarName,
    passwordEnv: envVarName,
    /** Report prompts, sent as query parameters. */
    prompts: z.record(z.string().regex(/^[A-Za-z0-9_]+$/), z.string()).default({}),
    /** Report column per EmployeeRecord field, where the report differs from the defaults (docs/hris.md). */
    fields: z.partialRecord(z.enum(workdayFieldKeys), z.string().min(1)).default({}),
    /** Employee type or worker type (as Workday spells it) → employment type. */
    workerTypes: z.record(z.string().min(1), employmentTypeSchema).default({}),
    locations: z.record(z.string().min(1), locationSchema).default({}),
    defaultLocation: locationSchema.extend({ name: z.string().min(1) }).optional(),
  })
  .strict();

export const syncSourceSchema = z.discriminatedUnion('type', [
  bambooSyncSourceSchema,
  csvSyncSourceSchema,
  hibobSyncSourceSchema,
  workdaySyncSourceSchema,
]);

/** Five-field cron (minute hour day-of-month month day-of-week), as Temporal Schedules take it. */
const cronSchema = z.string().regex(/^\s*\S+(\s+\S+){4}\s*$/, {
  message: 'must be a five-field cron expression such as "0 6 * * *"',
});

/**
 * `report`: evidence and the run's summary only. `terminate_after_review`: also a termination for each, held by the
 * mass-change guard for an operator's review (`tenure guard show|release|discard`), so nobody is terminated unseen.
 */
export const vanishedReactions = ['report', 'terminate_after_review'] as const;
export type VanishedReaction = (typeof vanishedReactions)[number];

export const syncPolicySchema = z
  .object({
    source: syncSourceSchema,
    schedule: z
      .object({
        cron: cronSchema.default('0 6 * * *'),
        timeZone: z
          .string()
          .refine(isValidTimeZone, { message: 'must be an IANA time zone such as "Europe/Lisbon"' })
          .default('UTC'),
      })
      .strict()
      .default({ cron: '0 6 * * *', timeZone: 'UTC' }),
    /** A person Tenure knows who is no longer in the roster: always reported; never terminated silently. */
    onVanished: z.enum(vanishedReactions).default('report'),
    /** When false the schedule is created paused (runs only with `tenure sync run`). @default true */
    enabled: z.boolean().default(true),
    /**
     * `full`: every run reads the whole roster. `incremental`: a run reads only who changed since the last completed
     * run started (so a failed run's window is read again), where the source has such a read (BambooHR's changed
     * list); a run is full when no run has completed yet, every `fullEvery`, and with `tenure sync run --full`. Only
     * full runs can tell who vanished.
     * @default "full"
     */
    mode: z.enum(['full', 'incremental']).default('full'),
    /** In `incremental` mode, the longest time between full runs. @default "7d" */
    fullEvery: durationSchema.default(7 * 86_400_000),
  })
  .strict();

export type SyncPolicy = z.infer<typeof syncPolicySchema>;
export type SyncSource = z.infer<typeof syncSourceSchema>;

/**
 * The environment variables the sync section names, for the worker's required variables or (`intake`) the intake's:
 * the intake needs HiBob's webhook secret and its API credentials (to read the employee) when the webhook is on.
 */
export function syncSecretVariables(sync: SyncPolicy | undefined, role: 'worker' | 'intake' = 'worker'): string[] {
  if (!sync) return [];
  const src = sync.source;
  if (role === 'intake') {
    return src.type === 'hibob' && src.webhookSecretEnv !== undefined
      ? [src.webhookSecretEnv, src.serviceUserIdEnv, src.tokenEnv]
      : [];
  }
  if (src.type === 'bamboohr') return [src.apiKeyEnv];
  if (src.type === 'hibob') return [src.serviceUserIdEnv, src.tokenEnv];
  if (src.type === 'workday') return [src.usernameEnv, src.passwordEnv];
  return [];
}
