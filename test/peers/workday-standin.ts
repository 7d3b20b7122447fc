/**
 * A local stand-in for Workday Report-as-a-Service (RaaS), following its published shape:
 * `GET /ccx/service/customreport2/<tenant>/<owner>/<report>?format=json` answers `{ "Report_Entry": [ {…} ] }`
 * with one object per row, keyed by the report's column names; a column whose value is empty is left out of the
 * row, flags are "1"/"0" and dates `YYYY-MM-DD` (optionally with an offset, as the report author's formatting
 * gives). RaaS does not page. It rejects what Workday rejects:
 *
 * - 401 (with `WWW-Authenticate: Basic`) without Basic auth or for a wrong integration user / password;
 * - 404 for an unknown tenant, report owner or report;
 * - 400 for a query parameter that is neither `format` nor one of the report's prompts, or an unknown format;
 * - 405 for anything but GET; 429 with `Retry-After` when throttled.
 *
 * Without `format` RaaS answers XML (its default); errors are JSON `{ "error": <code>, "message": <text> }`.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Request, type Response } from 'express';

export type WorkdayCell = string | number | string[];

export interface WorkdayStandinOptions {
  /** @default "acme" */
  tenant?: string;
  /** The integration system user and password it accepts. */
  user: { username: string; password: string };
  /** The report's owner and name in the URL. @default "ISU_Tenure" / "Tenure_Workers" */
  owner?: string;
  report?: string;
  /** Prompts the report declares; any other query parameter is a 400. */
  prompts?: string[];
  port?: number;
}

export interface WorkdayStandinRequest {
  method: string;
  path: string;
  query: Record<string, unknown>;
  status: number;
  authorization: string | undefined;
}

export interface WorkdayStandin {
  /** The report's URL without a query. */
  readonly reportUrl: string;
  readonly requests: WorkdayStandinRequest[];
  /** Add a report row (column → value); empty values are left out of answers, as RaaS does. */
  addRow(row: Record<string, WorkdayCell | null | undefined>): void;
  clear(): void;
  throttle(n: number, retryAfterSeconds?: number): void;
  close(): Promise<void>;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function xmlEscape(v: string): string {
  return v.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export async function startWorkdayStandin(opts: WorkdayStandinOptions): Promise<WorkdayStandin> {
  const tenant = opts.tenant ?? 'acme';
  const owner = opts.owner ?? 'ISU_Tenure';
  const report = opts.report ?? 'Tenure_Workers';
  const prompts = new Set(opts.prompts ?? []);
  const rows: Record<string, WorkdayCell>[] = [];
  const requests: WorkdayStandinRequest[] = [];
  let throttled = { remaining: 0, retryAfter: 1 };

  const fail = (res: Response, status: number, error: string, message: string): void => {
    res.status(status).json({ error, message });
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((req, res, next) => {
    const entry: WorkdayStandinRequest = {
      method: req.method,
      path: req.path,
      query: { ...(req.query as Record<string, unknown>) },
      status: 0,
      authorization: req.get('authorization'),
    };
    requests.push(entry);
    res.on('finish', () => {
      entry.status = res.statusCode;
    });
    next();
  });

  app.all('/ccx/service/customreport2/:tenant/:owner/:report', (req: Request, res: Response) => {
    const p = req.params as { tenant: string; owner: string; report: string };
    if (p.tenant !== tenant) return fail(res, 404, 'tenant_not_found', 'Tenant not found');
    if (throttled.remaining > 0) {
      throttled.remaining -= 1;
      res.setHeader('Retry-After', String(throttled.retryAfter));
      return fail(res, 429, 'rate_limited', 'Too many requests');
    }
    const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(req.get('authorization') ?? '');
    const decoded = m?.[1] ? Buffer.from(m[1], 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const ok =
      colon > 0 &&
      same(decoded.slice(0, colon), opts.user.username) &&
      same(decoded.slice(colon + 1), opts.user.password);
    if (!ok) {
      res.setHeader('WWW-Authenticate', `Basic realm="${tenant}"`);
      return fail(res, 401, 'invalid_credentials', 'Invalid user name or password');
    }
    if (req.method !== 'GET') return fail(res, 405, 'method_not_allowed', 'Only GET is supported');
    if (p.owner !== owner || p.report !== report) return fail(res, 404, 'report_not_found', 'Report not found');
    const query = req.query as Record<string, unknown>;
    for (const [k, v] of Object.entries(query)) {
      if (k === 'format') continue;
      if (!prompts.has(k) || typeof v !== 'string') {
        return fail(res, 400, 'invalid_prompt', 'The request has a parameter the report does not declare');
      }
    }
    const format = typeof query.format === 'string' ? query.format.toLowerCase() : 'simplexml';
    if (format === 'json') {
      res
        .status(200)
        .type('application/json')
        .send(JSON.stringify({ Report_Entry: rows }));
      return;
    }
    if (format === 'simplexml' || format === 'xml') {
      const entries = rows
        .map(
          (r) =>
            `<wd:Report_Entry>${Object.entries(r)
              .map(([k, v]) => `<wd:${k}>${xmlEscape(String(v))}</wd:${k}>`)
              .join('')}</wd:Report_Entry>`,
        )
        .join('');
      res
        .status(200)
        .type('application/xml')
        .send(
          `<?xml version="1.0" encoding="UTF-8"?><wd:Report_Data xmlns:wd="urn:com.workday.report/${report}">${entries}</wd:Report_Data>`,
        );
      return;
    }
    return fail(res, 400, 'invalid_format', 'Unsupported format');
  });
  app.use((_req, res) => fail(res, 404, 'not_found', 'Not found'));

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port ?? 0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;

  return {
    reportUrl: `http://127.0.0.1:${port}/ccx/service/customreport2/${tenant}/${owner}/${report}`,
    requests,
    addRow(row) {
      const clean: Record<string, WorkdayCell> = {};
      for (const [k, v] of Object.entries(row)) {
        if (v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) continue;
        clean[k] = v;
      }
      rows.push(clean);
    },
    clear() {
      rows.length = 0;
    },
    throttle(n, retryAfterSeconds = 1) {
      throttled = { remaining: n, retryAfter: retryAfterSeconds };
    },
    close() {
      return new Promise((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
