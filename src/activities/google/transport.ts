/**
 * The one place the Google connector talks to the Admin SDK (Directory API and Data Transfer API). Every failure
 * leaves here as a `ConnectorError`, classified from the status and Google's error body
 * `{ "error": { "code", "message", "errors": [{ "reason", "domain", … }], "status" } }`:
 *
 * | what happened                                                            | type              |
 * |--------------------------------------------------------------------------|-------------------|
 * | network error, timeout, 408, 5xx (not 501)                               | `transient`       |
 * | 429; 403 with reason `rateLimitExceeded` / `userRateLimitExceeded` / `quotaExceeded` | `rate_limited` |
 * | 401 with a token that came from the cache (expired or revoked meanwhile) | `transient`       |
 * | 401 with a fresh token; 403 otherwise                                    | `unauthorized`    |
 * | 404                                                                      | `not_found`       |
 * | 409 (reason `duplicate`)                                                 | `conflict`        |
 * | 400, 501, other 4xx, 3xx, a 2xx that is not JSON                         | `invalid_request` |
 *
 * Messages carry the system id, method, the path *template* the caller names (`/users/{userKey}`: user keys can be
 * e-mail addresses), the status and Google's `reason` (also in `details.vendorCode`); never `error.message` (it can
 * quote the person), the token, a request body or the query.
 */
import { parseJson, queryParams, requestText } from '../http';
import { ConnectorError, type ConnectorErrorType } from '../identity';
import { parseRetryAfter } from '../scim/transport';
import type { GoogleTokenSource } from './token';

export type GoogleMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface GoogleTransportConfig {
  systemId: string;
  /** Origin of the Admin SDK APIs, e.g. `https://admin.googleapis.com` (a trailing slash is ignored). */
  baseUrl: string;
  tokens: GoogleTokenSource;
  timeoutMs: number;
}

export interface GoogleRequest {
  method: GoogleMethod;
  /** Path below the origin, ids already encoded, e.g. `/admin/directory/v1/users/123`. */
  path: string;
  /** The path as a template for messages, e.g. `/users/{userKey}`. */
  label: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
}

export interface GoogleResponse {
  status: number;
  /** Parsed JSON, or `undefined` for an empty body (204). */
  body: unknown;
}

/** Reasons with which Google answers 403 when the caller is going too fast (standard error responses). */
const RATE_LIMIT_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'quotaExceeded']);

/** The first `errors[].reason` of a Google error body, when it is a code. */
export function googleReason(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const error = (body as { error?: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const errors = (error as { errors?: unknown }).errors;
  const first: unknown = Array.isArray(errors) ? errors[0] : undefined;
  const reason = typeof first === 'object' && first !== null ? (first as { reason?: unknown }).reason : undefined;
  if (typeof reason === 'string' && /^[A-Za-z_]{1,64}$/.test(reason)) return reason;
  // Newer Google APIs carry only the canonical `status` (e.g. "PERMISSION_DENIED").
  const status = (error as { status?: unknown }).status;
  return typeof status === 'string' && /^[A-Z_]{1,64}$/.test(status) ? status : undefined;
}

function classify(status: number, reason: string | undefined, cachedToken: boolean): ConnectorErrorType {
  if (status === 429) return 'rate_limited';
  if (status === 403 && reason !== undefined && RATE_LIMIT_REASONS.has(reason)) return 'rate_limited';
  if (status === 401) return cachedToken ? 'transient' : 'unauthorized';
  if (status === 403) return 'unauthorized';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 408 || (status >= 500 && status !== 501)) return 'transient';
  return 'invalid_request';
}

/** Send one Admin SDK request. Resolves with 2xx responses only; everything else throws `ConnectorError`. */
export async function googleRequest(config: GoogleTransportConfig, request: GoogleRequest): Promise<GoogleResponse> {
  const { systemId } = config;
  const what = `${systemId}: ${request.method} ${request.label}`;
  const cachedToken = config.tokens.hasCachedToken;
  const token = await config.tokens.token();
  const params = queryParams(request.query);
  const headers: Record<string, string> = { Accept: 'application/json', Authorization: `Bearer ${token}` };
  if (request.body !== undefined) headers['Content-Type'] = 'application/json';

  const response = await requestText(systemId, what, {
    method: request.method,
    url: config.baseUrl.replace(/\/+$/, '') + request.path,
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
    return { status, body: parsed.value };
  }

  const reason = parsed.ok ? googleReason(parsed.value) : undefined;
  const type = classify(status, reason, cachedToken);
  // A refused token is never used again: the retry (Temporal's) gets a new one.
  if (status === 401) config.tokens.invalidate(token);
  const details: ConnectorError['details'] = { systemId, status };
  const retryAfterMs = parseRetryAfter(response.header('retry-after'));
  if (retryAfterMs !== undefined) details.retryAfterMs = retryAfterMs;
  if (reason !== undefined) details.vendorCode = reason;
  const message =
    `${what} -> ${status}` +
    (reason ? ` (${reason})` : '') +
    (status === 401 && cachedToken ? ': the cached access token was refused; a new one is fetched on retry' : '') +
    (status >= 300 && status < 400 ? ': unexpected redirect' : '');
  throw new ConnectorError(type, message, details);
}
