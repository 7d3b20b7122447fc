/**
 * A Workday RaaS report reader: `GET https://<host>/ccx/service/customreport2/<tenant>/<owner>/<report>?format=json`
 * with HTTP Basic (an integration system user), answering `{ "Report_Entry": [ {…}, … ] }`. RaaS does not page:
 * one answer holds the whole report. Report prompts are passed as query parameters.
 */
import { z } from 'zod';
import { ConnectorError } from '../../identity';
import type { WorkdayEntry } from './mapping';
import { workdayGet, type WorkdayTransportConfig } from './transport';

/** `https://<host>/ccx/service/customreport2/<tenant>/<owner>/<report>` with each part encoded. */
export function workdayReportUrl(p: { host: string; tenant: string; owner: string; report: string }): string {
  if (!/^[A-Za-z0-9.-]+(:\d+)?$/.test(p.host)) throw new RangeError('Workday host must be a host name');
  const seg = (s: string) => encodeURIComponent(s);
  return `https://${p.host}/ccx/service/customreport2/${seg(p.tenant)}/${seg(p.owner)}/${seg(p.report)}`;
}

export interface WorkdayReportOptions extends WorkdayTransportConfig {
  /** The report's RaaS URL without a query (see {@link workdayReportUrl}). */
  reportUrl: string;
  /** Report prompts (query parameters), e.g. `{ "Include_Terminated_Workers": "1" }`. */
  prompts?: Record<string, string>;
}

const reportSchema = z.object({ Report_Entry: z.array(z.record(z.string(), z.unknown())) });

export class WorkdayReportClient {
  readonly systemId: string;
  constructor(private readonly o: WorkdayReportOptions) {
    if (!o.username || !o.password) throw new RangeError('WorkdayReportClient needs a user name and password');
    this.systemId = o.systemId ?? 'workday';
  }

  /** Every entry of the report. An empty report answers `{ "Report_Entry": [] }` (or `{}`). */
  async readEntries(): Promise<WorkdayEntry[]> {
    const res = await workdayGet(this.o, this.o.reportUrl, { ...this.o.prompts, format: 'json' });
    const body = res.body;
    if (typeof body === 'object' && body !== null && !('Report_Entry' in body) && Object.keys(body).length === 0) {
      return [];
    }
    const parsed = reportSchema.safeParse(body);
    if (!parsed.success) {
      throw new ConnectorError('invalid_request', `${this.systemId}: the RaaS answer has no Report_Entry list`, {
        systemId: this.systemId,
        status: res.status,
      });
    }
    return parsed.data.Report_Entry;
  }
}
