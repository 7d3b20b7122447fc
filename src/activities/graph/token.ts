/**
 * Client-credentials tokens for Microsoft Graph (Microsoft identity platform, OAuth 2.0 client credentials grant):
 * `POST {authority}/{tenant}/oauth2/v2.0/token` with a form body `client_id`, `client_secret`,
 * `scope=https://graph.microsoft.com/.default`, `grant_type=client_credentials`; the answer is
 * `{ token_type: "Bearer", expires_in, access_token }`. The token is cached until shortly before it expires.
 *
 * Failures leave as `ConnectorError`s with the OAuth `error` and the `AADSTS…` number as the vendor code, never the
 * `error_description` (it can quote the client id and tenant), the secret or the token:
 * 401 / `invalid_client` / `unauthorized_client` → `unauthorized`; other 400s → `invalid_request` (the tenant,
 * scope or grant in the policy is wrong); 429 → `rate_limited`; 408 / 5xx / network → `transient`.
 */
import { ConnectorError, type ConnectorErrorType } from '../identity';
import { awaitRequestTurn } from '../rate-limit';
import { parseRetryAfter } from '../scim/transport';

export interface GraphTokenConfig {
  systemId: string;
  /** e.g. `https://login.microsoftonline.com` (a trailing slash is ignored). */
  authorityUrl: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** e.g. `https://graph.microsoft.com/.default`. */
  scope: string;
  timeoutMs: number;
}

/** A token in hand, and whether it was fetched for this very request (a rejection of a fresh token is final). */
export interface GraphToken {
  value: string;
  fresh: boolean;
}

/** A token is renewed this long before it expires, or at half its life when that is shorter. */
export const TOKEN_RENEW_MARGIN_MS = 5 * 60_000;

interface Cached {
  value: string;
  renewAt: number;
}

function oauthCode(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { error, error_codes } = body as { error?: unknown; error_codes?: unknown };
  const parts: string[] = [];
  if (typeof error === 'string' && /^[a-z_]{1,64}$/.test(error)) parts.push(error);
  const first = Array.isArray(error_codes) ? (error_codes[0] as unknown) : undefined;
  if (typeof first === 'number' && Number.isInteger(first)) parts.push(`AADSTS${first}`);
  return parts.length > 0 ? parts.join('/') : undefined;
}

export class GraphTokenSource {
  private cached: Cached | undefined;
  private pending: Promise<string> | undefined;

  constructor(
    private readonly config: GraphTokenConfig,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cached token, or a new one when there is none or it is about to expire. */
  async token(): Promise<GraphToken> {
    const cached = this.cached;
    if (cached && this.now() < cached.renewAt) return { value: cached.value, fresh: false };
    this.pending ??= this.fetchToken().finally(() => {
      this.pending = undefined;
    });
    return { value: await this.pending, fresh: true };
  }

  /** Forget a token Graph rejected, so the next request fetches another. */
  invalidate(value: string): void {
    if (this.cached?.value === value) this.cached = undefined;
  }

  private async fetchToken(): Promise<string> {
    const { systemId } = this.config;
    const path = `/${encodeURIComponent(this.config.tenantId)}/oauth2/v2.0/token`;
    const what = `${systemId}: POST {authority}/{tenant}/oauth2/v2.0/token`;
    const form = new URLSearchParams({
      client_id: this.config.clientId,
      scope: this.config.scope,
      client_secret: this.config.clientSecret,
      grant_type: 'client_credentials',
    });
    await awaitRequestTurn(systemId);
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.config.authorityUrl.replace(/\/+$/, '') + path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body: form.toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
      text = await response.text();
    } catch (err) {
      // Only a code: a fetch error's message or cause can quote the URL.
      const name = (err as { name?: unknown } | undefined)?.name;
      const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause?.code;
      const code =
        name === 'TimeoutError' || name === 'AbortError'
          ? 'ETIMEDOUT'
          : typeof cause === 'string' && /^[A-Z0-9_]{1,40}$/.test(cause)
            ? cause
            : 'network error';
      throw new ConnectorError('transient', `${what} failed: ${code}`, { systemId });
    }
    let body: unknown;
    try {
      body = text.trim() === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    const { status } = response;
    if (status === 200) {
      const { access_token, expires_in } = (body ?? {}) as { access_token?: unknown; expires_in?: unknown };
      const lifetimeS = typeof expires_in === 'string' ? Number(expires_in) : expires_in;
      if (
        typeof access_token !== 'string' ||
        access_token === '' ||
        typeof lifetimeS !== 'number' ||
        !(lifetimeS > 0)
      ) {
        throw new ConnectorError('invalid_request', `${what} -> 200: not a token response`, { systemId, status });
      }
      const lifetimeMs = lifetimeS * 1000;
      this.cached = {
        value: access_token,
        renewAt: this.now() + lifetimeMs - Math.min(TOKEN_RENEW_MARGIN_MS, lifetimeMs / 2),
      };
      return access_token;
    }
    const vendorCode = oauthCode(body);
    const error = vendorCode?.split('/')[0];
    const type: ConnectorErrorType =
      status === 429
        ? 'rate_limited'
        : status === 401 || status === 403 || error === 'invalid_client' || error === 'unauthorized_client'
          ? 'unauthorized'
          : status === 408 || (status >= 500 && status !== 501)
            ? 'transient'
            : 'invalid_request';
    const details: ConnectorError['details'] = { systemId, status };
    if (vendorCode !== undefined) details.vendorCode = vendorCode;
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after') ?? undefined);
    if (retryAfterMs !== undefined) details.retryAfterMs = retryAfterMs;
    throw new ConnectorError(type, `${what} -> ${status}${vendorCode ? ` (${vendorCode})` : ''}`, details);
  }
}
