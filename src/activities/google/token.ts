/**
 * Access tokens for the Admin SDK through a service account with domain-wide delegation: Google's documented
 * JWT bearer grant ("Using OAuth 2.0 for Server to Server Applications"). The connector signs a JWT with RS256 —
 * `iss` the service account's `client_email`, `sub` the admin it acts as, `scope` the scopes it needs, `aud` the token
 * endpoint, `iat`/`exp` one hour apart — and POSTs it as
 * `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<jwt>`. The access token is cached until shortly
 * before it expires. No retries here: a failure is a classified `ConnectorError` and Temporal retries.
 * Messages never carry the key, the assertion, the token or the endpoint's `error_description`.
 */
import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { ConnectorError, type ConnectorErrorType } from '../identity';

/** Google's token endpoint, when neither the policy nor the key names one. */
export const DEFAULT_TOKEN_URL = 'https://oauth2.googleapis.com/token';
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** Scopes the connector asks for (each must be granted to the service account's client id in the Admin console). */
export const GOOGLE_SCOPES = [
  'https://www.googleapis.com/auth/admin.directory.user',
  'https://www.googleapis.com/auth/admin.directory.user.security',
  'https://www.googleapis.com/auth/admin.directory.group.member',
  'https://www.googleapis.com/auth/admin.directory.group.readonly',
  'https://www.googleapis.com/auth/admin.datatransfer',
] as const;

/** An assertion's lifetime: Google accepts at most one hour. */
const ASSERTION_LIFETIME_S = 3600;
/** A cached token is replaced this long before Google says it expires. */
const REFRESH_MARGIN_MS = 5 * 60_000;

const keySchema = z.looseObject({
  client_email: z.string().min(3),
  private_key: z.string().min(1),
  token_uri: z.url().optional(),
});

export interface ServiceAccountKey {
  clientEmail: string;
  privateKey: KeyObject;
  tokenUri?: string;
}

/**
 * The service account's JSON key, as the environment holds it. Throws a plain `Error` naming what is wrong — never
 * the key's content — at worker start, where a bad secret must stop the worker.
 */
export function parseServiceAccountKey(json: string, what: string): ServiceAccountKey {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error(`${what}: the service account key is not JSON`);
  }
  const parsed = keySchema.safeParse(raw);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || 'key'))].join(', ');
    throw new Error(`${what}: the service account key lacks or has a malformed ${fields}`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(parsed.data.private_key);
  } catch {
    throw new Error(`${what}: the service account key's private_key is not a PEM private key`);
  }
  if (privateKey.asymmetricKeyType !== 'rsa') throw new Error(`${what}: the service account key is not an RSA key`);
  return {
    clientEmail: parsed.data.client_email,
    privateKey,
    ...(parsed.data.token_uri ? { tokenUri: parsed.data.token_uri } : {}),
  };
}

function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

export interface AssertionClaims {
  iss: string;
  sub: string;
  scope: string;
  aud: string;
  iat: number;
  exp: number;
}

/** The signed JWT (RS256) Google's token endpoint takes as `assertion`. */
export function signAssertion(key: KeyObject, claims: AssertionClaims): string {
  const input = `${base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }))}.${base64url(JSON.stringify(claims))}`;
  return `${input}.${base64url(sign('RSA-SHA256', Buffer.from(input), key))}`;
}

export interface TokenSourceOptions {
  systemId: string;
  key: ServiceAccountKey;
  /** The admin impersonated (JWT `sub`). */
  subject: string;
  /** @default the key's token_uri, else {@link DEFAULT_TOKEN_URL} */
  tokenUrl?: string;
  scopes?: readonly string[];
  timeoutMs: number;
  /** Injected clock, for tests. @default Date.now */
  now?: () => number;
}

const tokenResponseSchema = z.looseObject({
  access_token: z.string().min(1),
  expires_in: z.coerce.number().positive(),
  token_type: z.string().optional(),
});

