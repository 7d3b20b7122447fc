/**
 * A local stand-in for HiBob's People API and webhooks, following HiBob's published shapes (apidocs.hibob.com:
 * "Search for employees", "People read API contract", "Authorization", "Error handling", "Working with webhooks"):
 *
 * - `POST /v1/people/search` with `{ fields, filters, showInactive, humanReadable }`; every match in one
 *   `{ employees: [...] }` answer (HiBob does not page); `showInactive` defaults to false (active only);
 * - answers in machine format: list fields (department, title, site, employment type) as list item ids, dates as
 *   `YYYY-MM-DD`, `/work/reportsTo` as `{ id, displayName, email, firstName, surname }`; `humanReadable: "APPEND"`
 *   adds a `humanReadable` twin with display values, `"REPLACE"` puts display values in place (dates `DD/MM/YYYY`);
 * - fields the service user may not see are left out silently (`hiddenFields`), as HiBob documents;
 * - 401 without Basic auth or for an unknown service user id / token; 400 for a body that is not a JSON object,
 *   an unknown body property, an unknown field id, a malformed filter or a bad `humanReadable`; 429 with
 *   `Retry-After` when throttled; errors are `{ key, error }` JSON;
 * - `sendWebhook` posts a v2 event signed as HiBob signs: `Bob-Signature` = Base64(HMAC-SHA512(secret, raw body)).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Request, type Response } from 'express';

/** The employee fields the stand-in knows (`/category/field`); a request for any other is a 400. */
export const HIBOB_STANDIN_FIELDS = [
  '/root/id',
  '/root/firstName',
  '/root/surname',
  '/root/email',
  '/root/displayName',
  '/root/creationDateTime',
  '/work/department',
  '/work/title',
  '/work/site',
  '/work/reportsTo',
  '/work/startDate',
  '/work/isManager',
  '/internal/status',
  '/internal/terminationDate',
  '/internal/lifecycleStatus',
  '/payroll/employment/type',
  '/home/privateEmail',
] as const;
type FieldPath = (typeof HIBOB_STANDIN_FIELDS)[number];

/** List-valued fields: machine format is the list item's id. */
const LIST_FIELDS = new Set<FieldPath>(['/work/department', '/work/title', '/work/site', '/payroll/employment/type']);
const DATE_FIELDS = new Set<FieldPath>(['/work/startDate', '/internal/terminationDate']);
const DEFAULT_FIELDS: FieldPath[] = [
  '/root/id',
  '/root/firstName',
  '/root/surname',
  '/root/email',
  '/root/displayName',
];

export interface HibobStandinEmployee {
  id?: string;
  firstName?: string | null;
  surname?: string | null;
  email?: string | null;
  privateEmail?: string | null;
  department?: string | null;
  title?: string | null;
  site?: string | null;
  /** The manager's backend id. */
  reportsTo?: string | null;
  startDate?: string | null;
  /** "Active" or "Inactive". @default "Active" */
  status?: 'Active' | 'Inactive';
  terminationDate?: string | null;
  /** "hired", "employed", "leave", "garden leave", "terminated". @default "employed" */
  lifecycleStatus?: string | null;
  employmentType?: string | null;
}

export interface HibobStandinOptions {
  serviceUsers: { id: string; token: string }[];
  /** Fields the service user may not see: left out of answers silently. */
  hiddenFields?: string[];
  port?: number;
}

export interface HibobStandinRequest {
  method: string;
  path: string;
  status: number;
  /** The parsed JSON body, for wire-format assertions. */
  body: unknown;
  authorization: string | undefined;
}

