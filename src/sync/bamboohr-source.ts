/**
 * The BambooHR roster source: every employee from a custom report (`POST /reports/custom?format=JSON` with the
 * fields Tenure maps), and for incremental runs the "changed since" list (`GET /employees/changed/?since=…`) with
 * each changed employee read on its own. Basic auth with the API key as the user name and "x" as the password
 * (the transport's). Records are mapped exactly as the webhook maps them (`mapBambooEmployee`).
 */
import { z } from 'zod';
import { BambooClient, type BambooEmployee } from '../activities/hris/bamboohr/client';
import {
  BAMBOO_EMPLOYEE_FIELDS,
  mapBambooEmployee,
  type BambooMappingOptions,
} from '../activities/hris/bamboohr/mapping';
import { bambooRequest } from '../activities/hris/bamboohr/transport';
import { ConnectorError } from '../activities/identity';
import type { RosterEntry, RosterSource } from './roster-source';

const value = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const reportSchema = z.object({
  employees: z.array(z.record(z.string(), value)),
});
const changedSchema = z.object({
  latest: z.string().optional(),
  employees: z.record(z.string(), z.object({ id: z.union([z.string(), z.number()]), action: z.string() })),
});

export interface BambooRosterOptions {
  baseUrl: string;
  apiKey: string;
  mapping: Omit<BambooMappingOptions, 'fallbackUpdatedAt'>;
  timeoutMs?: number;
}

function asEmployee(row: Record<string, string | number | boolean | null>): BambooEmployee | undefined {
  const id = row.id;
  if (id === undefined || id === null) return undefined;
  const out: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(row)) out[k] = v === null ? null : String(v);
  return { ...out, id: String(id) };
}

export function bambooRosterSource(o: BambooRosterOptions): RosterSource {
  const transport = {
    systemId: 'bamboohr',
    baseUrl: o.baseUrl,
    apiKey: o.apiKey,
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
  };
  const client = new BambooClient({ baseUrl: o.baseUrl, apiKey: o.apiKey });
  const map = (employee: BambooEmployee): RosterEntry => {
    const mapped = mapBambooEmployee(employee, { ...o.mapping, fallbackUpdatedAt: new Date().toISOString() });
    return mapped.ok
      ? { ok: true, record: mapped.record }
      : { ok: false, ref: `employee ${employee.id}`, issues: mapped.issues.map((i) => `${i.field}: ${i.message}`) };
  };
  return {
    name: 'bamboohr',
    incremental: true,
    async *read(opts = {}) {
      if (opts.changedSince !== undefined) {
        const res = await bambooRequest(transport, {
          method: 'GET',
          path: '/employees/changed/',
          query: { since: opts.changedSince },
        });
        const parsed = changedSchema.safeParse(res.body);
        if (!parsed.success) {
          throw new ConnectorError(
            'invalid_request',
            'bamboohr: GET /employees/changed/ did not return a change list',
            {
              systemId: 'bamboohr',
              status: res.status,
            },
          );
        }
        for (const change of Object.values(parsed.data.employees)) {
          if (change.action === 'Deleted') continue;
          try {
            yield map(await client.getEmployee(String(change.id), BAMBOO_EMPLOYEE_FIELDS));
          } catch (err) {
            if (err instanceof ConnectorError && err.type === 'not_found') continue;
            throw err;
          }
        }
        return;
      }
      const res = await bambooRequest(transport, {
        method: 'POST',
        path: '/reports/custom',
        query: { format: 'JSON', onlyCurrent: 'false' },
        body: { title: 'Tenure roster', fields: ['id', ...BAMBOO_EMPLOYEE_FIELDS] },
      });
      const parsed = reportSchema.safeParse(res.body);
      if (!parsed.success) {
        throw new ConnectorError('invalid_request', 'bamboohr: POST /reports/custom did not return a report', {
          systemId: 'bamboohr',
          status: res.status,
        });
      }
      for (const [i, row] of parsed.data.employees.entries()) {
        const employee = asEmployee(row);
        yield employee ? map(employee) : { ok: false, ref: `report row ${i + 1}`, issues: ['id: is missing'] };
      }
    },
  };
}
