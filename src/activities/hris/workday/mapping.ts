/**
 * One `Report_Entry` of a Workday RaaS custom report → EmployeeRecord. A RaaS report's columns are whatever its
 * author named them, so the column of each EmployeeRecord field is configurable (`WorkdayFieldMap`, defaults
 * below). How dates, flags, worker types and status are read is documented in docs/hris.md; keep the two in step.
 *
 * RaaS JSON leaves a column out of an entry when its value is empty, writes flags as "1"/"0", and dates as
 * `YYYY-MM-DD`, sometimes with an offset (`2024-01-15-08:00`): all of these are read.
 */
import type { EmployeeRecord } from '../../../domain/employee';
import { calendarDateSchema, employeeRecordSchema, employmentTypes, isValidTimeZone } from '../../../domain/employee';
import { cleanRecordText } from '../../../domain/text';
import { wallClock } from '../../../domain/time';

/** Report column for each thing Tenure reads. */
export interface WorkdayFieldMap {
  hrId: string;
  legalFirstName: string;
  legalLastName: string;
  preferredFirstName: string;
  workEmail: string;
  personalEmail: string;
  department: string;
  title: string;
  location: string;
  managerHrId: string;
  /** "Employee" or "Contingent Worker". */
  workerType: string;
  /** The finer type: "Regular", "Temporary", "Intern", "Fixed Term", "Contractor", … */
  employeeType: string;
  /** 1 while the worker is active. */
  active: string;
  /** 1 once the worker is terminated. */
  terminated: string;
  /** 1 while on a leave of absence. */
  onLeave: string;
  hireDate: string;
  exitDate: string;
  /** When Workday last changed the worker (date-time); optional. */
  updatedAt: string;
}

/** Column names of a typical "All Active and Terminated Workers" RaaS report. */
export const WORKDAY_DEFAULT_FIELDS: WorkdayFieldMap = {
  hrId: 'Employee_ID',
  legalFirstName: 'Legal_Name_First_Name',
  legalLastName: 'Legal_Name_Last_Name',
  preferredFirstName: 'Preferred_Name_First_Name',
  workEmail: 'Work_Email',
  personalEmail: 'Home_Email',
  department: 'Supervisory_Organization',
  title: 'Business_Title',
  location: 'Location',
  managerHrId: 'Manager_Employee_ID',
  workerType: 'Worker_Type',
  employeeType: 'Employee_Type',
  active: 'Active_Status',
  terminated: 'Terminated',
  onLeave: 'On_Leave',
  hireDate: 'Hire_Date',
  exitDate: 'Termination_Date',
  updatedAt: 'Last_Updated',
};

export type EmploymentType = EmployeeRecord['employmentType'];

export interface WorkdayLocation {
  countryCode: string;
  timeZone: string;
}

export interface WorkdayMappingOptions {
  /** Columns that differ from {@link WORKDAY_DEFAULT_FIELDS}. */
  fields?: Partial<WorkdayFieldMap>;
  /** Workday location name → country and time zone. */
  locations: Record<string, WorkdayLocation>;
  defaultLocation?: WorkdayLocation & { name: string };
  /** Employee type or worker type, exactly as Workday spells it → employment type (wins over the defaults). */
  workerTypes?: Record<string, EmploymentType>;
  /** When the record changed, if the report has no `updatedAt` column. @default now */
  updatedAt?: string;
  /** @default () => new Date() */
  now?: () => Date;
}

export type WorkdayEntry = Record<string, unknown>;

export type WorkdayMappingResult =
  { ok: true; record: EmployeeRecord } | { ok: false; issues: { field: string; message: string }[] };

/** A column's value as text: strings, numbers, and the first of a multi-instance list of such. */
function text(value: unknown): string | undefined {
  if (Array.isArray(value)) return value.length === 1 ? text(value[0]) : undefined;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') return undefined;
  const t = value.trim();
  return t ? t : undefined;
}

/** "1"/"0", true/false, "Yes"/"No": `undefined` when absent or unreadable. */
export function workdayFlag(value: unknown): boolean | undefined {
  const t = text(value)?.toLowerCase();
  if (t === undefined) return undefined;
  if (t === '1' || t === 'true' || t === 'yes' || t === 'y') return true;
  if (t === '0' || t === 'false' || t === 'no' || t === 'n') return false;
  return undefined;
}

/** `2024-01-15`, `2024-01-15-08:00`, `2024-01-15Z`, `2024-01-15T00:00:00.000-08:00` → `2024-01-15`. */
export function workdayDate(value: unknown): string | undefined {
  const t = text(value);
  if (t === undefined) return undefined;
  const m = /^(\d{4}-\d{2}-\d{2})(?:$|Z$|[+-]\d{2}:\d{2}$|T)/.exec(t);
  return m ? m[1] : t;
}

