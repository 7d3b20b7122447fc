/**
 * Credentials for the Okta Management API.
 *
 * - SSWS: `Authorization: SSWS <API token>`.
 * - OAuth 2.0 client credentials with `private_key_jwt` client authentication (RFC 7523): the service app signs a
 *   short-lived RS256 JWT (`iss` = `sub` = client id, `aud` = the token endpoint, `jti`, `iat`, `exp`) with its
 *   private key and trades it at `{orgUrl}/oauth2/v1/token` for an access token, sent as `Authorization: Bearer`.
 *   The token is cached until shortly before it expires; a 401 drops it (transport.ts). DPoP is not used.
 *
 * Errors are `ConnectorError`s: the token endpoint's OAuth `error` code (never its `error_description`, nor the
 * assertion, nor the key) is the vendor code.
 */
import { createPrivateKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import { ConnectorError, type ConnectorErrorType } from '../identity';
import { parseRateLimitReset, parseRetryAfter } from '../scim/transport';
import type { OktaAuth } from './transport';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Lifetime of a client assertion: Okta accepts at most one hour; five minutes is plenty. */
const ASSERTION_LIFETIME_S = 300;
/** Refresh an access token this long before it expires. */
const EXPIRY_MARGIN_MS = 60_000;

export function sswsAuth(token: string): OktaAuth {
  return {
    authorization: () => Promise.resolve({ header: `SSWS ${token}`, fresh: true }),
    invalidate: () => undefined,
  };
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** An RS256-signed client assertion JWT for `private_key_jwt` (RFC 7523 §2.2). */
export function clientAssertion(
  opts: { clientId: string; audience: string; privateKey: KeyObject | string; keyId?: string },
  nowMs: number = Date.now(),
): string {
  const iat = Math.floor(nowMs / 1000);
  const header = { alg: 'RS256', typ: 'JWT', ...(opts.keyId ? { kid: opts.keyId } : {}) };
  const payload = {
    iss: opts.clientId,
    sub: opts.clientId,
    aud: opts.audience,
    iat,
    exp: iat + ASSERTION_LIFETIME_S,
    jti: randomUUID(),
  };
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  const signature = sign('sha256', Buffer.from(input), opts.privateKey);
  return `${input}.${base64url(signature)}`;
}

export interface OAuthOptions {
  systemId: string;
  clientId: string;
  /** PEM. */
  privateKeyPem: string;
  keyId?: string;
  scopes: string[];
  tokenUrl: string;
  timeoutMs: number;
}

function tokenErrorType(status: number): ConnectorErrorType {
  if (status === 429) return 'rate_limited';
  if (status === 408 || (status >= 500 && status !== 501)) return 'transient';
  // invalid_client, invalid_grant, invalid_scope, unauthorized_client: the app's registration or key is wrong.
  if (status === 400 || status === 401 || status === 403) return 'unauthorized';
  return 'invalid_request';
}

/** OAuth 2.0 client credentials with private_key_jwt; one access token shared by every request until it expires. */
export function oauthAuth(opts: OAuthOptions): OktaAuth {
  let key: KeyObject;
  try {
    key = createPrivateKey(opts.privateKeyPem);
  } catch {
    throw new Error(`system "${opts.systemId}": the Okta private key is not a readable PEM private key`);
  }
  if (key.asymmetricKeyType !== 'rsa')
    throw new Error(`system "${opts.systemId}": the Okta private key must be an RSA key (RS256)`);
  let cached: { token: string; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;
  const what = `${opts.systemId}: POST /oauth2/v1/token`;

  async function fetchToken(): Promise<string> {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      scope: opts.scopes.join(' '),
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: clientAssertion({
        clientId: opts.clientId,
        audience: opts.tokenUrl,
        privateKey: key,
        ...(opts.keyId ? { keyId: opts.keyId } : {}),
      }),
    });
    let response: Response;
    try {
      response = await fetch(opts.tokenUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body: form.toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
    } catch (err: unknown) {
      const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause?.code;
      const name = (err as { name?: unknown } | undefined)?.name;
      const code = typeof cause === 'string' ? cause : name === 'TimeoutError' ? 'ETIMEDOUT' : 'network error';
      throw new ConnectorError(
        'transient',
        `${what} failed: ${/^[A-Za-z0-9_]{1,40}$/.test(code) ? code : 'network error'}`,
        {
          systemId: opts.systemId,
        },
      );
    }
    const text = await response.text().catch(() => '');
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    const status = response.status;
    if (status === 200) {
      const b = body as { access_token?: unknown; token_type?: unknown; expires_in?: unknown } | undefined;
      if (typeof b?.access_token !== 'string' || b.access_token === '' || !/^bearer$/i.test(String(b.token_type))) {
        throw new ConnectorError('invalid_request', `${what} -> 200: no Bearer access_token in the answer`, {
          systemId: opts.systemId,
          status,
        });
      }
      const lifetimeMs = (typeof b.expires_in === 'number' && b.expires_in > 0 ? b.expires_in : 3600) * 1000;
      cached = {
        token: b.access_token,
        expiresAt: Date.now() + Math.max(lifetimeMs - EXPIRY_MARGIN_MS, lifetimeMs / 2),
      };
      return b.access_token;
    }
    const error = (body as { error?: unknown } | undefined)?.error;
    const code = typeof error === 'string' && /^[a-z_]{1,40}$/.test(error) ? error : undefined;
    const type = tokenErrorType(status);
    const details: ConnectorError['details'] = { systemId: opts.systemId, status };
    if (code) details.vendorCode = code;
    const retryAfterMs =
      parseRetryAfter(response.headers.get('retry-after') ?? undefined) ??
      (type === 'rate_limited'
        ? parseRateLimitReset(response.headers.get('x-rate-limit-reset') ?? undefined)
        : undefined);
    if (retryAfterMs !== undefined) details.retryAfterMs = retryAfterMs;
    throw new ConnectorError(type, `${what} -> ${status}${code ? ` (${code})` : ''}`, details);
  }

  return {
    async authorization() {
      if (cached && cached.expiresAt > Date.now()) return { header: `Bearer ${cached.token}`, fresh: false };
      pending ??= fetchToken().finally(() => {
        pending = undefined;
      });
      return { header: `Bearer ${await pending}`, fresh: true };
    },
    invalidate() {
      cached = undefined;
    },
  };
}
