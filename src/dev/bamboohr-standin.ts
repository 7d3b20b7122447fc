/**
 * A local stand-in for BambooHR's REST API, for tests and the local demo. It serves the documented shapes
 * under the documented base path `/api/gateway.php/<company>/v1` and rejects what the real API rejects:
 *
 * - 401 without Basic auth, or with an API key it does not know (the password is ignored, as BambooHR does);
 * - 404 for an unknown company or employee;
 * - 400 for a GET without `fields`, for an unknown field name (read or written), for a bad email or date;
 * - XML unless the request asks for `Accept: application/json`, as BambooHR answers.
 *
 * Errors carry BambooHR's `X-BambooHR-Error-Message` header. It can also send signed webhooks the way
 * BambooHR does (`sendWebhook`).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import { signBambooWebhook } from '../activities/hris/bamboohr/webhook';

/** Standard fields (API aliases) the stand-in knows; a request for any other is a 400. */
export const BAMBOO_STANDIN_FIELDS = [
  'id',
  'employeeNumber',
  'firstName',
  'lastName',
  'middleName',
  'preferredName',
  'displayName',
  'workEmail',
  'homeEmail',
  'department',
  'division',
  'jobTitle',
  'location',
  'country',
  'status',
  'employmentHistoryStatus',
  'hireDate',
  'originalHireDate',
  'terminationDate',
  'supervisorEId',
  'supervisor',
  'workPhone',
  'mobilePhone',
  'lastChanged',
] as const;

/** Fields a POST /employees/{id}/ may change. */
const WRITABLE = new Set<string>(
  BAMBOO_STANDIN_FIELDS.filter((f) => !['id', 'lastChanged', 'displayName'].includes(f)),
);
const DATE_FIELDS = new Set(['hireDate', 'originalHireDate', 'terminationDate']);
const EMAIL_FIELDS = new Set(['workEmail', 'homeEmail']);

export type StandinEmployee = Partial<Record<(typeof BAMBOO_STANDIN_FIELDS)[number], string | null>>;

export interface BambooStandinOptions {
  /** The `<company>` in the base path. @default "acme" */
  companyDomain?: string;
  /** API keys it accepts. */
  apiKeys: string[];
  /** @default 0 */
  port?: number;
  /** @default "127.0.0.1" */
  host?: string;
  /** @default Date.now */
  clock?: () => number;
}

export interface BambooStandinRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  status: number;
}

export interface BambooStandin {
  /** API base URL, ending in `/v1`. */
  readonly url: string;
  readonly requests: BambooStandinRequest[];
  /** Add an employee; returns its id. Dates empty in BambooHR are "0000-00-00". */
  addEmployee(fields: StandinEmployee): string;
  /** Change an employee's fields as an HR edit does (`lastChanged` moves on). */
  updateEmployee(id: string, fields: StandinEmployee): void;
  /** The stored employee (every known field). */
  employee(id: string): StandinEmployee | undefined;
  /** Remove an employee (as a deletion in BambooHR). */
  removeEmployee(id: string): void;
  /** The next `n` API requests are throttled: 503 with `Retry-After: seconds`, as BambooHR throttles. */
  throttle(n: number, retryAfterSeconds?: number): void;
  /** POST a webhook to `url`, signed with `privateKey` as BambooHR signs. Returns status and parsed body. */
  sendWebhook(
    url: string,
    privateKey: string,
    payload: unknown,
    opts?: { timestamp?: string; signature?: string },
  ): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

function keyMatches(candidate: string, keys: string[]): boolean {
  const a = Buffer.from(candidate);
  return keys.some((k) => {
    const b = Buffer.from(k);
    return a.length === b.length && timingSafeEqual(a, b);
  });
}

/** The API key of a Basic `Authorization` header (the user name); `undefined` when absent or malformed. */
function basicUser(header: string | undefined): string | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon > 0 ? decoded.slice(0, colon) : undefined;
}

