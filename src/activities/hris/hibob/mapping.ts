/**
 * HiBob employee (as `POST /people/search` returns it) → EmployeeRecord. The field list, how list values and
 * dates are read and how status is derived are documented in docs/hris.md; keep the two in step.
 *
 * HiBob answers in "machine format" (list fields such as department, title and site as list item ids, dates as
 * `YYYY-MM-DD`). Tenure asks for `humanReadable: "APPEND"`, which adds a `humanReadable` object with the same
 * shape holding display values: names are read from there, ids and dates from the machine values.
 */
import type { EmployeeRecord } from '../../../domain/employee';
import { calendarDateSchema, employeeRecordSchema, isValidTimeZone } from '../../../domain/employee';
import { cleanRecordText } from '../../../domain/text';
import { wallClock } from '../../../domain/time';
import { employmentTypeOf } from '../bamboohr/mapping';

/** The HiBob field ids Tenure reads (documented `/category/field` paths). */
export const HIBOB_PEOPLE_FIELDS = [
  '/root/id',
  '/root/firstName',
  '/root/surname',
  '/root/email',
  '/work/department',
  '/work/title',
  '/work/site',
  '/work/reportsTo',
  '/work/startDate',
  '/internal/status',
  '/internal/terminationDate',
  '/internal/lifecycleStatus',
  '/payroll/employment/type',
] as const;

/** One employee object of a people search answer: nested by category (`work`, `internal`, …). */
export type HibobEmployee = Record<string, unknown>;

export interface HibobLocation {
  /** ISO 3166-1 alpha-2, e.g. "PT". */
  countryCode: string;
  /** IANA time zone, e.g. "Europe/Lisbon". */
  timeZone: string;
}

export interface HibobMappingOptions {
  /** HiBob site name (`/work/site`, as HiBob displays it) → country and time zone. */
  locations: Record<string, HibobLocation>;
  /** For employees whose site is empty or not in `locations`; without it they are refused. */
  defaultLocation?: HibobLocation & { name: string };
  /** When the record changed (ISO 8601 with offset): HiBob's people fields carry no modification time. @default now */
  updatedAt?: string;
  /** @default () => new Date() */
  now?: () => Date;
}

export type HibobMappingResult =
  { ok: true; record: EmployeeRecord } | { ok: false; issues: { field: string; message: string }[] };

