import { ErrorCode, WebClient } from '@slack/web-api';
import { ConnectorError } from '../identity';

export interface SlackSettings {
  /** Bot token (secret; from the environment). */
  token: string;
  /** Web API base, e.g. https://slack.com/api/ — a local stand-in in tests. */
  apiUrl?: string;
  /** @default 10000 */
  timeoutMs?: number;
}

/**
 * The one transport to Slack: `@slack/web-api` with no client retries and rate-limited calls rejected,
 * so Temporal owns retries; every error becomes a classified ConnectorError.
 */
export function createSlackClient(s: SlackSettings): WebClient {
  return new WebClient(s.token, {
    slackApiUrl: s.apiUrl,
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    timeout: s.timeoutMs ?? 10_000,
  });
}

export async function slackCall<T>(systemId: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw toConnectorError(systemId, err);
  }
}

interface SlackError {
  code?: string;
  data?: { error?: string };
  retryAfter?: number;
  statusCode?: number;
  message?: string;
}

function toConnectorError(systemId: string, err: unknown): ConnectorError {
  const e = (err ?? {}) as SlackError;
  switch (e.code) {
    case ErrorCode.RateLimitedError:
      return new ConnectorError('rate_limited', 'Slack rate limited the call', {
        systemId,
        status: 429,
        retryAfterMs: (e.retryAfter ?? 1) * 1000,
      });
    case ErrorCode.PlatformError: {
      const code = e.data?.error ?? 'unknown_error';
      const auth = ['invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'missing_scope'];
      const type = auth.includes(code) ? 'unauthorized' : code === 'users_not_found' ? 'not_found' : 'invalid_request';
      const vendorCode = /^[a-z0-9_]{1,64}$/.test(code) ? code : 'unknown_error';
      return new ConnectorError(type, `Slack answered ${vendorCode}`, { systemId, vendorCode });
    }
    case ErrorCode.HTTPError:
      return new ConnectorError(
        e.statusCode !== undefined && e.statusCode < 500 ? 'invalid_request' : 'transient',
        `Slack HTTP ${e.statusCode ?? '?'}`,
        { systemId, status: e.statusCode },
      );
    default:
      // The message of a request error can quote the request: only its code.
      return new ConnectorError('transient', `Slack request failed: ${e.code ?? 'network error'}`, { systemId });
  }
}
