/**
 * The HTTP exchange every JSON connector shares: one axios call that never throws on a status, never follows
 * redirects, and turns network failures into classified `ConnectorError`s without leaking the request (an
 * AxiosError carries the config, and so the credentials). Each connector's transport maps statuses itself.
 */
import axios from 'axios';
import type { ConnectorErrorType } from './identity';
import { ConnectorError } from './identity';
import { awaitRequestTurn } from './rate-limit';

export interface HttpTextRequest {
  method: string;
  url: string;
  params?: Record<string, string>;
  headers: Record<string, string>;
  /** Sent as JSON when given. */
  body?: unknown;
  timeoutMs: number;
}

export interface HttpTextResponse {
  status: number;
  text: string;
  header(name: string): string | undefined;
}

/** A response body as JSON: empty is `undefined`; `ok: false` when it is not JSON (never the text itself). */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  if (text.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/** Query options as request parameters: `undefined` left out, numbers and booleans as text. */
export function queryParams(query: Record<string, string | number | boolean | undefined> = {}): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params[key] = String(value);
  return params;
}

/**
 * How an HR system's HTTP status is classified (BambooHR, HiBob, Workday): 429, or 503 with `Retry-After`, is a rate
 * limit; 401/403 credentials; 404 not found; 409 conflict; 408 and 5xx (but 501) transient; anything else a request
 * a person must fix.
 */
export function classifyHrisStatus(status: number, retryAfter: string | undefined): ConnectorErrorType {
  if (status === 429 || (status === 503 && retryAfter !== undefined)) return 'rate_limited';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 408 || (status >= 500 && status !== 501)) return 'transient';
  return 'invalid_request';
}

/** `what` names the call in error messages, e.g. "okta: GET /Users". */
export async function requestText(systemId: string, what: string, r: HttpTextRequest): Promise<HttpTextResponse> {
  // A rate-limited system's pace (src/activities/rate-limit.ts); immediate for every other system.
  await awaitRequestTurn(systemId);
  try {
    const response = await axios.request<string>({
      method: r.method,
      url: r.url,
      params: r.params,
      headers: r.headers,
      data: r.body === undefined ? undefined : JSON.stringify(r.body),
      timeout: r.timeoutMs,
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
      maxRedirects: 0,
    });
    return {
      status: response.status,
      text: typeof response.data === 'string' ? response.data : '',
      header: (name) => {
        const value: unknown = response.headers[name];
        return typeof value === 'string' ? value : undefined;
      },
    };
  } catch (err: unknown) {
    // Only the error's code: never the request config, nor a message (it can quote the URL and its query).
    const code = axios.isAxiosError(err) ? err.code : (err as { code?: unknown } | undefined)?.code;
    const type: ConnectorErrorType =
      code === 'ERR_INVALID_URL' || code === 'ERR_BAD_OPTION' || code === 'ERR_BAD_OPTION_VALUE'
        ? 'invalid_request'
        : 'transient';
    const named = typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? code : 'network error';
    throw new ConnectorError(type, `${what} failed: ${named}`, { systemId });
  }
}
