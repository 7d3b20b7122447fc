/**
 * The one place the Workday connector talks HTTP: Report-as-a-Service (RaaS) reads over HTTPS, HTTP Basic with an
 * integration system user. Every failure leaves here as a `ConnectorError`, classified like every connector's:
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
 * Workday's JSON error bodies carry an `error` string; it is quoted (as `details.vendorCode`) only when it looks
 * like a code, never as free text. Messages carry the system id, method and the report's path; never the
 * password, the query (prompts can hold names) or a response body.
 */
import { classifyHrisStatus, requestText } from '../../http';
import { ConnectorError } from '../../identity';
import { parseRetryAfter } from '../../scim/transport';

export const WORKDAY_DEFAULT_TIMEOUT_MS = 60_000;

export interface WorkdayTransportConfig {
  /** Tenure's id for the system, used in error messages. @default "workday" */
  systemId?: string;
  /** Integration system user name (Basic-auth user name, e.g. `ISU_Tenure` or `ISU_Tenure@acme`). */
  username: string;
  /** Its password. Read from the environment; never logged. */
  password: string;
  /** Whole-request timeout in milliseconds; a RaaS report answers in one response. @default 60000 */
  timeoutMs?: number;
}

export interface WorkdayResponse {
  status: number;
  body: unknown;
}

const VENDOR_CODE = /^[A-Za-z0-9_.:-]{1,64}$/;

function vendorCodeOf(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as unknown;
    if (typeof body !== 'object' || body === null) return undefined;
    const code = (body as { error?: unknown }).error;
    return typeof code === 'string' && VENDOR_CODE.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}

/** `GET <url>?format=json&…` — resolves with a 2xx JSON answer only; everything else throws `ConnectorError`. */
export async function workdayGet(
  config: WorkdayTransportConfig,
  url: string,
  query: Record<string, string>,
): Promise<WorkdayResponse> {
  const systemId = config.systemId ?? 'workday';
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    throw new ConnectorError('invalid_request', `${systemId}: the report URL is not a URL`, { systemId });
  }
  const what = `${systemId}: GET ${path}`;
  const response = await requestText(systemId, what, {
    method: 'GET',
    url,
    params: query,
    headers: {
      Accept: 'application/json',
      Authorization: `Basic ${Buffer.from(`${config.username}:${config.password}`).toString('base64')}`,
    },
    timeoutMs: config.timeoutMs ?? WORKDAY_DEFAULT_TIMEOUT_MS,
  });
  const { status, text } = response;
  if (status >= 200 && status < 300) {
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
  const retryAfterMs = parseRetryAfter(retryAfter);
  if (retryAfterMs !== undefined) details.retryAfterMs = retryAfterMs;
  const vendorCode = vendorCodeOf(text);
  if (vendorCode !== undefined) details.vendorCode = vendorCode;
  const message =
    `${what} -> ${status}` +
    (vendorCode ? ` (${vendorCode})` : '') +
    (status >= 300 && status < 400 ? ': unexpected redirect' : '');
  throw new ConnectorError(type, message, details);
}