/** An OAuth error code (RFC 6749 §5.2: `invalid_grant`, `unauthorized_client`, …): a code, never the description. */
function oauthErrorCode(text: string): string | undefined {
  try {
    const { error } = JSON.parse(text) as { error?: unknown };
    return typeof error === 'string' && /^[a-z_]{1,40}$/.test(error) ? error : undefined;
  } catch {
    return undefined;
  }
}

/** Gets and caches access tokens for one service account acting as one admin. */
export class GoogleTokenSource {
  readonly tokenUrl: string;
  private cached: { token: string; refreshAt: number } | undefined;
  private pending: Promise<string> | undefined;
  private readonly now: () => number;

  constructor(private readonly options: TokenSourceOptions) {
    this.tokenUrl = options.tokenUrl ?? options.key.tokenUri ?? DEFAULT_TOKEN_URL;
    this.now = options.now ?? Date.now;
  }

  /** True when the next `token()` will be served from the cache. */
  get hasCachedToken(): boolean {
    return this.cached !== undefined && this.now() < this.cached.refreshAt;
  }

  /** A valid access token: the cached one, or a new one from the token endpoint. */
  async token(): Promise<string> {
    if (this.cached && this.now() < this.cached.refreshAt) return this.cached.token;
    // One request at a time: concurrent callers share it.
    this.pending ??= this.fetchToken().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** Forget the cached token (the API refused it): the next call gets a new one. */
  invalidate(token?: string): void {
    if (token === undefined || this.cached?.token === token) this.cached = undefined;
  }

  private async fetchToken(): Promise<string> {
    const { systemId, key, subject } = this.options;
    const what = `${systemId}: POST token endpoint`;
    const iat = Math.floor(this.now() / 1000);
    const assertion = signAssertion(key.privateKey, {
      iss: key.clientEmail,
      sub: subject,
      scope: (this.options.scopes ?? GOOGLE_SCOPES).join(' '),
      aud: this.tokenUrl,
      iat,
      exp: iat + ASSERTION_LIFETIME_S,
    });
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion }).toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      text = await response.text();
    } catch (err) {
      const name = (err as { name?: unknown } | undefined)?.name;
      const code = (err as { cause?: { code?: unknown } } | undefined)?.cause?.code;
      const named =
        name === 'TimeoutError'
          ? 'timeout'
          : typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code)
            ? code
            : 'network error';
      throw new ConnectorError('transient', `${what} failed: ${named}`, { systemId });
    }
    const status = response.status;
    if (status >= 200 && status < 300) {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      const parsed = tokenResponseSchema.safeParse(body);
      if (
        !parsed.success ||
        (parsed.data.token_type !== undefined && parsed.data.token_type.toLowerCase() !== 'bearer')
      ) {
        throw new ConnectorError('invalid_request', `${what} -> ${status}: the answer is not a bearer token`, {
          systemId,
          status,
        });
      }
      const lifetimeMs = parsed.data.expires_in * 1000;
      this.cached = {
        token: parsed.data.access_token,
        refreshAt: this.now() + Math.max(lifetimeMs - REFRESH_MARGIN_MS, lifetimeMs / 2),
      };
      return parsed.data.access_token;
    }
    // invalid_grant (bad signature, unknown account, clock skew, no delegation) and unauthorized_client (scopes not
    // granted to the client id) are configuration: a person must fix them, retrying will not.
    const type: ConnectorErrorType =
      status === 429
        ? 'rate_limited'
        : status === 408 || (status >= 500 && status !== 501)
          ? 'transient'
          : status === 400 || status === 401 || status === 403
            ? 'unauthorized'
            : 'invalid_request';
    const vendorCode = oauthErrorCode(text);
    const details: ConnectorError['details'] = { systemId, status };
    if (vendorCode !== undefined) details.vendorCode = vendorCode;
    const retryAfter = response.headers.get('retry-after');
    if (retryAfter !== null && /^\d+$/.test(retryAfter.trim())) details.retryAfterMs = Number(retryAfter.trim()) * 1000;
    throw new ConnectorError(type, `${what} -> ${status}${vendorCode ? ` (${vendorCode})` : ''}`, details);
  }
}