function instant(value: unknown): string | undefined {
  const t = text(value);
  if (t === undefined || !/^\d{4}-\d{2}-\d{2}T/.test(t)) return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** Employee type / worker type → employment type: the configured table first, then Workday's usual names. */
export function workdayEmploymentType(
  workerType: string | undefined,
  employeeType: string | undefined,
  table: Record<string, EmploymentType> = {},
): EmploymentType {
  for (const v of [employeeType, workerType]) if (v !== undefined && table[v] !== undefined) return table[v];
  const e = (employeeType ?? '').toLowerCase();
  if (e.includes('intern') || e.includes('apprentice')) return 'intern';
  if (e.includes('temp') || e.includes('fixed term') || e.includes('seasonal')) return 'temporary';
  if (e.includes('contract') || e.includes('consultant') || e.includes('freelance')) return 'contractor';
  if ((workerType ?? '').toLowerCase().includes('contingent')) return 'contractor';
  return 'employee';
}

export function isEmploymentType(v: string): v is EmploymentType {
  return (employmentTypes as readonly string[]).includes(v);
}

/** Map one report entry to an EmployeeRecord; problems name the report's columns, never values. */
export function mapWorkdayEntry(entry: WorkdayEntry, options: WorkdayMappingOptions): WorkdayMappingResult {
  const f: WorkdayFieldMap = { ...WORKDAY_DEFAULT_FIELDS, ...options.fields };
  const issues: { field: string; message: string }[] = [];
  const now = (options.now ?? (() => new Date()))();
  const col = (key: keyof WorkdayFieldMap): unknown => entry[f[key]];

  const locationName = text(col('location'));
  const known = locationName !== undefined ? options.locations[locationName] : undefined;
  let location: EmployeeRecord['location'] | undefined;
  if (known && locationName !== undefined) location = { name: locationName, ...known };
  else if (options.defaultLocation) location = { ...options.defaultLocation };
  else {
    issues.push({
      field: f.location,
      message:
        locationName === undefined
          ? 'is empty, and no default location is configured'
          : 'has no country and time zone in the Workday location map',
    });
  }
  if (location && !isValidTimeZone(location.timeZone)) {
    issues.push({ field: f.location, message: 'the configured time zone is not an IANA time zone' });
    location = undefined;
  }

  const hireDate = workdayDate(col('hireDate'));
  const exitDate = workdayDate(col('exitDate'));
  const today = wallClock(now, location?.timeZone ?? 'UTC').date;
  const validDate = (d: string | undefined): d is string => d !== undefined && calendarDateSchema.safeParse(d).success;
  const active = workdayFlag(col('active'));
  const terminated = workdayFlag(col('terminated'));
  const onLeave = workdayFlag(col('onLeave'));

  let status: EmployeeRecord['status'];
  if (terminated === true || (validDate(exitDate) && exitDate <= today)) status = 'terminated';
  else if (validDate(hireDate) && hireDate > today) status = 'pre_hire';
  else if (onLeave === true) status = 'on_leave';
  else if (active === false) status = 'terminated';
  else status = 'active';

  const first = text(col('legalFirstName'));
  const preferred = text(col('preferredFirstName'));
  const candidate: Record<string, unknown> = {
    hrId: text(col('hrId')),
    legalFirstName: first,
    legalLastName: text(col('legalLastName')),
    ...(preferred !== undefined && preferred !== first ? { preferredFirstName: preferred } : {}),
    workEmail: text(col('workEmail')),
    personalEmail: text(col('personalEmail')),
    department: text(col('department')),
    title: text(col('title')),
    location,
    managerHrId: text(col('managerHrId')),
    employmentType: workdayEmploymentType(text(col('workerType')), text(col('employeeType')), options.workerTypes),
    status,
    hireDate,
    exitDate,
    sourceUpdatedAt: instant(col('updatedAt')) ?? options.updatedAt ?? now.toISOString(),
  };
  for (const key of Object.keys(candidate)) if (candidate[key] === undefined) delete candidate[key];
  if (hireDate === undefined) issues.push({ field: f.hireDate, message: 'is empty' });
  const noEmail = candidate.workEmail === undefined && candidate.personalEmail === undefined;
  if (noEmail) issues.push({ field: `${f.workEmail} or ${f.personalEmail}`, message: 'both are empty' });

  const parsed = employeeRecordSchema.safeParse(cleanRecordText(candidate));
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const top = String(issue.path[0] ?? '');
      if (top === 'location' && issues.some((i) => i.field === f.location)) continue;
      if (top === 'hireDate' && hireDate === undefined) continue;
      if (top === 'personalEmail' && issue.code === 'custom') continue;
      const column = top in f ? f[top as keyof WorkdayFieldMap] : top === 'exitDate' ? f.exitDate : undefined;
      issues.push({ field: column ?? (issue.path.join('.') || '(record)'), message: issue.message });
    }
  }
  if (issues.length > 0 || !parsed.success) return { ok: false, issues };
  return { ok: true, record: parsed.data };
}
