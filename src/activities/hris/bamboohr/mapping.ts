/**
 * BambooHR employee → EmployeeRecord. The field mapping, and how status and dates are derived, is documented
 * in docs/bamboohr.md; keep the two in step.
 */
import type { EmployeeRecord } from '../../../domain/employee';
import { calendarDateSchema, employeeRecordSchema, isValidTimeZone } from '../../../domain/employee';
import { cleanRecordText } from '../../../domain/text';
import { wallClock } from '../../../domain/time';
import type { BambooEmployee } from './client';

/** The BambooHR fields Tenure reads (API aliases). */
export const BAMBOO_EMPLOYEE_FIELDS = [
  'firstName',
  'lastName',
  'preferredName',
  'workEmail',
  'homeEmail',
  'department',
  'jobTitle',
  'location',
  'status',
  'employmentHistoryStatus',
  'hireDate',
  'terminationDate',
  'supervisorEId',
  'lastChanged',
] as const;

export interface BambooLocation {
  /** ISO 3166-1 alpha-2, e.g. "PT". */
  countryCode: string;
  /** IANA time zone, e.g. "Europe/Lisbon": hire and exit instants are computed in it. */
  timeZone: string;
}

export interface BambooMappingOptions {
  /**
   * BambooHR location name (the employee's `location` field, exactly as BambooHR spells it) → country and
   * time zone. BambooHR's employee fields carry no time zone, so Tenure needs this table.
   */
  locations: Record<string, BambooLocation>;
  /** For employees whose location is empty or not in `locations`; without it they are refused. */
  defaultLocation?: BambooLocation & { name: string };
  /** When the record changed, if BambooHR sends no `lastChanged` (ISO 8601 with offset). @default now */
  fallbackUpdatedAt?: string;
  /** @default () => new Date() */
  now?: () => Date;
}

export type BambooMappingResult =
  { ok: true; record: EmployeeRecord } | { ok: false; issues: { field: string; message: string }[] };

/** Which EmployeeRecord field comes from which BambooHR field, for naming problems in BambooHR's terms. */
const SOURCE_FIELD: Record<string, string> = {
  hrId: 'id',
  legalFirstName: 'firstName',
  legalLastName: 'lastName',
  preferredFirstName: 'preferredName',
  personalEmail: 'homeEmail',
  workEmail: 'workEmail',
  department: 'department',
  title: 'jobTitle',
  location: 'location',
  managerHrId: 'supervisorEId',
  employmentType: 'employmentHistoryStatus',
  status: 'status',
  hireDate: 'hireDate',
  exitDate: 'terminationDate',
  sourceUpdatedAt: 'lastChanged',
};

function text(value: string | null | undefined): string | undefined {
  const t = value?.trim();
  return t ? t : undefined;
}

/** BambooHR writes an empty date as "0000-00-00". */
function date(value: string | null | undefined): string | undefined {
  const t = text(value);
  return t === undefined || t === '0000-00-00' ? undefined : t;
}

/** "Full-Time", "Part-Time", "Contractor", "Intern", "Temporary", … (a per-company list) → employment type. */
export function employmentTypeOf(value: string | undefined): EmployeeRecord['employmentType'] {
  const v = (value ?? '').toLowerCase();
  if (v.includes('contract') || v.includes('freelance')) return 'contractor';
  if (v.includes('intern')) return 'intern';
  if (v.includes('temp') || v.includes('seasonal')) return 'temporary';
  return 'employee';
}

/** `2024-05-01T10:00:00+00:00` or `…+0000` → an ISO instant; `undefined` when unreadable. */
function instant(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const normalized = value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = Date.parse(normalized);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** Map one BambooHR employee (fetched with {@link BAMBOO_EMPLOYEE_FIELDS}) to an EmployeeRecord. */
export function mapBambooEmployee(employee: BambooEmployee, options: BambooMappingOptions): BambooMappingResult {
  const issues: { field: string; message: string }[] = [];
  const now = (options.now ?? (() => new Date()))();

  const locationName = text(employee.location);
  const known = locationName !== undefined ? options.locations[locationName] : undefined;
  let location: EmployeeRecord['location'] | undefined;
  if (known && locationName !== undefined) location = { name: locationName, ...known };
  else if (options.defaultLocation) location = { ...options.defaultLocation };
  else {
    issues.push({
      field: 'location',
      message:
        locationName === undefined
          ? 'is empty, and no default location is configured'
          : `"${locationName}" has no country and time zone in the BambooHR location map`,
    });
  }
  if (location && !isValidTimeZone(location.timeZone)) {
    issues.push({ field: 'location', message: `time zone "${location.timeZone}" is not an IANA time zone` });
    location = undefined;
  }

  const hireDate = date(employee.hireDate);
  const exitDate = date(employee.terminationDate);
  const today = wallClock(now, location?.timeZone ?? 'UTC').date;
  const validDate = (d: string | undefined): d is string => d !== undefined && calendarDateSchema.safeParse(d).success;
  const bambooStatus = text(employee.status)?.toLowerCase();
  const historyStatus = text(employee.employmentHistoryStatus);

  let status: EmployeeRecord['status'];
  if (validDate(exitDate) && exitDate <= today) status = 'terminated';
  else if (bambooStatus === 'inactive') status = 'terminated';
  else if (validDate(hireDate) && hireDate > today) status = 'pre_hire';
  else if (historyStatus !== undefined && /leave/i.test(historyStatus)) status = 'on_leave';
  else status = 'active';

  const firstName = text(employee.firstName);
  const preferred = text(employee.preferredName);
  const candidate: Record<string, unknown> = {
    hrId: employee.id,
    legalFirstName: firstName,
    legalLastName: text(employee.lastName),
    ...(preferred !== undefined && preferred !== firstName ? { preferredFirstName: preferred } : {}),
    personalEmail: text(employee.homeEmail),
    workEmail: text(employee.workEmail),
    department: text(employee.department),
    title: text(employee.jobTitle),
    location,
    managerHrId: text(employee.supervisorEId),
    employmentType: employmentTypeOf(historyStatus),
    status,
    hireDate,
    exitDate,
    sourceUpdatedAt:
      instant(text(employee.lastChanged)) ?? instant(options.fallbackUpdatedAt) ?? new Date(now).toISOString(),
  };
  for (const key of Object.keys(candidate)) if (candidate[key] === undefined) delete candidate[key];
  if (hireDate === undefined) issues.push({ field: 'hireDate', message: 'is empty' });

  const parsed = employeeRecordSchema.safeParse(cleanRecordText(candidate));
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const top = String(issue.path[0] ?? '');
      if (top === 'location' && issues.some((i) => i.field === 'location')) continue;
      if (top === 'hireDate' && hireDate === undefined) continue;
      issues.push({ field: SOURCE_FIELD[top] ?? (issue.path.join('.') || '(record)'), message: issue.message });
    }
  }
  if (issues.length > 0 || !parsed.success) return { ok: false, issues };
  return { ok: true, record: parsed.data };
}
