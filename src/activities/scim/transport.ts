/**
 * The one place the SCIM connector talks HTTP. Every failure leaves here as a `ConnectorError`:
 *
 * | what happened                              | type              |
 * |--------------------------------------------|-------------------|
 * | network error, timeout, 408, 5xx (not 501) | `transient`       |
 * | 429                                        | `rate_limited`    |
 * | 400, 501, other 4xx, 3xx, unreadable 2xx   | `invalid_request` |
 * | 401, 403                                   | `unauthorized`    |
 * | 403 carrying a rate-limit signal (below)   | `rate_limited`    |
 * | 404                                        | `not_found`       |
 * | 409                                        | `conflict`        |
 *
 * `Retry-After` (delta-seconds or HTTP-date) becomes `details.retryAfterMs` on any error response; failing
 * that, `X-RateLimit-Reset` (epoch seconds, GitHub's primary rate limit) on a 403/429. GitHub answers its rate
 * limits with 403 as well as 429: a 403 with `Retry-After` or `X-RateLimit-Remaining: 0` is `rate_limited`.
 * The full mapping, and why, is in docs/connectors.md.
 * Messages carry the system id, method, path (never the query), status and SCIM `scimType`; never the bearer
 * token, a request body or the server's `detail` text, which can quote the person ("userName … already exists").
 */
import { parseJson, queryParams, requestText } from '../http';
import { ConnectorError, type ConnectorErrorType } from '../identity';

export type ScimMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ScimTransportConfig {
  /** Tenure's id for the system, used in error messages and details. */
  systemId: string;
  /** SCIM base URL, e.g. `https://example.com/scim/v2` (a trailing slash is ignored). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <token>` when set. Default: no Authorization header. */
  token?: string;
  /** Whole-request timeout in milliseconds; default {@link DEFAULT_TIMEOUT_MS}. */
  timeoutMs?: number;
}

export interface ScimRequest {
  method: ScimMethod;
  /** Path below the base URL, starting with `/`, e.g. `/Users/123`. */
  path: string;
  /** Query parameters; `undefined` values are left out. */
  query?: Record<string, string | number | undefined>;
  /** JSON body, sent as `application/scim+json`. */
  body?: unknown;
}

export interface ScimResponse {
  status: number;
  /** Parsed JSON body, or `undefined` when the response had none (e.g. 204). */
  body: unknown;
}

/** Default request timeout: 10 seconds. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Parse a `Retry-After` header value into milliseconds from `now`: either delta-seconds (`"120"`) or an
 * HTTP-date (`"Wed, 21 Oct 2015 07:28:00 GMT"`). Dates in the past give 0; anything unparseable gives `undefined`.
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Headers the classification reads, lower-cased. */
interface ErrorHeaders {
  retryAfter?: string;
  rateLimitRemaining?: string;
  rateLimitReset?: string;
}

/** Epoch-seconds `X-RateLimit-Reset` as milliseconds from `now`; `undefined` when absent or unreadable. */
export function parseRateLimitReset(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined || !/^\d{1,12}$/.test(value.trim())) return undefined;
  return Math.max(0, Number(value.trim()) * 1000 - now);
}

function classify(status: number, headers: ErrorHeaders = {}): ConnectorErrorType {
  if (status === 429) return 'rate_limited';
  if (status === 403 && (headers.retryAfter !== undefined || headers.rateLimitRemaining?.trim() === '0'))
    return 'rate_limited';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 408 || (status >= 500 && status !== 501)) return 'transient';
  return 'invalid_request';
}

/** The SCIM `scimType` keyword (RFC 7644 §3.12), when it is one: a code, never free text. */
function scimTypeOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { scimType } = body as { scimType?: unknown };
  return typeof scimType === 'string' && /^[A-Za-z]{1,40}$/.test(scimType) ? scimType : undefined;
}

/** Send one SCIM request. Resolves with 2xx responses only; everything else throws `ConnectorError`. */
export async function scimRequest(config: ScimTransportConfig, request: ScimRequest): Promise<ScimResponse> {
  const { systemId } = config;
  const what = `${systemId}: ${request.method} ${request.path}`;
  const params = queryParams(request.query);
  const headers: Record<string, string> = { Accept: 'application/scim+json, application/json' };
  if (request.body !== undefined) headers['Content-Type'] = 'application/scim+json';
  if (config.token !== undefined) headers.Authorization = `Bearer ${config.token}`;

  const response = await requestText(systemId, what, {
    method: request.method,
    url: config.baseUrl.replace(/\/+$/, '') + request.path,
    params,
    headers,
    body: request.body,
    timeoutMs: config.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  });
  const { status, text } = response;
  const errorHeaders: ErrorHeaders = {};
  const retryAfter = response.header('retry-after');
  const rateLimitRemaining = response.header('x-ratelimit-remaining');
  const rateLimitReset = response.header('x-ratelimit-reset');
  if (retryAfter !== undefined) errorHeaders.retryAfter = retryAfter;
  if (rateLimitRemaining !== undefined) errorHeaders.rateLimitRemaining = rateLimitRemaining;
  if (rateLimitReset !== undefined) errorHeaders.rateLimitReset = rateLimitReset;

  const parsed = parseJson(text);
  if (status >= 200 && status < 300) {
    if (!parsed.ok) {
      throw new ConnectorError('invalid_request', `${what} -> ${status}: response body is not JSON`, {
        systemId,
        status,
      });
    }
    return { status, body: parsed.value };
  }

  const type = classify(status, errorHeaders);
  const scimType = parsed.ok ? scimTypeOf(parsed.value) : undefined;
  const retryAfterMs =
    parseRetryAfter(errorHeaders.retryAfter) ??
    (type === 'rate_limited' ? parseRateLimitReset(errorHeaders.rateLimitReset) : undefined);
  const details: ConnectorError['details'] = { systemId, status };
  if (retryAfterMs !== undefined) details.retryAfterMs = retryAfterMs;
  if (scimType !== undefined) details.scimType = scimType;
  const message =
    `${what} -> ${status}` +
    (scimType ? ` (${scimType})` : '') +
    (status >= 300 && status < 400 ? ': unexpected redirect' : '');
  throw new ConnectorError(type, message, details);
}
