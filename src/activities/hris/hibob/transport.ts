/**
 * The one place the HiBob connector talks HTTP. Every failure leaves here as a `ConnectorError`, classified like
 * every connector's (docs/connectors.md, docs/hris.md):
 *
 * | what happened                              | type              |
 * |--------------------------------------------|-------------------|
 * | network error, timeout, 408, 5xx (not 501) | `transient`       |
 * | 429, or 503 with `Retry-After`             | `rate_limited`    |
 * | 400, 501, other 4xx, 3xx, unreadable 2xx   | `invalid_request` |
 * | 401, 403                                   | `unauthorized`    |
 * | 404                                        | `not_found`       |
 * | 409                                        | `conflict`        |
 *
 * Authentication is HTTP Basic with the API service user's id and token, as HiBob documents
 * (`Authorization: Basic base64(<service user id>:<token>)`). HiBob's error bodies are `{ "key", "error" }`: the
 * `key` (a code) goes into `details.vendorCode`; the `error` text never leaves here (it can quote a person), nor
 * do the token, the request body or the query.
 */
import { classifyHrisStatus, requestText } from '../../http';
import { ConnectorError } from '../../identity';
import { parseRateLimitReset, parseRetryAfter } from '../../scim/transport';

/** HiBob's documented production API base. */
export const HIBOB_DEFAULT_BASE_URL = 'https://api.hibob.com/v1';
export const HIBOB_DEFAULT_TIMEOUT_MS = 30_000;

export interface HibobTransportConfig {
  /** Tenure's id for the system, used in error messages. @default "hibob" */
  systemId?: string;
  /** API base, e.g. `https://api.hibob.com/v1` or the sandbox's (a trailing slash is ignored). */
  baseUrl: string;
  /** The API service user's id (Basic-auth user name). */
  serviceUserId: string;
  /** The API service user's token (Basic-auth password). Read from the environment; never logged. */
  token: string;
  /** Whole-request timeout in milliseconds; people search returns everyone at once. @default 30000 */
  timeoutMs?: number;
}

export interface HibobRequest {
  method: 'GET' | 'POST';
  /** Path below the base URL, starting with `/`, e.g. `/people/search`. */
  path: string;
  /** JSON body. */
  body?: unknown;
}

export interface HibobResponse {
  status: number;
  /** Parsed JSON, or `undefined` for an empty body. */
  body: unknown;
}

/** A vendor error code is quoted only when it looks like a code (no spaces, no `@`): never free text. */
const VENDOR_CODE = /^[A-Za-z0-9_.:-]{1,64}$/;

function vendorCodeOf(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as unknown;
    if (typeof body !== 'object' || body === null) return undefined;
    const key = (body as { key?: unknown }).key;
    return typeof key === 'string' && VENDOR_CODE.test(key) ? key : undefined;
  } catch {
    return undefined;
  }
}

/** Send one HiBob API request. Resolves with 2xx responses only; everything else throws `ConnectorError`. */
export async function hibobRequest(config: HibobTransportConfig, request: HibobRequest): Promise<HibobResponse> {
  const systemId = config.systemId ?? 'hibob';
  const what = `${systemId}: ${request.method} ${request.path}`;
  const headers: Record<string, string> = {
    Accept: 'application/json',
    Authorization: `Basic ${Buffer.from(`${config.serviceUserId}:${config.token}`).toString('base64')}`,
  };
  if (request.body !== undefined) headers['Content-Type'] = 'application/json';

  const response = await requestText(systemId, what, {
    method: request.method,
    url: config.baseUrl.replace(/\/+$/, '') + request.path,
    headers,
    body: request.body,
    timeoutMs: config.timeoutMs ?? HIBOB_DEFAULT_TIMEOUT_MS,
  });
  const { status, text } = response;

  if (status >= 200 && status < 300) {
    if (text.trim() === '') return { status, body: undefined };
    try {
      return { status, body: JSON.parse(text) as unknown };
    } catch {
      throw new ConnectorError('invalid_request', `${what} -> ${status}: response body is not JSON`, {
        systemId,
        status,
      });
    }
  }

  const retryAfter = response.header('retry-after');
  const type = classifyHrisStatus(status, retryAfter);
  const details: ConnectorError['details'] = { systemId, status };
  const retryAfterMs =
    parseRetryAfter(retryAfter) ??
    (type === 'rate_limited' ? parseRateLimitReset(response.header('x-ratelimit-reset')) : undefined);
  if (retryAfterMs !== undefined) details.retryAfterMs = retryAfterMs;
  const vendorCode = vendorCodeOf(text);
  if (vendorCode !== undefined) details.vendorCode = vendorCode;
  const message =
    `${what} -> ${status}` +
    (vendorCode ? ` (${vendorCode})` : '') +
    (status >= 300 && status < 400 ? ': unexpected redirect' : '');
  throw new ConnectorError(type, message, details);
}
