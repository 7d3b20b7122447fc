/**
 * The Workday roster source: a RaaS custom report as JSON over HTTPS
 * (`GET https://<host>/ccx/service/customreport2/<tenant>/<owner>/<report>?format=json`), HTTP Basic with an
 * integration system user. The report's columns map to EmployeeRecord fields through a configurable field map
 * (`mapWorkdayEntry`). RaaS does not page, and a report has no generic "changed since": every run is a full read.
 */
import { WorkdayReportClient } from '../activities/hris/workday/client';
import {
  WORKDAY_DEFAULT_FIELDS,
  mapWorkdayEntry,
  type WorkdayMappingOptions,
} from '../activities/hris/workday/mapping';
import { hrIdSchema } from '../domain/employee';
import type { RosterEntry, RosterSource } from './roster-source';

export interface WorkdayRosterOptions {
  reportUrl: string;
  username: string;
  password: string;
  prompts?: Record<string, string>;
  mapping: Omit<WorkdayMappingOptions, 'updatedAt'>;
  timeoutMs?: number;
}

export function workdayRosterSource(o: WorkdayRosterOptions): RosterSource {
  const client = new WorkdayReportClient({
    reportUrl: o.reportUrl,
    username: o.username,
    password: o.password,
    ...(o.prompts !== undefined ? { prompts: o.prompts } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
  });
  const idColumn = o.mapping.fields?.hrId ?? WORKDAY_DEFAULT_FIELDS.hrId;
  return {
    name: 'workday',
    incremental: false,
    async *read() {
      const entries = await client.readEntries();
      const updatedAt = new Date().toISOString();
      for (const [i, entry] of entries.entries()) {
        const mapped = mapWorkdayEntry(entry, { ...o.mapping, updatedAt });
        if (mapped.ok) {
          yield { ok: true, record: mapped.record } satisfies RosterEntry;
          continue;
        }
        const id = entry[idColumn];
        const ref =
          typeof id === 'string' && hrIdSchema.safeParse(id).success ? `employee ${id}` : `Report_Entry[${i}]`;
        yield { ok: false, ref, issues: mapped.issues.map((x) => `${x.field}: ${x.message}`) } satisfies RosterEntry;
      }
    },
  };
}
