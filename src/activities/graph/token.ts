/**
 * Client-credentials tokens for Microsoft Graph (Microsoft identity platform, OAuth 2.0 client credentials grant):
 * `POST {authority}/{tenant}/oauth2/v2.0/token` with a form body `client_id`, `client_secret` (or, with a
 * certificate, `client_assertion_type` + a signed `client_assertion`), `scope=https://graph.microsoft.com/.default`,
 * `grant_type=client_credentials`; the answer is
 * `{ token_type: "Bearer", expires_in, access_token }`. The token is cached until shortly before it expires.
 *
 * Failures leave as `ConnectorError`s with the OAuth `error` and the `AADSTS…` number as the vendor code, never the
 * `error_description` (it can quote the client id and tenant), the secret or the token:
 * 401 / `invalid_client` / `unauthorized_client` → `unauthorized`; other 400s → `invalid_request` (the tenant,
 * scope or grant in the policy is wrong); 429 → `rate_limited`; 408 / 5xx / network → `transient`.
 */
import {
  constants,
  createHash,
  createPrivateKey,
  randomUUID,
  sign,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { ConnectorError, type ConnectorErrorType } from '../identity';
import { awaitRequestTurn } from '../rate-limit';
import { parseRetryAfter } from '../scim/transport';

/** How the app proves itself: its client secret, or a client assertion signed with its certificate's key. */
export type GraphCredential =
  { kind: 'secret'; secret: string } | { kind: 'certificate'; certificatePem: string; privateKeyPem: string };

export interface GraphTokenConfig {
  systemId: string;
  /** e.g. `https://login.microsoftonline.com` (a trailing slash is ignored). */
  authorityUrl: string;
  tenantId: string;
  clientId: string;
  credential: GraphCredential;
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

/** A hex certificate thumbprint as a JWT `x5t` / `x5t#S256` header value: its bytes, base64url-encoded. */
export function thumbprintHeader(hex: string): string {
  return Buffer.from(hex.replace(/[^0-9a-f]/gi, ''), 'hex').toString('base64url');
}

/** A loaded certificate credential: the signing key and the header naming the certificate. */
interface Signer {
  key: KeyObject;
  x5tS256: string;
}

/**
 * Reads the PEM certificate and key once, and checks they belong together, so a wrong pair fails when the worker
 * starts rather than at the first hire. Errors name no content.
 */
export function loadCertificateCredential(certificatePem: string, privateKeyPem: string): Signer {
  let cert: X509Certificate;
  let key: KeyObject;
  try {
    cert = new X509Certificate(certificatePem);
  } catch {
    throw new Error('the Graph certificate is not a PEM X.509 certificate');
  }
  try {
    key = createPrivateKey(privateKeyPem);
  } catch {
    throw new Error('the Graph private key is not an unencrypted PEM private key');
  }
  if (key.asymmetricKeyType !== 'rsa' || !cert.checkPrivateKey(key)) {
    throw new Error('the Graph private key is not the RSA key of the certificate');
  }
  return { key, x5tS256: thumbprintHeader(createHash('sha256').update(cert.raw).digest('hex')) };
}

export class GraphTokenSource {
  private cached: Cached | undefined;
  private pending: Promise<string> | undefined;
  private readonly signer: Signer | undefined;

  constructor(
    private readonly config: GraphTokenConfig,
    private readonly now: () => number = Date.now,
  ) {
    const c = config.credential;
    this.signer = c.kind === 'certificate' ? loadCertificateCredential(c.certificatePem, c.privateKeyPem) : undefined;
  }

  /**
   * The client assertion Microsoft documents for certificate credentials: a JWT with header `alg: PS256`,
   * `typ: JWT`, `x5t#S256` (the certificate's SHA-256 thumbprint), and claims `aud` (the token endpoint), `iss` and
   * `sub` (the client id), `jti`, `nbf`, `iat`, `exp` (ten minutes), signed RSASSA-PSS with SHA-256.
   */
  private assertion(signer: Signer, tokenUrl: string): string {
    const now = Math.floor(this.now() / 1000);
    const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const header = part({ alg: 'PS256', typ: 'JWT', 'x5t#S256': signer.x5tS256 });
    const claims = part({
      aud: tokenUrl,
      exp: now + 600,
      iss: this.config.clientId,
      jti: randomUUID(),
      nbf: now,
      sub: this.config.clientId,
      iat: now,
    });
    const signature = sign('sha256', Buffer.from(`${header}.${claims}`), {
      key: signer.key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    });
    return `${header}.${claims}.${signature.toString('base64url')}`;
  }

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
    const tokenUrl = this.config.authorityUrl.replace(/\/+$/, '') + path;
    const form = new URLSearchParams({ client_id: this.config.clientId, scope: this.config.scope });
    const credential = this.config.credential;
    if (credential.kind === 'secret') form.set('client_secret', credential.secret);
    else if (this.signer) {
      form.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      form.set('client_assertion', this.assertion(this.signer, tokenUrl));
    }
    form.set('grant_type', 'client_credentials');
    await awaitRequestTurn(systemId);
    let response: Response;
    let text: string;
    try {
      response = await fetch(tokenUrl, {
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