/** Which EmployeeRecord field comes from which HiBob field, for naming problems in HiBob's terms. */
const SOURCE_FIELD: Record<string, string> = {
  hrId: '/root/id',
  legalFirstName: '/root/firstName',
  legalLastName: '/root/surname',
  workEmail: '/root/email',
  personalEmail: '/root/email',
  department: '/work/department',
  title: '/work/title',
  location: '/work/site',
  managerHrId: '/work/reportsTo',
  employmentType: '/payroll/employment/type',
  status: '/internal/status',
  hireDate: '/work/startDate',
  exitDate: '/internal/terminationDate',
  sourceUpdatedAt: '(read time)',
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value at a `/category/field` path of an employee object (or of its `humanReadable` twin). */
export function hibobValue(employee: Record<string, unknown>, path: string): unknown {
  const parts = path.split('/').filter(Boolean);
  // `/root/x` lives at the top level of the answer.
  const keys = parts[0] === 'root' ? parts.slice(1) : parts;
  let cur: unknown = employee;
  for (const k of keys) {
    if (!isObject(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

function text(value: unknown): string | undefined {
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') return undefined;
  const t = value.trim();
  return t ? t : undefined;
}

/** A display value where HiBob gave one (humanReadable APPEND), else the machine value. */
function display(employee: HibobEmployee, path: string): string | undefined {
  const human = isObject(employee.humanReadable) ? hibobValue(employee.humanReadable, path) : undefined;
  return text(human) ?? text(hibobValue(employee, path));
}

/** `/work/reportsTo` is an object `{ id, displayName, email, … }` in machine format (an id string is taken too). */
function managerId(value: unknown): string | undefined {
  if (isObject(value)) return text(value.id);
  return text(value);
}

/** HiBob's machine dates are `YYYY-MM-DD`; a date-time is cut to its date. */
function date(value: unknown): string | undefined {
  const t = text(value);
  if (t === undefined) return undefined;
  const m = /^(\d{4}-\d{2}-\d{2})(T.*)?$/.exec(t);
  return m ? m[1] : t;
}

/** Map one HiBob employee (searched with {@link HIBOB_PEOPLE_FIELDS}) to an EmployeeRecord. */
export function mapHibobEmployee(employee: HibobEmployee, options: HibobMappingOptions): HibobMappingResult {
  const issues: { field: string; message: string }[] = [];
  const now = (options.now ?? (() => new Date()))();

  const siteName = display(employee, '/work/site');
  const known = siteName !== undefined ? options.locations[siteName] : undefined;
  let location: EmployeeRecord['location'] | undefined;
  if (known && siteName !== undefined) location = { name: siteName, ...known };
  else if (options.defaultLocation) location = { ...options.defaultLocation };
  else {
    issues.push({
      field: '/work/site',
      message:
        siteName === undefined
          ? 'is empty, and no default location is configured'
          : 'has no country and time zone in the HiBob site map',
    });
  }
  if (location && !isValidTimeZone(location.timeZone)) {
    issues.push({ field: '/work/site', message: 'the configured time zone is not an IANA time zone' });
    location = undefined;
  }

  const hireDate = date(hibobValue(employee, '/work/startDate'));
  const exitDate = date(hibobValue(employee, '/internal/terminationDate'));
  const today = wallClock(now, location?.timeZone ?? 'UTC').date;
  const validDate = (d: string | undefined): d is string => d !== undefined && calendarDateSchema.safeParse(d).success;
  const status = text(hibobValue(employee, '/internal/status'))?.toLowerCase();
  const lifecycle = text(hibobValue(employee, '/internal/lifecycleStatus'))?.toLowerCase();

  let recordStatus: EmployeeRecord['status'];
  if (validDate(exitDate) && exitDate <= today) recordStatus = 'terminated';
  else if (lifecycle === 'terminated' || (status === 'inactive' && lifecycle === undefined))
    recordStatus = 'terminated';
  else if (validDate(hireDate) && hireDate > today) recordStatus = 'pre_hire';
  else if (lifecycle !== undefined && lifecycle.includes('leave')) recordStatus = 'on_leave';
  else recordStatus = 'active';

  const candidate: Record<string, unknown> = {
    hrId: text(hibobValue(employee, '/root/id')),
    legalFirstName: text(hibobValue(employee, '/root/firstName')),
    legalLastName: text(hibobValue(employee, '/root/surname')),
    workEmail: text(hibobValue(employee, '/root/email')),
    department: display(employee, '/work/department'),
    title: display(employee, '/work/title'),
    location,
    managerHrId: managerId(hibobValue(employee, '/work/reportsTo')),
    employmentType: employmentTypeOf(display(employee, '/payroll/employment/type')),
    status: recordStatus,
    hireDate,
    exitDate,
    sourceUpdatedAt: options.updatedAt ?? now.toISOString(),
  };
  for (const key of Object.keys(candidate)) if (candidate[key] === undefined) delete candidate[key];
  if (hireDate === undefined) issues.push({ field: '/work/startDate', message: 'is empty' });
  if (candidate.workEmail === undefined) issues.push({ field: '/root/email', message: 'is empty' });

  const parsed = employeeRecordSchema.safeParse(cleanRecordText(candidate));
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const top = String(issue.path[0] ?? '');
      if (top === 'location' && issues.some((i) => i.field === '/work/site')) continue;
      if (top === 'hireDate' && hireDate === undefined) continue;
      // personalEmail carries the "needs an email" refinement, reported above as /root/email.
      if (top === 'personalEmail' && issue.code === 'custom') continue;
      issues.push({ field: SOURCE_FIELD[top] ?? (issue.path.join('.') || '(record)'), message: issue.message });
    }
  }
  if (issues.length > 0 || !parsed.success) return { ok: false, issues };
  return { ok: true, record: parsed.data };
}
