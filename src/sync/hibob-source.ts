/**
 * The HiBob roster source: every employee, active and former, from one People search (`POST /people/search` with
 * Tenure's fields, `showInactive: true`, `humanReadable: "APPEND"`), Basic auth with an API service user's id and
 * token. HiBob documents no paging and no "changed since" read: every run is a full read. Records are mapped exactly
 * as a HiBob webhook's employee is (`mapHibobEmployee`, via `hibobWebhookRecord`).
 */
import { HibobClient } from '../activities/hris/hibob/client';
import { hibobValue, mapHibobEmployee, type HibobMappingOptions } from '../activities/hris/hibob/mapping';
import { hrIdSchema } from '../domain/employee';
import type { RosterEntry, RosterSource } from './roster-source';

export interface HibobRosterOptions {
  baseUrl: string;
  serviceUserId: string;
  token: string;
  mapping: Omit<HibobMappingOptions, 'updatedAt'>;
  /** Include terminated and former employees. @default true */
  showInactive?: boolean;
  timeoutMs?: number;
}

/** The row's reference: its HiBob id when it is a valid id (an HR key, not personal data), else its position. */
function refOf(employee: Record<string, unknown>, index: number): string {
  const id = hibobValue(employee, '/root/id');
  const s = typeof id === 'number' ? String(id) : id;
  return typeof s === 'string' && hrIdSchema.safeParse(s).success ? `employee ${s}` : `employees[${index}]`;
}

export function hibobRosterSource(o: HibobRosterOptions): RosterSource {
  const client = new HibobClient({
    baseUrl: o.baseUrl,
    serviceUserId: o.serviceUserId,
    token: o.token,
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
  });
  return {
    name: 'hibob',
    incremental: false,
    async *read() {
      const employees = await client.searchPeople({ showInactive: o.showInactive ?? true });
      const updatedAt = new Date().toISOString();
      for (const [i, employee] of employees.entries()) {
        const mapped = mapHibobEmployee(employee, { ...o.mapping, updatedAt });
        yield mapped.ok
          ? ({ ok: true, record: mapped.record } satisfies RosterEntry)
          : ({
              ok: false,
              ref: refOf(employee, i),
              issues: mapped.issues.map((x) => `${x.field}: ${x.message}`),
            } satisfies RosterEntry);
      }
    },
  };
}
