import type { EmployeeRecord } from '../../src/domain/employee';
import { wallClock } from '../../src/domain/time';

let n = 0;

/** A unique, valid EmployeeRecord; fields can be overridden. */
export function makeRecord(over: Partial<EmployeeRecord> = {}): EmployeeRecord {
  n += 1;
  const hrId = `E${Date.now().toString(36)}${n}`;
  return {
    hrId,
    legalFirstName: 'Ana',
    legalLastName: 'Lima',
    personalEmail: `ana.lima.${hrId.toLowerCase()}@personal.example`,
    workEmail: `ana.lima.${hrId.toLowerCase()}@acme.example`,
    department: 'Engineering',
    title: 'Software Engineer',
    location: { name: 'Lisbon', countryCode: 'PT', timeZone: 'Europe/Lisbon' },
    employmentType: 'employee',
    status: 'pre_hire',
    hireDate: '2026-12-01',
    sourceUpdatedAt: new Date().toISOString(),
    ...over,
  };
}

/** Hire date and activation time that put the hire instant `seconds` from now in `timeZone`. */
export function instantFromNow(
  seconds: number,
  timeZone: string,
): { hireDate: string; activationTime: string; at: Date } {
  const at = new Date(Math.ceil((Date.now() + seconds * 1000) / 1000) * 1000);
  const wall = wallClock(at, timeZone);
  return { hireDate: wall.date, activationTime: wall.time, at };
}

/**
 * A calendar date `days` before today (UTC). Two or more days back is past in every time zone at any hour, so a hire
 * on it runs at once: "today" would wait for the activation hour when the test runs before it.
 */
export function daysAgo(days: number): string {
  return new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);
}
