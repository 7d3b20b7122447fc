/**
 * A read-only SCIM 2.0 `/Users` stand-in for large listings (the reconciliation benchmark): RFC 7644's list and
 * lookup shapes over an in-memory store that is seeded directly, so a 10,000-account system costs what paging it
 * costs and nothing more. The full SCIM peer (src/dev/scim-peer.ts, SCIMMY) renders every user for every page, which
 * makes a paged listing quadratic at this size.
 *
 * What it answers, as RFC 7644 says:
 * - `GET /scim/v2/Users?startIndex=&count=` (§3.4.2.4): a `ListResponse` with `totalResults`, `startIndex`,
 *   `itemsPerPage` and `Resources`, in creation order; `startIndex` below 1 counts as 1, a negative `count` as 0,
 *   `count` above the page limit is cut to it; a value that is not an integer is 400 `invalidValue`;
 * - `filter=userName eq "…"` (case-insensitive, as `userName` is) and `filter=externalId eq "…"` (§3.4.2.2); any
 *   other filter is 400 `invalidFilter`;
 * - `GET /scim/v2/Users/<id>`: the user, or 404;
 * - with a `token`, a request without `Authorization: Bearer <token>` is 401 (RFC 7644 §2, RFC 6750);
 * - every other method is 405 and every other path 404, as SCIM error bodies (§3.12).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';

export interface ScimListPeer {
  /** Base URL ending in `/scim/v2`. */
  readonly url: string;
  /** Adds users as stored (with a fresh `id` and `meta`), without HTTP; returns their ids. */
  seed(users: Record<string, unknown>[]): string[];
  /** GET requests answered so far. */
  readonly requests: number;
  close(): Promise<void>;
}

interface Stored {
  id: string;
  body: Record<string, unknown>;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/scim+json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function scimError(res: ServerResponse, status: number, detail: string, scimType?: string): void {
  send(res, status, { schemas: [ERROR_SCHEMA], status: String(status), ...(scimType ? { scimType } : {}), detail });
}

export async function startScimListPeer(opts: { token?: string; maxPageSize?: number } = {}): Promise<ScimListPeer> {
  const maxPageSize = opts.maxPageSize ?? 200;
  const users: Stored[] = [];
  const byId = new Map<string, Stored>();
  const byUserName = new Map<string, Stored>();
  const byExternalId = new Map<string, Stored>();
  let requests = 0;

  const intParam = (v: string | null): number | undefined | 'bad' => {
    if (v === null) return undefined;
    return /^-?\d+$/.test(v) ? Number(v) : 'bad';
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://peer');
    if (opts.token !== undefined && req.headers.authorization !== `Bearer ${opts.token}`) {
      scimError(res, 401, 'Authorization failure', undefined);
      return;
    }
    const path = url.pathname.replace(/\/+$/, '');
    const one = /^\/scim\/v2\/Users\/([^/]+)$/.exec(path);
    if (path !== '/scim/v2/Users' && !one) {
      scimError(res, 404, 'Resource not found');
      return;
    }
    if (req.method !== 'GET') {
      scimError(res, 405, `${req.method ?? ''} is not supported by this read-only stand-in`);
      return;
    }
    requests += 1;
    if (one) {
      const u = byId.get(decodeURIComponent(one[1] ?? ''));
      if (!u) scimError(res, 404, 'Resource not found');
      else send(res, 200, u.body);
      return;
    }
    let matched: Stored[] = users;
    const filter = url.searchParams.get('filter');
    if (filter !== null) {
      const m = /^\s*(userName|externalId)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$/i.exec(filter);
      if (!m) {
        scimError(res, 400, 'Only userName eq and externalId eq filters are supported', 'invalidFilter');
        return;
      }
      const value = (m[2] ?? '').replace(/\\(.)/g, '$1');
      const hit = m[1]?.toLowerCase() === 'username' ? byUserName.get(value.toLowerCase()) : byExternalId.get(value);
      matched = hit ? [hit] : [];
    }
    const startParam = intParam(url.searchParams.get('startIndex'));
    const countParam = intParam(url.searchParams.get('count'));
    if (startParam === 'bad' || countParam === 'bad') {
      scimError(res, 400, 'startIndex and count must be integers', 'invalidValue');
      return;
    }
    const startIndex = Math.max(1, startParam ?? 1);
    const count = Math.min(Math.max(0, countParam ?? maxPageSize), maxPageSize);
    const page = matched.slice(startIndex - 1, startIndex - 1 + count);
    send(res, 200, {
      schemas: [LIST_SCHEMA],
      totalResults: matched.length,
      startIndex,
      itemsPerPage: page.length,
      Resources: page.map((u) => u.body),
    });
  };

  const server = createServer(handle);
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}/scim/v2`;
  return {
    url,
    get requests() {
      return requests;
    },
    seed(list) {
      return list.map((raw) => {
        const id = randomUUID();
        const body = {
          ...raw,
          schemas: Array.isArray(raw.schemas) ? raw.schemas : [USER_SCHEMA],
          id,
          meta: { resourceType: 'User', location: `${url}/Users/${id}` },
        };
        const u = { id, body };
        users.push(u);
        byId.set(id, u);
        if (typeof raw.userName === 'string') byUserName.set(raw.userName.toLowerCase(), u);
        if (typeof raw.externalId === 'string') byExternalId.set(raw.externalId, u);
        return id;
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
