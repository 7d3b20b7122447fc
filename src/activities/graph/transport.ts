/**
 * The one place the Graph connector talks to Microsoft Graph. Every request carries a client-credentials bearer
 * token (`token.ts`); every failure leaves here as a `ConnectorError`:
 *
 * | what happened                                                   | type              |
 * |-----------------------------------------------------------------|-------------------|
 * | network error, timeout, 408, 5xx (not 501)                      | `transient`       |
 * | 429; 503 with `Retry-After` (Graph throttles with both)         | `rate_limited`    |
 * | 401 for a token taken from the cache (expired or revoked early) | `transient`: the token is dropped, the retry gets a new one |
 * | 401 for a token fetched for this request; 403                   | `unauthorized`    |
 * | 400 whose `error.details` say `ObjectConflict` (a taken UPN)    | `conflict`        |
 * | 400, 501, other 4xx, 3xx, a 2xx that is not JSON                | `invalid_request` |
 * | 404                                                             | `not_found`       |
 * | 409 `Directory_ConcurrencyViolation`                            | `transient`       |
 * | other 409                                                       | `conflict`        |
 *
 * Graph's error body is `{ error: { code, message, innerError, details? } }`. Messages carry the system id, method,
 * path (never the query: `$filter` carries HR ids and e-mail addresses), status and `error.code` (also in
 * `details.vendorCode`); never `error.message` (it can quote the person), the token or a request body.
 */
import { queryParams, requestText } from '../http';
import { ConnectorError, type ConnectorErrorType } from '../identity';
import { parseRetryAfter } from '../scim/transport';
import type { GraphTokenSource } from './token';

export type GraphMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface GraphTransportConfig {
  systemId: string;
  /** Graph's origin, e.g. `https://graph.microsoft.com` (a trailing slash is ignored). */
  graphUrl: string;
  timeoutMs: number;
  tokens: GraphTokenSource;
}

export interface GraphRequest {
  method: GraphMethod;
  /** Below the origin, e.g. `/v1.0/users/{id}`; or an absolute `@odata.nextLink` on the same origin. */
  path: string;
  /** OData query options (`$filter`, `$select`, `$top`); `undefined` values are left out. */
  query?: Record<string, string | number | undefined>;
  body?: unknown;
}

export interface GraphResponse {
  status: number;
  /** Parsed JSON, or `undefined` for an empty body (204). */
  body: unknown;
}

/** Graph's error code and, when present, the first detail's code (`ObjectConflict`, `InvalidValue`): codes only. */
export function graphErrorCodes(body: unknown): { code?: string; detail?: string } {
  const out: { code?: string; detail?: string } = {};
  if (typeof body !== 'object' || body === null) return out;
  const error = (body as { error?: unknown }).error;
  if (typeof error !== 'object' || error === null) return out;
  const { code, details } = error as { code?: unknown; details?: unknown };
  const isCode = (v: unknown): v is string => typeof v === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(v);
  if (isCode(code)) out.code = code;
  const first = Array.isArray(details) ? (details[0] as { code?: unknown } | undefined) : undefined;
  if (isCode(first?.code)) out.detail = first.code;
  return out;
}

function classify(status: number, codes: { code?: string; detail?: string }, retryAfter: boolean): ConnectorErrorType {
  if (status === 429) return 'rate_limited';
  if (status === 503 && retryAfter) return 'rate_limited';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 404) return 'not_found';
  if (status === 409) return codes.code === 'Directory_ConcurrencyViolation' ? 'transient' : 'conflict';
  if (status === 400 && codes.detail === 'ObjectConflict') return 'conflict';
  if (status === 408 || (status >= 500 && status !== 501)) return 'transient';
  return 'invalid_request';
}

/** The URL and the path to name in messages; an absolute link must stay on Graph's origin (it gets the token). */
function target(config: GraphTransportConfig, path: string): { url: string; shown: string } {
  const origin = config.graphUrl.replace(/\/+$/, '');
  if (!/^https?:\/\//i.test(path)) return { url: origin + path, shown: path };
  const link = new URL(path);
  if (link.origin !== new URL(origin).origin) {
    throw new ConnectorError('invalid_request', `${config.systemId}: a next link points away from the Graph origin`, {
      systemId: config.systemId,
    });
  }
  return { url: path, shown: link.pathname };
}

/** Send one Graph request. Resolves with 2xx responses only; everything else throws `ConnectorError`. */
export async function graphRequest(config: GraphTransportConfig, request: GraphRequest): Promise<GraphResponse> {
  const { systemId } = config;
  const { url, shown } = target(config, request.path);
  const what = `${systemId}: ${request.method} ${shown}`;
  const params = queryParams(request.query);
  const token = await config.tokens.token();
  const headers: Record<string, string> = { Accept: 'application/json', Authorization: `Bearer ${token.value}` };
  if (request.body !== undefined) headers['Content-Type'] = 'application/json';

  const response = await requestText(systemId, what, {
    method: request.method,
    url,
    params,
    headers,
    body: request.body,
    timeoutMs: config.timeoutMs,
  });
  const { status, text } = response;
  let body: unknown;
  let parsed = true;
  try {
    body = text.trim() === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = false;
  }
  if (status >= 200 && status < 300) {
    if (!parsed) {
      throw new ConnectorError('invalid_request', `${what} -> ${status}: response body is not JSON`, {
        systemId,
        status,
      });
    }
    return { status, body };
  }

  const codes = parsed ? graphErrorCodes(body) : {};
  const retryAfter = response.header('retry-after');
  let type = classify(status, codes, retryAfter !== undefined);
  let note = '';
  if (status === 401) {
    config.tokens.invalidate(token.value);
    if (!token.fresh) {
      // A cached token Graph no longer takes (expired early, revoked): the retry fetches a new one, and a
      // rejected *fresh* token is then final.
      type = 'transient';
      note = ': cached token rejected, a new one is fetched on retry';
    }
  }
  const details: ConnectorError['details'] = { systemId, status };
  const retryAfterMs = parseRetryAfter(retryAfter);
  if (retryAfterMs !== undefined) details.retryAfterMs = retryAfterMs;
  if (codes.code !== undefined) details.vendorCode = codes.code;
  const code = [codes.code, codes.detail].filter((c) => c !== undefined).join('/');
  const message =
    `${what} -> ${status}` +
    (code ? ` (${code})` : '') +
    note +
    (status >= 300 && status < 400 ? ': unexpected redirect' : '');
  throw new ConnectorError(type, message, details);
}
