/**
 * A local stand-in for Microsoft Graph v1.0 and the Microsoft identity platform's token endpoint, following the
 * published request/response shapes (learn.microsoft.com/graph: create/list/get/update/delete user, $filter /
 * $select / $top / @odata.nextLink, manager/$ref, members/$ref, assignLicense, licenseDetails, subscribedSkus,
 * revokeSignInSessions, error responses, throttling) and refusing what Graph refuses:
 *
 * - a request without `Authorization: Bearer <token>`, with another scheme, an unknown or expired token: 401
 *   `InvalidAuthenticationToken`;
 * - unknown ids: 404 `Request_ResourceNotFound`; unknown path segments: 400 `BadRequest`;
 * - malformed JSON, unknown or read-only properties, wrong types, a missing required property, an unverified UPN
 *   domain, a weak password, a too-long employeeId: 400 `Request_BadRequest` (with `details` where Graph gives them);
 * - a taken userPrincipalName: 400 with `details[0].code = ObjectConflict`;
 * - a licence for a user without `usageLocation`, an unknown SKU, a seat too many, removing a licence not held: 400;
 * - unsupported `$filter` expressions: 400 `Request_UnsupportedQuery`; `$top` outside 1..999, unknown `$select`
 *   properties: 400.
 *
 * Faults for tests: `faults.next(n, { status, retryAfter, code })` answers the next matching requests with an error in
 * Graph's body; `faults.delayResponse(n, ms)` does the work and answers late (a timeout after the write).
 * Lives with the tests (test/peers), never in src/.
 */
import { constants, createHash, randomBytes, randomUUID, verify, X509Certificate } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GraphSku {
  skuId: string;
  skuPartNumber: string;
  /** Seats bought. */
  enabled: number;
}

export interface GraphStandinOptions {
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  /** UPN domains the tenant has verified. @default ["acme.example"] */
  domains?: string[];
  /** Lifetime of issued tokens. @default 3599 */
  tokenLifetimeS?: number;
  /** Page size when a list asks for no `$top` (Graph's default for users is 100). @default 100 */
  defaultPageSize?: number;
  /** @default ENTERPRISEPACK (25 seats) and EMS (5 seats) */
  skus?: GraphSku[];
  /**
   * Directory replication: a user created through the API shows up in `$filter` and list queries only this long
   * after its creation (reads by id or UPN see it at once). Graph is eventually consistent. @default 0
   */
  replicationLagMs?: number;
  /**
   * A certificate (PEM) uploaded to the app registration: the token endpoint then also takes a client assertion
   * signed with its key (`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`).
   */
  certificatePem?: string;
}

/** A client assertion the token endpoint received, decoded (header and claims; the signature was checked). */
export interface ReceivedAssertion {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  accepted: boolean;
}

/** A user as the stand-in stores it (Graph property names). */
export interface GraphUserRecord {
  id: string;
  userPrincipalName: string;
  accountEnabled: boolean;
  displayName: string;
  mailNickname: string;
  givenName: string | null;
  surname: string | null;
  mail: string | null;
  jobTitle: string | null;
  department: string | null;
  employeeId: string | null;
  usageLocation: string | null;
  officeLocation: string | null;
  signInSessionsValidFromDateTime: string;
  createdDateTime: string;
  assignedLicenses: { skuId: string; disabledPlans: string[] }[];
  managerId: string | null;
}

export interface GraphGroupRecord {
  id: string;
  displayName: string;
  members: Set<string>;
}

export interface GraphRequestLogEntry {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization?: string;
  contentType?: string;
  body?: unknown;
  status: number;
}

export interface GraphFaultMatch {
  method?: string;
  /** A path (below the origin, no query) the request must match, as a prefix or a regular expression. */
  path?: string | RegExp;
}

export interface GraphStandin {
  url: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  users(): GraphUserRecord[];
  user(id: string): GraphUserRecord | undefined;
  /** Users removed by DELETE (Graph keeps them in deleted items for 30 days). */
  deletedUsers(): GraphUserRecord[];
  /** Put a user in directly, as an admin would; returns its id. */
  seedUser(u: Partial<GraphUserRecord> & { userPrincipalName: string }): string;
  createGroup(displayName: string): string;
  groupMembers(id: string): string[] | undefined;
  /** SKU part numbers the user holds. */
  licences(userId: string): string[];
  skus(): (GraphSku & { consumed: number })[];
  /** A sign-in by the user now: a session (refresh token) issued at this instant. */
  openSession(userId: string): void;
  /** Sessions issued at or after the user's `signInSessionsValidFromDateTime`. */
  activeSessions(userId: string): number;
  /** Token requests answered 200. */
  tokensIssued(): number;
  /** Client assertions received, in order. */
  assertions(): ReceivedAssertion[];
  /** Every issued token stops working (as if revoked or expired early). */
  revokeTokens(): void;
  requests(): GraphRequestLogEntry[];
  faults: {
    next(count: number, spec: GraphFaultMatch & { status: number; retryAfter?: number; code?: string }): void;
    delayResponse(count: number, ms: number, match?: GraphFaultMatch): void;
    /** The next matching writes answer 204 as if done, and change nothing (a write lost behind the answer). */
    dropWrites(count: number, match?: GraphFaultMatch): void;
    /** `revokeSignInSessions` answers 200 but does not move `signInSessionsValidFromDateTime`. */
    staleRevocations(on: boolean): void;
    /** Sets `replicationLagMs` for users created from now on. */
    replicationLag(ms: number): void;
    clear(): void;
  };
  close(): Promise<void>;
}