function xmlEscape(value: string): string {
  return value.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function isCalendarDate(value: string): boolean {
  if (value === '0000-00-00') return true;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value;
}

/** Start the stand-in. Resolves once it listens. */
export async function startBambooStandin(opts: BambooStandinOptions): Promise<BambooStandin> {
  const company = opts.companyDomain ?? 'acme';
  const clock = opts.clock ?? Date.now;
  const employees = new Map<string, StandinEmployee>();
  /** Removed employees and when, for the changed list. */
  const deleted = new Map<string, string>();
  const requests: BambooStandinRequest[] = [];
  let nextId = 100;
  let throttled = { remaining: 0, retryAfter: 1 };

  const stamp = (): string => new Date(clock()).toISOString().replace(/\.\d{3}Z$/, '+00:00');

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const fail = (res: Response, status: number, message: string): void => {
    res.status(status).setHeader('X-BambooHR-Error-Message', message).end();
  };

  app.use((req, res, next) => {
    const entry: BambooStandinRequest = { method: req.method, path: req.path, status: 0 };
    requests.push(entry);
    res.on('finish', () => {
      entry.status = res.statusCode;
    });
    next();
  });

  const api = express.Router({ mergeParams: true });
  api.use((req: Request<{ company: string }>, res, next) => {
    if (req.params.company !== company) return fail(res, 404, 'Company not found');
    if (throttled.remaining > 0) {
      throttled.remaining -= 1;
      res.setHeader('Retry-After', String(throttled.retryAfter));
      return fail(res, 503, 'Service Unavailable: request throttled');
    }
    const key = basicUser(req.get('authorization'));
    if (key === undefined) {
      res.setHeader('WWW-Authenticate', 'Basic realm="BambooHR API"');
      return fail(res, 401, 'Missing API key: use HTTP Basic auth with the API key as the user name');
    }
    if (!keyMatches(key, opts.apiKeys)) return fail(res, 401, 'Invalid API key');
    next();
  });

  // Employees changed since an instant (documented: `since` ISO 8601 required; JSON keyed by employee id).
  api.get('/employees/changed/', (req: Request, res: Response) => {
    const since = typeof req.query.since === 'string' ? Date.parse(req.query.since) : NaN;
    if (Number.isNaN(since)) return fail(res, 400, 'The since parameter must be an ISO 8601 timestamp');
    const out: Record<string, { id: string; action: string; lastChanged: string }> = {};
    for (const [id, e] of employees) {
      const at = Date.parse((e.lastChanged ?? '').replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
      if (!Number.isNaN(at) && at > since) out[id] = { id, action: 'Updated', lastChanged: e.lastChanged ?? '' };
    }
    for (const [id, at] of deleted) if (Date.parse(at) > since) out[id] = { id, action: 'Deleted', lastChanged: at };
    if (!(req.get('accept') ?? '').includes('application/json')) {
      return fail(res, 406, 'This stand-in answers the changed list as JSON only (Accept: application/json)');
    }
    res.status(200).json({ latest: stamp(), employees: out });
  });

  // Custom report (documented: POST /reports/custom?format=JSON with `{ fields: [...] }`; every employee).
  api.post('/reports/custom', express.json({ type: () => true, limit: '64kb' }), (req: Request, res: Response) => {
    const format = typeof req.query.format === 'string' ? req.query.format.toUpperCase() : '';
    if (!['JSON', 'XML', 'CSV', 'PDF', 'XLS'].includes(format)) return fail(res, 400, 'Invalid or missing format');
    if (format !== 'JSON') return fail(res, 400, 'This stand-in serves custom reports as JSON only');
    const body: unknown = req.body;
    const fields =
      typeof body === 'object' && body !== null && Array.isArray((body as { fields?: unknown }).fields)
        ? (body as { fields: unknown[] }).fields
        : undefined;
    if (!fields || fields.length === 0 || fields.some((f) => typeof f !== 'string')) {
      return fail(res, 400, 'The request body must name the report fields: { "fields": ["firstName", ...] }');
    }
    const unknown = (fields as string[]).find((f) => !(BAMBOO_STANDIN_FIELDS as readonly string[]).includes(f));
    if (unknown !== undefined) return fail(res, 400, `Invalid field: ${unknown}`);
    const onlyCurrent = req.query.onlyCurrent !== 'false';
    const rows = [...employees.values()]
      .filter((e) => !onlyCurrent || (e.status ?? 'Active') === 'Active')
      .map((e) => {
        const row: Record<string, string | null> = { id: e.id ?? null };
        for (const f of fields as string[]) row[f] = e[f as keyof StandinEmployee] ?? null;
        return row;
      });
    const title =
      typeof (body as { title?: unknown }).title === 'string' ? (body as { title: string }).title : 'Report';
    res.status(200).json({
      title,
      fields: (fields as string[]).map((f) => ({ id: f, type: 'text', name: f })),
      employees: rows,
    });
  });

  api.get('/employees/:id/', (req: Request<{ company: string; id: string }>, res) => {
    const employee = employees.get(req.params.id);
    if (!employee) return fail(res, 404, 'Employee not found');
    const raw = typeof req.query.fields === 'string' ? req.query.fields : '';
    const fields = raw
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean);
    if (fields.length === 0) return fail(res, 400, 'The fields parameter is required');
    const unknown = fields.find((f) => !(BAMBOO_STANDIN_FIELDS as readonly string[]).includes(f));
    if (unknown !== undefined) return fail(res, 400, `Invalid field: ${unknown}`);
    const out: Record<string, string | null> = { id: req.params.id };
    for (const f of fields) out[f] = employee[f as keyof StandinEmployee] ?? null;
    if ((req.get('accept') ?? '').includes('application/json')) {
      res.status(200).json(out);
      return;
    }
    const body = fields.map((f) => `<field id="${xmlEscape(f)}">${xmlEscape(out[f] ?? '')}</field>`).join('');
    res
      .status(200)
      .type('text/xml')
      .send(`<?xml version="1.0"?><employee id="${xmlEscape(req.params.id)}">${body}</employee>`);
  });

  // Add employee (documented: firstName and lastName required; 201 with the new employee's URL in Location).
  api.post('/employees/', express.json({ type: () => true, limit: '64kb' }), (req: Request, res: Response) => {
    const body: unknown = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return fail(res, 400, 'Request body must be a JSON object of fields');
    }
    const fields = body as Record<string, unknown>;
    for (const required of ['firstName', 'lastName']) {
      if (typeof fields[required] !== 'string' || fields[required] === '')
        return fail(res, 400, `${required} is required`);
    }
    for (const [field, value] of Object.entries(fields)) {
      if (!WRITABLE.has(field)) return fail(res, 400, `Invalid field: ${field}`);
      if (typeof value !== 'string') return fail(res, 400, `Field ${field} must be a string`);
      if (DATE_FIELDS.has(field) && !isCalendarDate(value)) return fail(res, 400, `Invalid date for ${field}`);
    }
    nextId += 1;
    const id = String(nextId);
    employees.set(id, {
      status: 'Active',
      terminationDate: '0000-00-00',
      ...(fields as StandinEmployee),
      id,
      lastChanged: stamp(),
    });
    res
      .status(201)
      .location(`${req.protocol}://${req.get('host') ?? ''}${req.baseUrl}/employees/${id}`)
      .end();
  });

  api.post(
    '/employees/:id/',
    express.json({ type: () => true, limit: '64kb' }),
    (req: Request<{ company: string; id: string }>, res) => {
      const employee = employees.get(req.params.id);
      if (!employee) return fail(res, 404, 'Employee not found');
      const body: unknown = req.body;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        return fail(res, 400, 'Request body must be a JSON object of fields');
      }
      const entries = Object.entries(body as Record<string, unknown>);
      if (entries.length === 0) return fail(res, 400, 'No fields to update');
      for (const [field, value] of entries) {
        if (!WRITABLE.has(field)) return fail(res, 400, `Invalid field: ${field}`);
        if (typeof value !== 'string') return fail(res, 400, `Field ${field} must be a string`);
        if (EMAIL_FIELDS.has(field) && value !== '' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) {
          return fail(res, 400, `Invalid email address for ${field}`);
        }
        if (DATE_FIELDS.has(field) && !isCalendarDate(value)) return fail(res, 400, `Invalid date for ${field}`);
      }
      for (const [field, value] of entries) employee[field as keyof StandinEmployee] = value as string;
      employee.lastChanged = stamp();
      res.status(200).end();
    },
  );

  api.use((_req, res) => fail(res, 404, 'Not found'));
  // Malformed JSON bodies.
  api.use((err: unknown, _req: Request, res: Response, _next: express.NextFunction) => {
    const status = typeof err === 'object' && err !== null && 'status' in err ? Number(err.status) : 500;
    fail(res, status >= 400 && status < 500 ? 400 : 500, status < 500 ? 'Malformed request body' : 'Internal error');
  });

  app.use('/api/gateway.php/:company/v1', api);
  app.use((_req, res) => fail(res, 404, 'Not found'));

  const host = opts.host ?? '127.0.0.1';
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port ?? 0, host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${host}:${port}/api/gateway.php/${company}/v1`,
    requests,
    addEmployee(fields: StandinEmployee): string {
      nextId += 1;
      const id = fields.id ?? String(nextId);
      const employee: StandinEmployee = { status: 'Active', terminationDate: '0000-00-00', ...fields, id };
      employee.lastChanged ??= stamp();
      employees.set(id, employee);
      return id;
    },
    updateEmployee(id: string, fields: StandinEmployee): void {
      const e = employees.get(id);
      if (!e) throw new Error(`no employee ${id}`);
      Object.assign(e, fields, { lastChanged: fields.lastChanged ?? stamp() });
    },
    employee(id: string): StandinEmployee | undefined {
      const e = employees.get(id);
      return e ? { ...e } : undefined;
    },
    removeEmployee(id: string): void {
      employees.delete(id);
      deleted.set(id, new Date(clock()).toISOString());
    },
    throttle(n: number, retryAfterSeconds = 1): void {
      throttled = { remaining: n, retryAfter: retryAfterSeconds };
    },
    async sendWebhook(url, privateKey, payload, o = {}) {
      const body = JSON.stringify(payload);
      const timestamp = o.timestamp ?? String(Math.floor(clock() / 1000));
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'BambooHR-WebHooks/1.0 (+https://www.bamboohr.com)',
          'X-BambooHR-Timestamp': timestamp,
          'X-BambooHR-Signature': o.signature ?? signBambooWebhook(privateKey, body, timestamp),
        },
        body,
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, body: parsed };
    },
    close(): Promise<void> {
      return new Promise((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
