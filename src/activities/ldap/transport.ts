/**
 * The one place the LDAP connector talks to the directory. Every failure leaves {@link ldapCall} as a
 * `ConnectorError`:
 *
 * | what happened                                                               | type              |
 * |-----------------------------------------------------------------------------|-------------------|
 * | connection refused/reset/closed, socket error, operation or connect timeout | `transient`       |
 * | 1 operationsError, 3 timeLimitExceeded, 52 unavailable, 80 other            | `transient`       |
 * | 51 busy (LDAP has no 429: the directory shedding load is the closest match)  | `rate_limited`    |
 * | 7, 8, 13, 48 (auth method / strong auth / confidentiality / inappropriate)  | `unauthorized`    |
 * | 49 invalidCredentials, 50 insufficientAccessRights                          | `unauthorized`    |
 * | 32 noSuchObject                                                             | `not_found`       |
 * | 68 entryAlreadyExists, 20 attributeOrValueExists                            | `conflict`        |
 * | 10 referral, 4 sizeLimitExceeded, 11 adminLimitExceeded, schema/syntax/DN   | `invalid_request` |
 * | errors, 53 unwillingToPerform, anything else                                | `invalid_request` |
 * | a TLS certificate that does not verify                                      | `invalid_request` |
 *
 * LDAP carries no retry-after, so `rate_limited` has no `retryAfterMs`: Temporal's backoff applies.
 * adminLimitExceeded is a configured limit the request broke (slapd answers it to a page size above `size.pr`; AD to
 * too many values in one modify): the same request fails again, so it stops as `invalid_request`.
 * Messages carry the system id, the LDAP operation, the result code's name and number and, for Active Directory,
 * the Win32 error code that leads AD's diagnostic message (`0000052D`, or `80090308` with the bind's `data 52e`) in
 * `details.vendorCode`; never a DN (it names the person), a filter, an attribute value, the bind password or the
 * diagnostic text.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { Attribute, Change, Control, Entry, Filter } from 'ldapts';
import { Client, ResultCodeError } from 'ldapts';
import { ConnectorError, type ConnectorErrorType } from '../identity';

export interface LdapTransportConfig {
  systemId: string;
  /** `ldap://host:port` or `ldaps://host:port`. */
  url: string;
  /** Upgrade `ldap://` with StartTLS before binding. */
  startTls: boolean;
  /** PEM of the CA that signed the directory's certificate; default: Node's CA store. */
  tlsCa?: string;
  bindDn: string;
  bindPassword: string;
  /** Connect, StartTLS, bind and each request, in milliseconds. */
  timeoutMs: number;
}

export type LdapOperation = 'connect' | 'startTLS' | 'bind' | 'search' | 'add' | 'modify' | 'modifyDN' | 'delete';

/** LDAP result codes (RFC 4511 §4.1.9) by number, for messages. */
const RESULT_NAMES: Record<number, string> = {
  1: 'operationsError',
  2: 'protocolError',
  3: 'timeLimitExceeded',
  4: 'sizeLimitExceeded',
  7: 'authMethodNotSupported',
  8: 'strongerAuthRequired',
  10: 'referral',
  11: 'adminLimitExceeded',
  12: 'unavailableCriticalExtension',
  13: 'confidentialityRequired',
  16: 'noSuchAttribute',
  17: 'undefinedAttributeType',
  18: 'inappropriateMatching',
  19: 'constraintViolation',
  20: 'attributeOrValueExists',
  21: 'invalidAttributeSyntax',
  32: 'noSuchObject',
  34: 'invalidDNSyntax',
  48: 'inappropriateAuthentication',
  49: 'invalidCredentials',
  50: 'insufficientAccessRights',
  51: 'busy',
  52: 'unavailable',
  53: 'unwillingToPerform',
  54: 'loopDetect',
  64: 'namingViolation',
  65: 'objectClassViolation',
  66: 'notAllowedOnNonLeaf',
  67: 'notAllowedOnRDN',
  68: 'entryAlreadyExists',
  69: 'objectClassModsProhibited',
  71: 'affectsMultipleDSAs',
  80: 'other',
};

