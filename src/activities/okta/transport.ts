/**
 * The one place the Okta connector talks to the Management API. Every failure leaves here as a `ConnectorError`,
 * classified from the status and Okta's error body `{ errorCode, errorSummary, errorLink, errorId, errorCauses }`:
 *
 * | what happened                                                   | type              |
 * |-----------------------------------------------------------------|-------------------|
 * | network error, timeout, 408, 5xx (not 501)                      | `transient`       |
 * | 429, or `E0000047` (rate limit)                                 | `rate_limited`    |
 * | 401 (`E0000011` invalid token) with a token just minted         | `unauthorized`    |
 * | 401 with a cached OAuth access token (expired or revoked)       | `transient`       |
 * | 403 (`E0000006` no permission / scope)                          | `unauthorized`    |
 * | 404 (`E0000007`)                                                | `not_found`       |
 * | 400 `E0000001` whose causes say the value already exists        | `conflict`        |
 * | 403 `E0000016` (activation of an already active user)           | `conflict`        |
 * | other 400 (`E0000001` validation, `E0000003` malformed), 3xx…   | `invalid_request` |
 *
 * `retryAfterMs` comes from `Retry-After` when sent, else from `X-Rate-Limit-Reset` (epoch seconds) on a rate limit.
 * Messages carry the system id, method, the route *template* (`/api/v1/users/{id}`; never a query, which holds HR
 * ids and logins), the status and Okta's `errorCode`; never `errorSummary` / `errorCauses` (they quote the person),
 * a token, a request body or a network error's text.
 */
import { parseJson, queryParams, requestText } from '../http';
import { ConnectorError, type ConnectorErrorType } from '../identity';
import { parseRateLimitReset, parseRetryAfter } from '../scim/transport';

/** How requests are authorized: SSWS API token or an OAuth access token (see token.ts). */
export interface OktaAuth {
  /** The `Authorization` header value, and whether it was obtained for this request (not from a cache). */
  authorization(): Promise<{ header: string; fresh: boolean }>;
  /** Forget a cached credential the server refused, so the next attempt obtains a new one. */
  invalidate(): void;
}

export interface OktaTransportConfig {
  systemId: string;
  /** e.g. `https://acme.okta.com` (a trailing slash is ignored). */
  orgUrl: string;
  auth: OktaAuth;
  timeoutMs: number;
}

export type OktaMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface OktaRequest {
  method: OktaMethod;
  /** Path below the org URL (`/api/v1/users/00u1`), or an absolute URL on the org (a `Link: rel="next"`). */
  path: string;
  /** The path as a template, for messages: `/api/v1/users/{id}`. */
  route: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
}

export interface OktaResponse {
  status: number;
  /** Parsed JSON, `undefined` for an empty body (204). */
  body: unknown;
  /** The `Link: <…>; rel="next"` URL, when the answer has a next page. */
  next?: string;
}

/** Okta's error body, as far as classification reads it. */
interface OktaErrorBody {
  errorCode?: string;
  causes: string[];
}

function errorBody(value: unknown): OktaErrorBody {
  if (typeof value !== 'object' || value === null) return { causes: [] };
  const { errorCode, errorCauses } = value as { errorCode?: unknown; errorCauses?: unknown };
  const code = typeof errorCode === 'string' && /^[A-Za-z0-9_.-]{1,40}$/.test(errorCode) ? errorCode : undefined;
  const causes = Array.isArray(errorCauses)
    ? errorCauses
        .map((c: unknown) =>
          typeof c === 'object' && c !== null ? (c as { errorSummary?: unknown }).errorSummary : undefined,
        )
        .filter((s): s is string => typeof s === 'string')
    : [];
  return code === undefined ? { causes } : { errorCode: code, causes };
}

/** The URL of `rel="next"` in an RFC 8288 `Link` header (Okta sends `self` and `next` as separate links). */
export function nextLink(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m && /(^|;)\s*rel\s*=\s*"?next"?\s*(;|$)/i.test(m[2] ?? '')) return m[1];
  }
  return undefined;
}

function classify(status: number, body: OktaErrorBody, cachedToken: boolean): ConnectorErrorType {
  if (status === 429 || body.errorCode === 'E0000047') return 'rate_limited';
  if (status === 401) return cachedToken ? 'transient' : 'unauthorized';
  if (status === 403 && body.errorCode === 'E0000016') return 'conflict';
  if (status === 403) return 'unauthorized';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 400 && body.errorCode === 'E0000001' && body.causes.some((c) => /already exists/i.test(c)))
    return 'conflict';
  if (status === 408 || (status >= 500 && status !== 501)) return 'transient';
  return 'invalid_request';
}

/** Send one Management API request. Resolves with 2xx answers only; everything else throws `ConnectorError`. */
export async function oktaRequest(config: OktaTransportConfig, request: OktaRequest): Promise<OktaResponse> {
  const { systemId } = config;
  const what = `${systemId}: ${request.method} ${request.route}`;
  const origin = config.orgUrl.replace(/\/+$/, '');
  let url: string;
  if (/^https?:\/\//i.test(request.path)) {
    // A next-page link: only ever on the org itself (the credential must not go elsewhere).
    if (new URL(request.path).origin !== new URL(origin).origin) {
      throw new ConnectorError('invalid_request', `${what}: next-page link points outside the Okta org`, {
        systemId,
      });
    }
    url = request.path;
  } else {
    url = origin + request.path;
  }
  const params = queryParams(request.query);
  const auth = await config.auth.authorization();
  const headers: Record<string, string> = { Accept: 'application/json', Authorization: auth.header };
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
  const parsed = parseJson(text);
  if (status >= 200 && status < 300) {
    if (!parsed.ok) {
      throw new ConnectorError('invalid_request', `${what} -> ${status}: response body is not JSON`, {
        systemId,
        status,
      });
    }
    const next = nextLink(response.header('link'));
    return next === undefined ? { status, body: parsed.value } : { status, body: parsed.value, next };
  }

  const body = parsed.ok ? errorBody(parsed.value) : { causes: [] };
  if (status === 401) config.auth.invalidate();
  const type = classify(status, body, status === 401 && !auth.fresh);
  const retryAfterMs =
    parseRetryAfter(response.header('retry-after')) ??
    (type === 'rate_limited' ? parseRateLimitReset(response.header('x-rate-limit-reset')) : undefined);
  const details: ConnectorError['details'] = { systemId, status };
  if (retryAfterMs !== undefined) details.retryAfterMs = retryAfterMs;
  if (body.errorCode !== undefined) details.vendorCode = body.errorCode;
  const message =
    `${what} -> ${status}` +
    (body.errorCode ? ` (${body.errorCode})` : '') +
    (type === 'conflict' && status === 400 ? ': a unique value (the login) is taken' : '') +
    (status === 401 && type === 'transient' ? ': cached access token refused; a new one is fetched on retry' : '') +
    (status >= 300 && status < 400 ? ': unexpected redirect' : '');
  throw new ConnectorError(type, message, details);
}