export interface HibobStandin {
  /** API base, ending in `/v1`. */
  readonly url: string;
  readonly requests: HibobStandinRequest[];
  addEmployee(e: HibobStandinEmployee): string;
  updateEmployee(id: string, e: HibobStandinEmployee): void;
  removeEmployee(id: string): void;
  /** The next `n` API requests answer 429 with `Retry-After: seconds`. */
  throttle(n: number, retryAfterSeconds?: number): void;
  /** POST a v2 employee event to `url`, signed with `secret` as HiBob signs (or with `signature` as given). */
  sendWebhook(
    url: string,
    secret: string,
    event: { type: string; employeeId: string; triggeredAt?: string },
    o?: { signature?: string },
  ): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

const normalizeField = (f: string): string => (f.startsWith('/') ? f : `/${f.replace(/\./g, '/')}`);

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function humanDate(d: string): string {
  const [y, m, day] = d.split('-');
  return `${day}/${m}/${y}`;
}

export async function startHibobStandin(opts: HibobStandinOptions): Promise<HibobStandin> {
  const employees = new Map<string, HibobStandinEmployee>();
  const requests: HibobStandinRequest[] = [];
  const lists = new Map<string, string>();
  let nextListId = 1000;
  let nextId = 3332883804594373000n;
  let throttled = { remaining: 0, retryAfter: 1 };
  const hidden = new Set((opts.hiddenFields ?? []).map(normalizeField));

  const listId = (value: string): string => {
    let id = lists.get(value);
    if (id === undefined) {
      nextListId += 1;
      id = String(nextListId);
      lists.set(value, id);
    }
    return id;
  };

  const fail = (res: Response, status: number, key: string, error: string): void => {
    res.status(status).json({ key, error });
  };

  const raw = (e: HibobStandinEmployee, f: FieldPath): string | boolean | null | undefined => {
    switch (f) {
      case '/root/id':
        return e.id;
      case '/root/firstName':
        return e.firstName ?? null;
      case '/root/surname':
        return e.surname ?? null;
      case '/root/email':
        return e.email ?? null;
      case '/root/displayName':
        return [e.firstName, e.surname].filter(Boolean).join(' ');
      case '/root/creationDateTime':
        return '2024-01-01T09:00:00.000000';
      case '/work/department':
        return e.department ?? null;
      case '/work/title':
        return e.title ?? null;
      case '/work/site':
        return e.site ?? null;
      case '/work/reportsTo':
        return e.reportsTo ?? null;
      case '/work/startDate':
        return e.startDate ?? null;
      case '/work/isManager':
        return [...employees.values()].some((x) => x.reportsTo === e.id);
      case '/internal/status':
        return e.status ?? 'Active';
      case '/internal/terminationDate':
        return e.terminationDate ?? null;
      case '/internal/lifecycleStatus':
        return e.lifecycleStatus ?? 'employed';
      case '/payroll/employment/type':
        return e.employmentType ?? null;
      case '/home/privateEmail':
        return e.privateEmail ?? null;
    }
  };

  const machine = (e: HibobStandinEmployee, f: FieldPath): unknown => {
    const v = raw(e, f);
    if (v === null || v === undefined) return null;
    if (LIST_FIELDS.has(f)) return listId(String(v));
    if (f === '/work/reportsTo') {
      const m = employees.get(String(v));
      return m
        ? {
            id: m.id,
            displayName: `${m.firstName ?? ''} ${m.surname ?? ''}`.trim(),
            email: m.email ?? null,
            firstName: m.firstName ?? null,
            surname: m.surname ?? null,
          }
        : null;
    }
    return v;
  };

  const human = (e: HibobStandinEmployee, f: FieldPath): unknown => {
    const v = raw(e, f);
    if (v === null || v === undefined) return null;
    if (DATE_FIELDS.has(f)) return humanDate(String(v));
    if (f === '/work/reportsTo') {
      const m = employees.get(String(v));
      return m ? `${m.firstName ?? ''} ${m.surname ?? ''}`.trim() : null;
    }
    if (f === '/internal/lifecycleStatus') {
      const s = String(v);
      return s.charAt(0).toUpperCase() + s.slice(1);
    }
    return typeof v === 'boolean' ? (v ? 'Yes' : 'No') : v;
  };

  const put = (target: Record<string, unknown>, f: string, value: unknown): void => {
    const parts = f.split('/').filter(Boolean);
    const keys = parts[0] === 'root' ? parts.slice(1) : parts;
    let cur = target;
    for (const k of keys.slice(0, -1)) {
      const next = (cur[k] ?? {}) as Record<string, unknown>;
      cur[k] = next;
      cur = next;
    }
    cur[keys[keys.length - 1]!] = value;
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((req, res, next) => {
    const entry: HibobStandinRequest = {
      method: req.method,
      path: req.path,
      status: 0,
      body: undefined,
      authorization: req.get('authorization'),
    };
    requests.push(entry);
    res.on('finish', () => {
      entry.status = res.statusCode;
      entry.body = req.body as unknown;
    });
    next();
  });

  const api = express.Router();
  api.use((req, res, next) => {
    if (throttled.remaining > 0) {
      throttled.remaining -= 1;
      res.setHeader('Retry-After', String(throttled.retryAfter));
      return fail(res, 429, 'too.many.requests', 'Too many requests');
    }
    const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(req.get('authorization') ?? '');
    const decoded = m?.[1] ? Buffer.from(m[1], 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const [id, token] = colon > 0 ? [decoded.slice(0, colon), decoded.slice(colon + 1)] : ['', ''];
    if (!opts.serviceUsers.some((u) => sameSecret(u.id, id) && sameSecret(u.token, token))) {
      res.setHeader('WWW-Authenticate', 'Basic realm="api.hibob.com"');
      return fail(res, 401, 'unauthorized', 'Full authentication is required to access this resource');
    }
    next();
  });

  api.post('/people/search', express.json({ type: () => true, limit: '256kb' }), (req: Request, res: Response) => {
    const body: unknown = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return fail(res, 400, 'bad.request', 'Request body must be a JSON object');
    }
    const b = body as Record<string, unknown>;
    const allowed = new Set(['fields', 'filters', 'showInactive', 'humanReadable']);
    const unknownProp = Object.keys(b).find((k) => !allowed.has(k));
    if (unknownProp !== undefined) return fail(res, 400, 'bad.request', `Unrecognized field "${unknownProp}"`);
    if (b.showInactive !== undefined && typeof b.showInactive !== 'boolean') {
      return fail(res, 400, 'bad.request', 'showInactive must be a boolean');
    }
    if (b.humanReadable !== undefined && !['APPEND', 'REPLACE', ''].includes(b.humanReadable as string)) {
      return fail(res, 400, 'bad.request', 'humanReadable must be APPEND or REPLACE');
    }
    let fields: FieldPath[] = DEFAULT_FIELDS;
    if (b.fields !== undefined) {
      if (!Array.isArray(b.fields) || b.fields.some((f) => typeof f !== 'string')) {
        return fail(res, 400, 'bad.request', 'fields must be an array of field ids');
      }
      const norm = (b.fields as string[]).map(normalizeField);
      const bad = norm.find((f) => !(HIBOB_STANDIN_FIELDS as readonly string[]).includes(f));
      if (bad !== undefined) return fail(res, 400, 'field.not.found', `Field ${bad} does not exist`);
      fields = norm as FieldPath[];
    }
    let idFilter: Set<string> | undefined;
    let emailFilter: Set<string> | undefined;
    if (b.filters !== undefined) {
      if (!Array.isArray(b.filters)) return fail(res, 400, 'bad.request', 'filters must be an array');
      for (const f of b.filters as unknown[]) {
        const fl = f as { fieldPath?: unknown; operator?: unknown; values?: unknown };
        const path = typeof fl.fieldPath === 'string' ? normalizeField(fl.fieldPath) : '';
        if (!['/root/id', '/root/email'].includes(path) || fl.operator !== 'equals' || !Array.isArray(fl.values)) {
          return fail(res, 400, 'bad.request', 'Unsupported filter');
        }
        const values = new Set((fl.values as unknown[]).map(String));
        if (path === '/root/id') idFilter = values;
        else emailFilter = values;
      }
    }
    const showInactive = b.showInactive === true;
    const mode = typeof b.humanReadable === 'string' ? b.humanReadable : '';
    const out = [...employees.values()]
      .filter((e) => showInactive || (e.status ?? 'Active') === 'Active')
      .filter((e) => !idFilter || idFilter.has(String(e.id)))
      .filter((e) => !emailFilter || emailFilter.has(String(e.email)))
      .map((e) => {
        const o: Record<string, unknown> = {};
        const h: Record<string, unknown> = {};
        for (const f of fields) {
          if (hidden.has(f)) continue;
          put(o, f, mode === 'REPLACE' ? human(e, f) : machine(e, f));
          if (mode === 'APPEND') put(h, f, human(e, f));
        }
        if (mode === 'APPEND') o.humanReadable = h;
        return o;
      });
    res.status(200).json({ employees: out });
  });

  api.use((_req, res) => fail(res, 404, 'not.found', 'Not found'));
  api.use((err: unknown, _req: Request, res: Response, _next: express.NextFunction) => {
    const status = typeof err === 'object' && err !== null && 'status' in err ? Number(err.status) : 500;
    if (status >= 400 && status < 500) fail(res, 400, 'bad.request', 'Malformed JSON');
    else fail(res, 500, 'internal.error', 'Internal error');
  });
  app.use('/v1', api);
  app.use((_req, res) => fail(res, 404, 'not.found', 'Not found'));

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port ?? 0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    addEmployee(e) {
      nextId += 1n;
      const id = e.id ?? String(nextId);
      employees.set(id, { ...e, id });
      return id;
    },
    updateEmployee(id, e) {
      const cur = employees.get(id);
      if (!cur) throw new Error(`no employee ${id}`);
      Object.assign(cur, e);
    },
    removeEmployee(id) {
      employees.delete(id);
    },
    throttle(n, retryAfterSeconds = 1) {
      throttled = { remaining: n, retryAfter: retryAfterSeconds };
    },
    async sendWebhook(url, secret, event, o = {}) {
      const body = JSON.stringify({
        companyId: 636192,
        type: event.type,
        triggeredBy: '3332883804594373380',
        triggeredAt: event.triggeredAt ?? new Date().toISOString().replace('Z', '').padEnd(26, '0'),
        version: 'v2',
        data: { employeeId: event.employeeId },
      });
      const signature = o.signature ?? createHmac('sha512', secret).update(body).digest('base64');
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'Bob-Signature': signature },
        body,
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON
      }
      return { status: res.status, body: parsed };
    },
    close() {
      return new Promise((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