/** How a result code is classified; see the table above. */
export function classifyResultCode(code: number): ConnectorErrorType {
  switch (code) {
    case 1:
    case 3:
    case 52:
    case 80:
      return 'transient';
    case 51:
      return 'rate_limited';
    case 7:
    case 8:
    case 13:
    case 48:
    case 49:
    case 50:
      return 'unauthorized';
    case 32:
      return 'not_found';
    case 20:
    case 68:
      return 'conflict';
    default:
      return 'invalid_request';
  }
}

/**
 * Active Directory's error code in a diagnostic message, never its text: AD writes
 * `0000052D: AtrErr: DSID-03190F80, #1: ...` or, on a failed bind,
 * `80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563`.
 */
export function adErrorCode(diagnostic: string): string | undefined {
  const lead = /^\s*([0-9A-Fa-f]{8}):/.exec(diagnostic)?.[1];
  if (!lead) return undefined;
  const data = /\bdata ([0-9A-Fa-f]{1,8})\b/.exec(diagnostic)?.[1];
  return data ? `${lead.toUpperCase()}/data ${data.toLowerCase()}` : lead.toUpperCase();
}

/** Network and client-side failures that mean "the request may or may not have been applied: try again". */
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const TRANSIENT_CLIENT_MESSAGES = [
  /Operation timed out/,
  /^Connection timeout/,
  /^Connection closed before message response/,
  /^Socket error/,
  /^Socket connection not established/,
];

/** Turn anything an ldapts call threw into a classified `ConnectorError` (a `ConnectorError` passes through). */
export function toConnectorError(systemId: string, operation: LdapOperation, err: unknown): ConnectorError {
  if (err instanceof ConnectorError) return err;
  const what = `${systemId}: LDAP ${operation}`;
  if (err instanceof ResultCodeError) {
    const name = RESULT_NAMES[err.code] ?? 'resultCode';
    const vendorCode = adErrorCode(err.message);
    const details: ConnectorError['details'] = { systemId, status: err.code };
    if (vendorCode !== undefined) details.vendorCode = vendorCode;
    return new ConnectorError(
      classifyResultCode(err.code),
      `${what} -> ${name} (${err.code})${vendorCode ? ` [${vendorCode}]` : ''}`,
      details,
    );
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Z0-9_]{2,64}$/.test(code)) {
    // Node's network errors are retried; a certificate that does not verify is configuration, not luck.
    const type: ConnectorErrorType = TRANSIENT_NETWORK_CODES.has(code) ? 'transient' : 'invalid_request';
    return new ConnectorError(type, `${what} -> ${code}`, { systemId, vendorCode: code });
  }
  const message = err instanceof Error ? err.message : '';
  if (TRANSIENT_CLIENT_MESSAGES.some((re) => re.test(message))) {
    const reason = /timed? ?out/i.test(message) ? 'timeout' : 'connection lost';
    return new ConnectorError('transient', `${what} -> ${reason}`, { systemId });
  }
  // A client-side refusal (a filter or DN the library will not encode): the same request fails again.
  return new ConnectorError(
    'invalid_request',
    `${what} -> client error (${err instanceof Error ? err.name : typeof err})`,
    { systemId },
  );
}

/** Run one LDAP operation; every failure becomes a classified `ConnectorError`. */
export async function ldapCall<T>(systemId: string, operation: LdapOperation, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toConnectorError(systemId, operation, err);
  }
}

export interface SearchParams {
  scope: 'base' | 'one' | 'sub';
  filter: Filter;
  attributes: string[];
  /** Attributes returned as Buffers (`objectGUID`). */
  binary?: string[];
}

/** A bound connection; closed by {@link withLdapSession}. Every method goes through {@link ldapCall}. */
export class LdapSession {
  constructor(
    private readonly systemId: string,
    private readonly client: Client,
  ) {}