class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: { code: string; target?: string; message?: string }[],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const bad = (message: string, details?: { code: string; target?: string }[]) =>
  new GraphError(400, 'Request_BadRequest', message, details);
const notFound = (id: string) =>
  new GraphError(
    404,
    'Request_ResourceNotFound',
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );

/** Properties Graph returns for a user when the request names none. */
const DEFAULT_USER_PROPERTIES = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
];
const READABLE_USER_PROPERTIES = new Set([
  ...DEFAULT_USER_PROPERTIES,
  'accountEnabled',
  'employeeId',
  'department',
  'usageLocation',
  'mailNickname',
  'signInSessionsValidFromDateTime',
  'createdDateTime',
  'assignedLicenses',
]);
/** Writable string properties, with Graph's length limits. */
const STRING_PROPERTIES: Record<string, number> = {
  displayName: 256,
  givenName: 64,
  surname: 64,
  jobTitle: 128,
  department: 64,
  mail: 256,
  mailNickname: 64,
  employeeId: 16,
  officeLocation: 128,
  userPrincipalName: 113,
  usageLocation: 2,
};
const WRITABLE_USER_PROPERTIES = new Set([...Object.keys(STRING_PROPERTIES), 'accountEnabled', 'passwordProfile']);
const READ_ONLY_USER_PROPERTIES = new Set([
  'id',
  'createdDateTime',
  'signInSessionsValidFromDateTime',
  'assignedLicenses',
]);

