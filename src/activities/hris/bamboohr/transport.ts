/**
 * The one place the BambooHR connector talks HTTP. Every failure leaves here as a `ConnectorError`
 * (the mapping is the SCIM transport's, documented in docs/connectors.md and docs/bamboohr.md):
 *
 * | what happened                              | type              |
 * |--------------------------------------------|-------------------|
 * | network error, timeout, 408, 5xx (not 501) | `transient`       |
 * | 429, or 503 with `Retry-After` (throttled) | `rate_limited`    |
 * | 400, 501, other 4xx, 3xx, unreadable 2xx   | `invalid_request` |
 * | 401, 403                                   | `unauthorized`    |
 * | 404                                        | `not_found`       |
 * | 409                                        | `conflict`        |
 *
 * BambooHR puts its error detail in the `X-BambooHR-Error-Message` header; messages carry it, the system
 * id, method and path (never the query), but never the API key or a request body.
 */
import { classifyHrisStatus, requestText } from '../../http';
import { ConnectorError } from '../../identity';
import { parseRetryAfter } from '../../scim/transport';

export interface BambooTransportConfig {
  /** Tenure's id for the system, used in error messages. @default "bamboohr" */
  systemId?: string;
  /** e.g. `https://api.bamboohr.com/api/gateway.php/<company>/v1` (a trailing slash is ignored). */
  baseUrl: string;
  /** The API key: sent as the Basic-auth user name, with `x` as the password, as BambooHR documents. */
  apiKey: string;
  /** Whole-request timeout in milliseconds. @default 10000 */
  timeoutMs?: number;
}

export interface BambooRequest {
  method: 'GET' | 'POST';
  /** Path below the base URL, starting with `/`, e.g. `/employees/123/`. */
  path: string;
  query?: Record<string, string | undefined>;
  /** JSON body. */
  body?: unknown;
}

export interface BambooResponse {
  status: number;
  /** Parsed JSON, or `undefined` for an empty body. */
  body: unknown;
}

export const BAMBOO_DEFAULT_TIMEOUT_MS = 10_000;

/** Send one BambooHR API request. Resolves with 2xx responses only; everything else throws `ConnectorError`. */
export async function bambooRequest(config: BambooTransportConfig, request: BambooRequest): Promise<BambooResponse> {
  const systemId = config.systemId ?? 'bamboohr';
  const what = `${systemId}: ${request.method} ${request.path}`;
  const params: Record<string, string> = {};
  for (const [key, value] of Object.entries(request.query ?? {})) if (value !== undefined) params[key] = value;
  const headers: Record<string, string> = {
    Accept: 'application/json',
    Authorization: `Basic ${Buffer.from(`${config.apiKey}:x`).toString('base64')}`,
  };
  if (request.body !== undefined) headers['Content-Type'] = 'application/json';

  const response = await requestText(systemId, what, {
    method: request.method,
    url: config.baseUrl.replace(/\/+$/, '') + request.path,
    params,
    headers,
    body: request.body,
    timeoutMs: config.timeoutMs ?? BAMBOO_DEFAULT_TIMEOUT_MS,
  });
  const { status, text } = response;
  const retryAfter = response.header('retry-after');

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

  const type = classifyHrisStatus(status, retryAfter);
  const details: ConnectorError['details'] = { systemId, status };
  const retryAfterMs = parseRetryAfter(retryAfter);
  if (retryAfterMs !== undefined) details.retryAfterMs = retryAfterMs;
  // X-BambooHR-Error-Message is free text ("Employee ana@… not found"): it is not quoted; the status says enough.
  throw new ConnectorError(type, `${what} -> ${status}`, details);
}