  async search(base: string, params: SearchParams): Promise<Entry[]> {
    const { searchEntries } = await ldapCall(this.systemId, 'search', () =>
      this.client.search(base, {
        scope: params.scope,
        filter: params.filter,
        attributes: params.attributes,
        explicitBufferAttributes: params.binary ?? [],
      }),
    );
    return searchEntries;
  }

  /** A subtree search with the paged-results control (RFC 2696), one page at a time. */
  async *searchPaged(base: string, params: SearchParams, pageSize: number): AsyncGenerator<Entry[]> {
    const pages = this.client.searchPaginated(base, {
      scope: params.scope,
      filter: params.filter,
      attributes: params.attributes,
      explicitBufferAttributes: params.binary ?? [],
      paged: { pageSize },
    });
    for (;;) {
      const next = await ldapCall(this.systemId, 'search', () => pages.next());
      if (next.done) return;
      yield next.value.searchEntries;
    }
  }

  add(dn: string, attributes: Attribute[] | Record<string, string[] | string>): Promise<void> {
    return ldapCall(this.systemId, 'add', () => this.client.add(dn, attributes));
  }

  modify(dn: string, changes: Change[], controls?: Control[]): Promise<void> {
    return ldapCall(this.systemId, 'modify', () => this.client.modify(dn, changes, controls));
  }

  modifyDN(dn: string, newDn: string): Promise<void> {
    return ldapCall(this.systemId, 'modifyDN', () => this.client.modifyDN(dn, newDn));
  }

  del(dn: string): Promise<void> {
    return ldapCall(this.systemId, 'delete', () => this.client.del(dn));
  }
}

/** TLS options: the configured CA, else Node's store; the certificate must match the URL's host. */
function tlsOptions(config: LdapTransportConfig): ConnectionOptions {
  const host = new URL(config.url).hostname.replace(/^\[|\]$/g, '');
  return {
    ...(config.tlsCa ? { ca: [config.tlsCa] } : {}),
    // SNI takes host names only; the certificate is checked against the host either way.
    ...(isIP(host) ? {} : { servername: host }),
    host,
    minVersion: 'TLSv1.2',
  };
}

/** Reads the CA file named in the policy (at connector build time, not per call). */
export function readCa(path: string | undefined): string | undefined {
  return path === undefined ? undefined : readFileSync(path, 'utf8');
}

/** A bound session and the way to end it. */
export interface OpenLdapSession {
  session: LdapSession;
  close: () => Promise<void>;
}

/** Connect (StartTLS when asked) and bind as the service account; the caller must `close()`. */
export async function openLdapSession(config: LdapTransportConfig): Promise<OpenLdapSession> {
  const secure = config.url.startsWith('ldaps:');
  const client = new Client({
    url: config.url,
    timeout: config.timeoutMs,
    connectTimeout: config.timeoutMs,
    ...(secure ? { tlsOptions: tlsOptions(config) } : {}),
    strictDN: true,
  });
  const close = () => client.unbind().catch(() => undefined);
  try {
    if (config.startTls) await ldapCall(config.systemId, 'startTLS', () => client.startTLS(tlsOptions(config)));
    await ldapCall(config.systemId, 'bind', () => client.bind(config.bindDn, config.bindPassword));
  } catch (err) {
    await close();
    throw err;
  }
  return { session: new LdapSession(config.systemId, client), close };
}

/**
 * Open a session, run `fn`, unbind. A connection per activity: nothing to keep alive between Temporal's attempts,
 * and a connection that timed out is never reused.
 */
export async function withLdapSession<T>(
  config: LdapTransportConfig,
  fn: (session: LdapSession) => Promise<T>,
): Promise<T> {
  const { session, close } = await openLdapSession(config);
  try {
    return await fn(session);
  } finally {
    await close();
  }
}

export type { Attribute, Entry };