function secondsIso(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function complexEnough(password: string): boolean {
  if (password.length < 8 || password.length > 256) return false;
  const classes = [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((r) => r.test(password)).length;
  return classes >= 3;
}

/** A JWT-shaped opaque token (the stand-in never parses it: it looks tokens up). */
function newToken(): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ typ: 'JWT', alg: 'RS256' })}.${part({ aud: 'https://graph.microsoft.com', n: randomUUID() })}.${randomBytes(32).toString('base64url')}`;
}

/** A user's string property, as `$filter` compares it (null is the empty string). */
function filterable(u: GraphUserRecord, property: string): string {
  const value = (u as unknown as Record<string, unknown>)[property];
  return typeof value === 'string' ? value : '';
}

/** Parses the `$filter` forms the connector and Graph's docs use: `prop eq 'value'` (quotes doubled inside). */
function parseFilter(filter: string, allowed: string[]): { property: string; value: string } {
  const m = /^\s*([A-Za-z]+)\s+eq\s+'((?:[^']|'')*)'\s*$/.exec(filter);
  if (!m || !allowed.includes(m[1] ?? '')) {
    throw new GraphError(400, 'Request_UnsupportedQuery', 'Unsupported or invalid query filter clause specified.');
  }
  return { property: m[1] ?? '', value: (m[2] ?? '').replace(/''/g, "'") };
}

export async function startGraphStandin(opts: GraphStandinOptions = {}): Promise<GraphStandin> {
  const tenantId = opts.tenantId ?? randomUUID();
  const clientId = opts.clientId ?? randomUUID();
  const clientSecret = opts.clientSecret ?? randomBytes(24).toString('base64url');
  const domains = (opts.domains ?? ['acme.example']).map((d) => d.toLowerCase());
  const lifetimeS = opts.tokenLifetimeS ?? 3599;
  const defaultPageSize = opts.defaultPageSize ?? 100;
  const skus: GraphSku[] = opts.skus ?? [
    { skuId: '6fd2c87f-b296-42f0-b197-1e91e994b900', skuPartNumber: 'ENTERPRISEPACK', enabled: 25 },
    { skuId: 'efccb6f7-5641-4e0e-bd10-b4976e1bf68e', skuPartNumber: 'EMS', enabled: 5 },
  ];

  const tokens = new Map<string, number>(); // token -> expiry (ms)
  let issued = 0;
  const users = new Map<string, GraphUserRecord>();
  const deleted = new Map<string, GraphUserRecord>();
  const groups = new Map<string, GraphGroupRecord>();
  const sessions = new Map<string, number[]>();
  /** The exact instant of each user's last revocation (the property itself has second precision). */
  const revokedAt = new Map<string, number>();
  /** When each user created through the API becomes visible to queries. */
  const visibleAt = new Map<string, number>();
  let lagMs = opts.replicationLagMs ?? 0;
  const log: GraphRequestLogEntry[] = [];
  type ErrorFault = GraphFaultMatch & { kind: 'error'; status: number; retryAfter?: number; code?: string };
  type DelayFault = GraphFaultMatch & { kind: 'delay'; ms: number };
  type DropFault = GraphFaultMatch & { kind: 'drop' };
  const faultQueue: (ErrorFault | DelayFault | DropFault)[] = [];
  let staleRevocations = false;
  let url = '';
  const assertions: ReceivedAssertion[] = [];
  const cert = opts.certificatePem ? new X509Certificate(opts.certificatePem) : undefined;
  const thumbprints = cert
    ? {
        sha256: createHash('sha256').update(cert.raw).digest('base64url'),
        sha1: createHash('sha1').update(cert.raw).digest('base64url'),
      }
    : undefined;

  /** Checks a client assertion as Entra does; returns the AADSTS error, or undefined when it is good. */
  function checkAssertion(jwt: string, audience: string): { code: number; description: string } | undefined {
    const parts = jwt.split('.');
    const decode = (p: string | undefined): Record<string, unknown> | undefined => {
      try {
        const v: unknown = JSON.parse(Buffer.from(p ?? '', 'base64url').toString('utf8'));
        return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
      } catch {
        return undefined;
      }
    };
    const header = decode(parts[0]);
    const claims = decode(parts[1]);
    if (parts.length !== 3 || !header || !claims)
      return { code: 50027, description: 'JWT token is invalid or malformed.' };
    const record: ReceivedAssertion = { header, claims, accepted: false };
    assertions.push(record);
    const keyFound =
      thumbprints !== undefined &&
      ((header.alg === 'PS256' && header['x5t#S256'] === thumbprints.sha256) ||
        (header.alg === 'RS256' && (header.x5t === thumbprints.sha1 || header['x5t#S256'] === thumbprints.sha256)));
    if (!keyFound || !cert) {
      return {
        code: 700027,
        description:
          'The certificate with identifier used to sign the client assertion is not registered on application.',
      };
    }
    const data = Buffer.from(`${parts[0]}.${parts[1]}`);
    const signature = Buffer.from(parts[2] ?? '', 'base64url');
    const good =
      header.alg === 'PS256'
        ? verify(
            'sha256',
            data,
            { key: cert.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
            signature,
          )
        : verify('sha256', data, cert.publicKey, signature);
    if (!good) return { code: 700027, description: 'Client assertion failed signature validation.' };
    if (
      claims.aud !== audience ||
      claims.iss !== clientId ||
      claims.sub !== clientId ||
      typeof claims.jti !== 'string'
    ) {
      return { code: 700027, description: 'Client assertion contains an invalid claim.' };
    }
    const now = Date.now() / 1000;
    if (
      typeof claims.exp !== 'number' ||
      claims.exp < now ||
      (typeof claims.nbf === 'number' && claims.nbf > now + 300)
    ) {
      return { code: 700024, description: 'Client assertion is not within its valid time range.' };
    }
    record.accepted = true;
    return undefined;
  }

  const matches = (f: GraphFaultMatch, method: string, path: string) =>
    (f.method === undefined || f.method === method) &&
    (f.path === undefined || (typeof f.path === 'string' ? path.startsWith(f.path) : f.path.test(path)));

  function takeFault(kind: 'error' | 'delay' | 'drop', method: string, path: string) {
    const i = faultQueue.findIndex((f) => f.kind === kind && matches(f, method, path));
    if (i < 0) return undefined;
    return faultQueue.splice(i, 1)[0];
  }

  const byUpn = (upn: string) =>
    [...users.values()].find((u) => u.userPrincipalName.toLowerCase() === upn.toLowerCase());

  function findUser(ref: string): GraphUserRecord {
    const u = users.get(ref.toLowerCase()) ?? (ref.includes('@') ? byUpn(ref) : undefined);
    if (!u) throw notFound(ref);
    return u;
  }

  function findGroup(ref: string): GraphGroupRecord {
    if (!/^[0-9a-f-]{36}$/i.test(ref)) throw bad(`Invalid object identifier '${ref}'.`);
    const g = groups.get(ref.toLowerCase());
    if (!g) throw notFound(ref);
    return g;
  }

  function select(query: Record<string, string>, readable: Set<string>, defaults: string[]): string[] {
    const raw = query.$select;
    if (raw === undefined) return defaults;
    const props = raw.split(',').map((p) => p.trim());
    for (const p of props) {
      if (!readable.has(p)) throw bad(`Could not find a property named '${p}' on type 'microsoft.graph.user'.`);
    }
    return props.includes('id') ? props : [...props, 'id'];
  }

  function userView(u: GraphUserRecord, props: string[]): Record<string, unknown> {
    const full: Record<string, unknown> = {
      ...u,
      businessPhones: [],
      mobilePhone: null,
      preferredLanguage: null,
    };
    delete full.managerId;
    const out: Record<string, unknown> = {};
    for (const p of props) out[p] = full[p] ?? null;
    return out;
  }

  function page(
    items: Record<string, unknown>[],
    query: Record<string, string>,
    path: string,
    context: string,
  ): Record<string, unknown> {
    let top = defaultPageSize;
    if (query.$top !== undefined) {
      top = Number(query.$top);
      if (!/^\d+$/.test(query.$top) || top < 1 || top > 999) {
        throw bad(`Invalid page size specified: '${query.$top}'. Must be between 1 and 999 inclusive.`);
      }
    }
    let offset = 0;
    if (query.$skiptoken !== undefined) {
      const m = /^o(\d+)$/.exec(Buffer.from(query.$skiptoken, 'base64url').toString('utf8'));
      if (!m) throw bad('Invalid skip token.');
      offset = Number(m[1]);
    }
    const body: Record<string, unknown> = {
      '@odata.context': `${url}/v1.0/$metadata#${context}`,
      value: items.slice(offset, offset + top),
    };
    if (offset + top < items.length) {
      const next = new URLSearchParams({ ...query, $skiptoken: Buffer.from(`o${offset + top}`).toString('base64url') });
      body['@odata.nextLink'] = `${url}${path}?${next.toString()}`;
    }
    return body;
  }

  /** Validates a user body (create or update): unknown, read-only and mistyped properties are refused. */
  function checkUserBody(body: unknown, create: boolean): Record<string, unknown> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new GraphError(400, 'BadRequest', 'Empty Payload. JSON content expected.');
    }
    const b = body as Record<string, unknown>;
    for (const [key, value] of Object.entries(b)) {
      if (key.startsWith('@odata.')) continue;
      if (READ_ONLY_USER_PROPERTIES.has(key)) throw bad(`Property '${key}' is read-only and cannot be set.`);
      if (!WRITABLE_USER_PROPERTIES.has(key)) {
        throw new GraphError(
          400,
          'Request_BadRequest',
          `Property '${key}' does not exist as a declared property or extension property.`,
        );
      }
      const max = STRING_PROPERTIES[key];
      if (max !== undefined && value !== null) {
        if (typeof value !== 'string') {
          throw new GraphError(
            400,
            'BadRequest',
            `Cannot convert the literal '${JSON.stringify(value)}' to the expected type 'Edm.String'.`,
          );
        }
        if (value.length > max || (key === 'usageLocation' && !/^[A-Z]{2}$/.test(value))) {
          throw bad(`Invalid value specified for property '${key}' of resource 'User'.`, [
            { code: 'InvalidValue', target: key },
          ]);
        }
      }
    }
    if ('accountEnabled' in b && typeof b.accountEnabled !== 'boolean') {
      throw new GraphError(400, 'BadRequest', "Cannot convert the literal to the expected type 'Edm.Boolean'.");
    }
    if (create) {
      for (const required of [
        'accountEnabled',
        'displayName',
        'mailNickname',
        'userPrincipalName',
        'passwordProfile',
      ]) {
        if (b[required] === undefined || b[required] === null || b[required] === '') {
          throw bad(`Invalid value specified for property '${required}' of resource 'User'.`, [
            { code: 'Required', target: required },
          ]);
        }
      }
    }
    if ('passwordProfile' in b) {
      const p = b.passwordProfile as { password?: unknown; forceChangePasswordNextSignIn?: unknown } | null;
      if (typeof p !== 'object' || p === null || typeof p.password !== 'string') {
        throw bad("Invalid value specified for property 'passwordProfile' of resource 'User'.");
      }
      for (const k of Object.keys(p)) {
        if (!['password', 'forceChangePasswordNextSignIn', 'forceChangePasswordNextSignInWithMfa'].includes(k))
          throw bad(`Property '${k}' does not exist as a declared property or extension property.`);
      }
      if (!complexEnough(p.password)) {
        throw bad(
          'The specified password does not comply with password complexity requirements. Please provide a different password.',
        );
      }
    }
    if (typeof b.mailNickname === 'string' && /[@()\\[\]";:<>,\s]/.test(b.mailNickname)) {
      throw bad("Invalid value specified for property 'mailNickname' of resource 'User'.", [
        { code: 'InvalidValue', target: 'mailNickname' },
      ]);
    }
    if (typeof b.userPrincipalName === 'string') {
      const [local, domain, extra] = b.userPrincipalName.split('@');
      if (!local || !domain || extra !== undefined || !/^[A-Za-z0-9'.\-_!#^~]+$/.test(local)) {
        throw bad('Property userPrincipalName is invalid.', [{ code: 'InvalidValue', target: 'userPrincipalName' }]);
      }
      if (!domains.includes(domain.toLowerCase())) {
        throw bad(
          'The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.',
          [{ code: 'InvalidValue', target: 'userPrincipalName' }],
        );
      }
    }
    return b;
  }

  function conflictIfTaken(upn: unknown, self?: string) {
    if (typeof upn !== 'string') return;
    const holder = byUpn(upn);
    if (holder && holder.id !== self) {
      throw bad('Another object with the same value for property userPrincipalName already exists.', [
        { code: 'ObjectConflict', target: 'userPrincipalName' },
      ]);
    }
  }

  function newUserRecord(b: Record<string, unknown>): GraphUserRecord {
    const str = (k: string) => (typeof b[k] === 'string' ? b[k] : null);
    return {
      id: randomUUID(),
      userPrincipalName: String(b.userPrincipalName),
      accountEnabled: b.accountEnabled === true,
      displayName: String(b.displayName),
      mailNickname: String(b.mailNickname),
      givenName: str('givenName'),
      surname: str('surname'),
      mail: str('mail'),
      jobTitle: str('jobTitle'),
      department: str('department'),
      employeeId: str('employeeId'),
      usageLocation: str('usageLocation'),
      officeLocation: str('officeLocation'),
      signInSessionsValidFromDateTime: secondsIso(Date.now()),
      createdDateTime: secondsIso(Date.now()),
      assignedLicenses: [],
      managerId: null,
    };
  }

  function consumed(skuId: string): number {
    return [...users.values()].filter((u) => u.assignedLicenses.some((l) => l.skuId === skuId)).length;
  }

  function refId(body: unknown): string {
    const id = (body as { '@odata.id'?: unknown } | null)?.['@odata.id'];
    if (typeof id !== 'string') throw bad("The request body must contain '@odata.id'.");
    const m = /\/(?:directoryObjects|users)\/([^/?#]+)$/.exec(id);
    if (!m) throw bad(`Invalid URL format specified in @odata.id: '${id}'.`);
    return decodeURIComponent(m[1] ?? '');
  }

  function authenticate(req: IncomingMessage): void {
    const header = req.headers.authorization;
    const challenge = {
      'WWW-Authenticate':
        'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"',
    };
    if (!header)
      throw new GraphError(401, 'InvalidAuthenticationToken', 'Access token is empty.', undefined, challenge);
    const m = /^Bearer ([^\s]+)$/.exec(header);
    if (!m) {
      throw new GraphError(401, 'InvalidAuthenticationToken', 'Access token validation failure.', undefined, challenge);
    }
    const expiry = tokens.get(m[1] ?? '');
    if (expiry === undefined) {
      throw new GraphError(
        401,
        'InvalidAuthenticationToken',
        'IDX14100: JWT is not well formed, there are no dots (.).',
        undefined,
        challenge,
      );
    }
    if (Date.now() >= expiry) {
      throw new GraphError(
        401,
        'InvalidAuthenticationToken',
        'Lifetime validation failed, the token is expired.',
        undefined,
        challenge,
      );
    }
  }

  function tokenEndpoint(tenant: string, contentType: string | undefined, raw: string) {
    const oauthError = (status: number, error: string, code: number, description: string) => ({
      status,
      body: {
        error,
        error_description: `AADSTS${code}: ${description} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${new Date().toISOString()}`,
        error_codes: [code],
        timestamp: new Date().toISOString(),
        trace_id: randomUUID(),
        correlation_id: randomUUID(),
        error_uri: `https://login.microsoftonline.com/error?code=${code}`,
      },
    });
    if (tenant !== tenantId) return oauthError(400, 'invalid_request', 90002, `Tenant '${tenant}' not found.`);
    if (!(contentType ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) {
      return oauthError(
        400,
        'invalid_request',
        900144,
        "The request body must contain the following parameter: 'grant_type'.",
      );
    }
    const form = new URLSearchParams(raw);
    if (!form.get('grant_type')) {
      return oauthError(
        400,
        'invalid_request',
        900144,
        "The request body must contain the following parameter: 'grant_type'.",
      );
    }
    if (form.get('grant_type') !== 'client_credentials') {
      return oauthError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    }
    if (form.get('client_id') !== clientId) {
      return oauthError(400, 'unauthorized_client', 700016, 'Application was not found in the directory.');
    }
    const assertionType = form.get('client_assertion_type');
    if (assertionType !== null || form.get('client_assertion') !== null) {
      if (assertionType !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
        return oauthError(400, 'invalid_request', 50027, 'Invalid client_assertion_type.');
      }
      const refused = checkAssertion(form.get('client_assertion') ?? '', `${url}/${tenantId}/oauth2/v2.0/token`);
      if (refused) return oauthError(401, 'invalid_client', refused.code, refused.description);
    } else if (form.get('client_secret') !== clientSecret) {
      return oauthError(401, 'invalid_client', 7000215, 'Invalid client secret provided.');
    }
    if (form.get('scope') !== 'https://graph.microsoft.com/.default') {
      return oauthError(400, 'invalid_scope', 1002012, 'The provided value for scope is not valid.');
    }
    const token = newToken();
    tokens.set(token, Date.now() + lifetimeS * 1000);
    issued += 1;
    return {
      status: 200,
      body: { token_type: 'Bearer', expires_in: lifetimeS, ext_expires_in: lifetimeS, access_token: token },
    };
  }

  /** The Graph routes: returns status and body, or throws GraphError. */
  function route(
    method: string,
    path: string,
    query: Record<string, string>,
    body: unknown,
  ): { status: number; body?: unknown } {
    const seg = path.split('/').filter(Boolean).map(decodeURIComponent);
    if (seg[0] !== 'v1.0') throw new GraphError(400, 'BadRequest', `Invalid version: ${seg[0] ?? ''}`);
    const [, collection, id, sub, subId, ref] = seg;

    if (collection === 'subscribedSkus' && seg.length === 2 && method === 'GET') {
      const items = skus.map((s) => ({
        capabilityStatus: 'Enabled',
        consumedUnits: consumed(s.skuId),
        id: `${tenantId}_${s.skuId}`,
        prepaidUnits: { enabled: s.enabled, suspended: 0, warning: 0, lockedOut: 0 },
        servicePlans: [],
        skuId: s.skuId,
        skuPartNumber: s.skuPartNumber,
        appliesTo: 'User',
      }));
      return { status: 200, body: { '@odata.context': `${url}/v1.0/$metadata#subscribedSkus`, value: items } };
    }

    if (collection === 'users') {
      if (id === undefined) {
        if (method === 'GET') {
          const props = select(query, READABLE_USER_PROPERTIES, DEFAULT_USER_PROPERTIES);
          const now = Date.now();
          let list = [...users.values()].filter((u) => (visibleAt.get(u.id) ?? 0) <= now);
          if (query.$filter !== undefined) {
            const f = parseFilter(query.$filter, ['employeeId', 'userPrincipalName', 'mail', 'id', 'displayName']);
            list = list.filter((u) => filterable(u, f.property).toLowerCase() === f.value.toLowerCase());
          }
          return {
            status: 200,
            body: page(
              list.map((u) => userView(u, props)),
              query,
              path,
              'users',
            ),
          };
        }
        if (method === 'POST') {
          const b = checkUserBody(body, true);
          conflictIfTaken(b.userPrincipalName);
          const u = newUserRecord(b);
          users.set(u.id, u);
          if (lagMs > 0) visibleAt.set(u.id, Date.now() + lagMs);
          return {
            status: 201,
            body: { '@odata.context': `${url}/v1.0/$metadata#users/$entity`, ...userView(u, DEFAULT_USER_PROPERTIES) },
          };
        }
        throw new GraphError(405, 'Request_BadRequest', 'The HTTP method is not allowed on this resource.');
      }
      const u = findUser(id);
      if (sub === undefined) {
        if (method === 'GET') {
          const props = select(query, READABLE_USER_PROPERTIES, DEFAULT_USER_PROPERTIES);
          return {
            status: 200,
            body: { '@odata.context': `${url}/v1.0/$metadata#users/$entity`, ...userView(u, props) },
          };
        }
        if (method === 'PATCH') {
          const b = checkUserBody(body, false);
          conflictIfTaken(b.userPrincipalName, u.id);
          for (const [k, v] of Object.entries(b)) {
            if (k === 'passwordProfile' || k.startsWith('@odata.')) continue;
            (u as unknown as Record<string, unknown>)[k] = v;
          }
          return { status: 204 };
        }
        if (method === 'DELETE') {
          users.delete(u.id);
          deleted.set(u.id, u);
          for (const g of groups.values()) g.members.delete(u.id);
          return { status: 204 };
        }
      }
      if (sub === 'manager') {
        if (subId === undefined && method === 'GET') {
          const m = u.managerId ? users.get(u.managerId) : undefined;
          if (!m) throw notFound('manager');
          const props = select(query, READABLE_USER_PROPERTIES, DEFAULT_USER_PROPERTIES);
          return {
            status: 200,
            body: {
              '@odata.context': `${url}/v1.0/$metadata#directoryObjects/$entity`,
              '@odata.type': '#microsoft.graph.user',
              ...userView(m, props),
            },
          };
        }
        if (subId === '$ref' && method === 'PUT') {
          const managerId = refId(body);
          const m = findUser(managerId);
          if (m.id === u.id) throw bad('A user cannot be their own manager.');
          u.managerId = m.id;
          return { status: 204 };
        }
        if (subId === '$ref' && method === 'DELETE') {
          if (!u.managerId) throw notFound('manager');
          u.managerId = null;
          return { status: 204 };
        }
      }
      if (sub === 'memberOf' && subId === undefined && method === 'GET') {
        const items = [...groups.values()]
          .filter((g) => g.members.has(u.id))
          .map((g) => ({ '@odata.type': '#microsoft.graph.group', id: g.id, displayName: g.displayName }));
        return { status: 200, body: page(items, query, path, 'directoryObjects') };
      }
      if (sub === 'licenseDetails' && subId === undefined && method === 'GET') {
        const items = u.assignedLicenses.map((l) => ({
          id: `${l.skuId}_${u.id}`,
          skuId: l.skuId,
          skuPartNumber: skus.find((s) => s.skuId === l.skuId)?.skuPartNumber ?? null,
          servicePlans: [],
        }));
        return {
          status: 200,
          body: { '@odata.context': `${url}/v1.0/$metadata#users('${u.id}')/licenseDetails`, value: items },
        };
      }
      if (sub === 'assignLicense' && subId === undefined && method === 'POST') {
        const b = body as { addLicenses?: unknown; removeLicenses?: unknown } | null;
        if (typeof b !== 'object' || b === null || !Array.isArray(b.addLicenses) || !Array.isArray(b.removeLicenses)) {
          throw bad("Invalid request: 'addLicenses' and 'removeLicenses' are required.");
        }
        for (const k of Object.keys(b)) {
          if (k !== 'addLicenses' && k !== 'removeLicenses')
            throw bad(`Property '${k}' does not exist as a declared property or extension property.`);
        }
        const add = b.addLicenses as { skuId?: unknown; disabledPlans?: unknown }[];
        const remove = b.removeLicenses as unknown[];
        for (const l of add) {
          const sku = skus.find((s) => s.skuId === l.skuId);
          if (!sku) throw bad(`License ${String(l.skuId)} does not correspond to a valid company License.`);
          if (!u.usageLocation) throw bad('License assignment cannot be done for user with invalid usage location.');
          const held = u.assignedLicenses.some((x) => x.skuId === sku.skuId);
          if (!held && consumed(sku.skuId) >= sku.enabled) {
            throw bad(`Subscription for ${sku.skuPartNumber} does not have any available licenses.`);
          }
        }
        for (const r of remove) {
          if (!u.assignedLicenses.some((x) => x.skuId === r)) throw bad('User does not have a corresponding license.');
        }
        u.assignedLicenses = u.assignedLicenses.filter((x) => !remove.includes(x.skuId));
        for (const l of add) {
          const skuId = String(l.skuId);
          const plans = Array.isArray(l.disabledPlans) ? l.disabledPlans.map(String) : [];
          u.assignedLicenses = [
            ...u.assignedLicenses.filter((x) => x.skuId !== skuId),
            { skuId, disabledPlans: plans },
          ];
        }
        return {
          status: 200,
          body: { '@odata.context': `${url}/v1.0/$metadata#users/$entity`, ...userView(u, DEFAULT_USER_PROPERTIES) },
        };
      }
      if (sub === 'revokeSignInSessions' && subId === undefined && method === 'POST') {
        if (!staleRevocations) {
          u.signInSessionsValidFromDateTime = secondsIso(Date.now());
          revokedAt.set(u.id, Date.now());
        }
        return { status: 200, body: { '@odata.context': `${url}/v1.0/$metadata#Edm.Boolean`, value: true } };
      }
      throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${sub ?? ''}'.`);
    }

    if (collection === 'groups') {
      if (id === undefined && method === 'GET') {
        let list = [...groups.values()];
        if (query.$filter !== undefined) {
          const f = parseFilter(query.$filter, ['displayName', 'id']);
          list = list.filter(
            (g) => (f.property === 'id' ? g.id : g.displayName).toLowerCase() === f.value.toLowerCase(),
          );
        }
        return {
          status: 200,
          body: page(
            list.map((g) => ({ id: g.id, displayName: g.displayName })),
            query,
            path,
            'groups',
          ),
        };
      }
      if (id === undefined) throw new GraphError(405, 'Request_BadRequest', 'The HTTP method is not allowed.');
      const g = findGroup(id);
      if (sub === undefined && method === 'GET') {
        return {
          status: 200,
          body: { '@odata.context': `${url}/v1.0/$metadata#groups/$entity`, id: g.id, displayName: g.displayName },
        };
      }
      if (sub === 'members') {
        if (subId === '$ref' && method === 'POST') {
          const memberId = refId(body);
          const m = findUser(memberId);
          if (g.members.has(m.id)) {
            throw bad(
              "One or more added object references already exist for the following modified properties: 'members'.",
            );
          }
          g.members.add(m.id);
          return { status: 204 };
        }
        if (subId !== undefined && ref === '$ref' && method === 'DELETE') {
          if (!g.members.has(subId.toLowerCase())) throw notFound(subId);
          g.members.delete(subId.toLowerCase());
          return { status: 204 };
        }
        if (subId === undefined && method === 'GET') {
          const items = [...g.members].flatMap((mid) => {
            const m = users.get(mid);
            return m
              ? [{ '@odata.type': '#microsoft.graph.user', id: m.id, userPrincipalName: m.userPrincipalName }]
              : [];
          });
          return { status: 200, body: page(items, query, path, 'directoryObjects') };
        }
      }
      throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${sub ?? ''}'.`);
    }
    throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${collection ?? ''}'.`);
  }

  function errorBody(e: GraphError): Record<string, unknown> {
    return {
      error: {
        code: e.code,
        message: e.message,
        ...(e.details ? { details: e.details.map((d) => ({ ...d, message: d.message ?? e.message })) } : {}),
        innerError: {
          date: secondsIso(Date.now()).replace('Z', ''),
          'request-id': randomUUID(),
          'client-request-id': randomUUID(),
        },
      },
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const parsedUrl = new URL(req.url ?? '/', 'http://standin');
    const path = parsedUrl.pathname;
    const query = Object.fromEntries(parsedUrl.searchParams.entries());
    const method = req.method ?? 'GET';
    const entry: GraphRequestLogEntry = { method, path, query, status: 0 };
    if (req.headers.authorization) entry.authorization = req.headers.authorization;
    if (req.headers['content-type']) entry.contentType = req.headers['content-type'];
    log.push(entry);

    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      entry.status = status;
      const h: Record<string, string> = {
        'request-id': randomUUID(),
        'client-request-id': randomUUID(),
        ...headers,
      };
      if (body === undefined) {
        res.writeHead(status, h).end();
      } else {
        res.writeHead(status, { 'Content-Type': 'application/json;odata.metadata=minimal;charset=utf-8', ...h });
        res.end(JSON.stringify(body));
      }
    };

    const tokenPath = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(path);
    if (tokenPath) {
      if (method !== 'POST') return send(405, { error: 'invalid_request' });
      entry.body = '[form]';
      const r = tokenEndpoint(decodeURIComponent(tokenPath[1] ?? ''), req.headers['content-type'], raw);
      return send(r.status, r.body, { 'Cache-Control': 'no-store, no-cache' });
    }

    const fault = takeFault('error', method, path);
    if (fault && fault.kind === 'error') {
      const codes: Record<number, string> = {
        429: 'TooManyRequests',
        503: 'serviceNotAvailable',
        500: 'generalException',
        504: 'UnknownError',
      };
      const e = new GraphError(fault.status, fault.code ?? codes[fault.status] ?? 'UnknownError', 'Injected fault.');
      return send(
        fault.status,
        errorBody(e),
        fault.retryAfter !== undefined ? { 'Retry-After': String(fault.retryAfter) } : {},
      );
    }
    try {
      authenticate(req);
      let body: unknown;
      if (raw.trim() !== '') {
        if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) {
          throw new GraphError(
            415,
            'BadRequest',
            'A supported MIME type could not be found that matches the content type of the response.',
          );
        }
        try {
          body = JSON.parse(raw);
        } catch {
          throw new GraphError(
            400,
            'BadRequest',
            'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
          );
        }
        entry.body = body;
      }
      if (takeFault('drop', method, path)) return send(204);
      const r = route(method, path, query, body);
      const delay = takeFault('delay', method, path);
      if (delay && delay.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, delay.ms));
      return send(r.status, r.body);
    } catch (err) {
      if (err instanceof GraphError) return send(err.status, errorBody(err), err.headers);
      return send(500, errorBody(new GraphError(500, 'generalException', 'An internal error occurred.')));
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    tenantId,
    clientId,
    clientSecret,
    users: () => [...users.values()],
    user: (id) => users.get(id),
    deletedUsers: () => [...deleted.values()],
    seedUser(u) {
      const rec: GraphUserRecord = {
        ...newUserRecord({
          userPrincipalName: u.userPrincipalName,
          displayName: u.displayName ?? u.userPrincipalName,
          mailNickname: u.mailNickname ?? u.userPrincipalName.split('@')[0] ?? 'user',
          accountEnabled: u.accountEnabled ?? true,
        }),
        ...u,
      };
      if (byUpn(rec.userPrincipalName)) throw new Error('seedUser: userPrincipalName taken');
      users.set(rec.id, rec);
      return rec.id;
    },
    createGroup(displayName) {
      const id = randomUUID();
      groups.set(id, { id, displayName, members: new Set() });
      return id;
    },
    groupMembers: (id) => {
      const g = groups.get(id);
      return g ? [...g.members] : undefined;
    },
    licences: (userId) =>
      (users.get(userId) ?? deleted.get(userId))?.assignedLicenses.map(
        (l) => skus.find((s) => s.skuId === l.skuId)?.skuPartNumber ?? l.skuId,
      ) ?? [],
    skus: () => skus.map((s) => ({ ...s, consumed: consumed(s.skuId) })),
    openSession(userId) {
      sessions.set(userId, [...(sessions.get(userId) ?? []), Date.now()]);
    },
    activeSessions(userId) {
      const u = users.get(userId);
      if (!u) return 0;
      const from = Math.max(Date.parse(u.signInSessionsValidFromDateTime), (revokedAt.get(userId) ?? -1) + 1);
      return (sessions.get(userId) ?? []).filter((at) => at >= from).length;
    },
    tokensIssued: () => issued,
    assertions: () => [...assertions],
    revokeTokens: () => tokens.clear(),
    requests: () => [...log],
    faults: {
      next(count, spec) {
        for (let i = 0; i < count; i++) faultQueue.push({ kind: 'error', ...spec });
      },
      delayResponse(count, ms, match = {}) {
        for (let i = 0; i < count; i++) faultQueue.push({ kind: 'delay', ms, ...match });
      },
      dropWrites(count, match = {}) {
        for (let i = 0; i < count; i++) faultQueue.push({ kind: 'drop', ...match });
      },
      staleRevocations(on) {
        staleRevocations = on;
      },
      replicationLag(ms) {
        lagMs = ms;
      },
      clear() {
        faultQueue.length = 0;
        staleRevocations = false;
        lagMs = opts.replicationLagMs ?? 0;
      },
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
