import type { EmployeeRecord } from '../domain/employee';

/** One row of a roster read: a normalized record, or why the row could not be one (names fields, never values). */
export type RosterEntry =
  | { ok: true; record: EmployeeRecord }
  | {
      ok: false;
      /** The source's own reference for the row (row number, employee id). */ ref: string;
      issues: string[];
    };

/**
 * A full (or incremental) read of the people an HR system holds, normalized to the same `EmployeeRecord`s the
 * webhook carries. Implementations: BambooHR, HiBob, Workday (RaaS), a CSV roster file.
 */
export interface RosterSource {
  /** e.g. "bamboohr", "hibob", "workday", "csv". */
  readonly name: string;
  /**
   * Every person the source holds; with `changedSince` (ISO instant), only those changed since, where the source
   * has such an endpoint (`incremental` true). Pages as the source requires.
   */
  read(opts?: { changedSince?: string }): AsyncIterable<RosterEntry>;
  /** True when `read({ changedSince })` is a real incremental read rather than a full one. */
  readonly incremental: boolean;
}
