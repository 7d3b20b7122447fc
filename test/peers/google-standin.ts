/**
 * A local stand-in for Google's OAuth token endpoint, the Admin SDK Directory API (users, users.signOut, groups,
 * group members) and the Data Transfer API (applications, transfers), following Google's published request and
 * response shapes, status codes and error bodies, and refusing what Google refuses:
 *
 * - Token endpoint: only `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`; the assertion must be an RS256 JWT
 *   whose signature verifies against the service account's public key, `iss` the service account, `aud` this token
 *   URL, `sub` an admin the delegation allows, `scope` only scopes granted, `exp` after now and at most an hour after
 *   `iat`. Refusals are OAuth errors `{ "error", "error_description" }` (400 `invalid_grant`, 401 `unauthorized_client`,
 *   400 `invalid_scope`, 400 `unsupported_grant_type`).
 * - APIs: `Authorization: Bearer <token issued here, not expired>` or 401; a token without the method's scope 403
 *   `insufficientPermissions`. Errors are `{ "error": { "code", "message", "errors": [{ "message", "domain", "reason" }],
 *   "status" } }`: unknown user 404 "Resource Not Found: userKey", malformed JSON 400, an unknown field 400, a taken
 *   address 409 "Entity already exists." (`duplicate`), an unknown organizational unit 400, an existing membership 409.
 * - Paging with `maxResults` and `pageToken`/`nextPageToken`; a list with nothing in it leaves `users` out, as Google does.
 *
 * Test hooks: `faults` (a status once, or an answer delayed after the write), `openSession`/`activeSessions` (what
 * signOut ends), `tokenRequests`, `expireTokens`, direct seeding and inspection.
 */
import {
  createPublicKey,
  createVerify,
  generateKeyPairSync,
  randomBytes,
  randomInt,
  type KeyObject,
} from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const SCOPE = {
  user: 'https://www.googleapis.com/auth/admin.directory.user',
  userReadonly: 'https://www.googleapis.com/auth/admin.directory.user.readonly',
  security: 'https://www.googleapis.com/auth/admin.directory.user.security',
  member: 'https://www.googleapis.com/auth/admin.directory.group.member',
  group: 'https://www.googleapis.com/auth/admin.directory.group',
  groupReadonly: 'https://www.googleapis.com/auth/admin.directory.group.readonly',
  transfer: 'https://www.googleapis.com/auth/admin.datatransfer',
  transferReadonly: 'https://www.googleapis.com/auth/admin.datatransfer.readonly',
} as const;

/** The Data Transfer API's applications, with the ids and parameters Google documents ("Transfer parameters"). */
export const GOOGLE_APPLICATIONS = [
  {
    id: '55656082996',
    name: 'Drive and Docs',
    transferParams: [{ key: 'PRIVACY_LEVEL', value: ['PRIVATE', 'SHARED'] }],
  },
  { id: '435070579839', name: 'Calendar', transferParams: [{ key: 'RELEASE_RESOURCES', value: ['TRUE'] }] },
  { id: '553547912911', name: 'Currents', transferParams: [] },
] as const;

export interface StandinUser {
  kind: 'admin#directory#user';
  id: string;
  etag: string;
  primaryEmail: string;
  name: { givenName: string; familyName: string; fullName: string };
  isAdmin: boolean;
  suspended: boolean;
  changePasswordAtNextLogin: boolean;
  orgUnitPath: string;
  customerId: string;
  creationTime: string;
  includeInGlobalAddressList: boolean;
  isMailboxSetup: boolean;
  aliases?: string[];
  externalIds?: { value: string; type: string; customType?: string }[];
  organizations?: Record<string, unknown>[];
  relations?: { value: string; type: string; customType?: string }[];
  emails: { address: string; primary?: boolean }[];
}

interface StoredUser extends StandinUser {
  /** Kept only to prove one was set; never answered. */
  passwordSet: boolean;
}

interface Group {
  id: string;
  email: string;
  name: string;
  members: Map<string, { id: string; email: string; role: string }>;
}

export interface StandinTransfer {
  kind: 'admin#datatransfer#DataTransfer';
  id: string;
  etag: string;
  oldOwnerUserId: string;
  newOwnerUserId: string;
  applicationDataTransfers: {
    applicationId: string;
    applicationTransferParams: { key: string; value: string[] }[];
    applicationTransferStatus: string;
  }[];
  overallTransferStatusCode: string;
  requestTime: string;
}

interface Fault {
  method: string;
  /** A path prefix below the origin, e.g. `/admin/directory/v1/users`. */
  path: string;
  kind: 'status' | 'delay';
  status?: number;
  reason?: string;
  retryAfter?: number;
  delayMs?: number;
}

export interface GoogleStandinOptions {
  /** The service account's public key (PEM or KeyObject) that assertions must verify against. */
  publicKey: string | KeyObject;
  clientEmail: string;
  /** Admins the service account may impersonate (domain-wide delegation). */
  admins: string[];
  /** Domains of the account: a primaryEmail must be in one of them. */
  domains: string[];
  /** Scopes granted to the service account's client id. @default every scope in {@link SCOPE} */
  grantedScopes?: string[];
  customerId?: string;
  /** The most `maxResults` honoured per page. @default 500 */
  maxPageSize?: number;
  /** Access token lifetime. @default 3599 */
  tokenLifetimeSeconds?: number;
  /** A transfer reads `completed` this long after it was requested. @default 0 */
  transferCompletesAfterMs?: number;
  /** Organizational units that exist besides "/". */
  orgUnits?: string[];
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly statusName: string,
  ) {
    super(message);
  }
}

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

const bad = (message: string, reason = 'invalid') => new HttpError(400, reason, message, 'INVALID_ARGUMENT');
const notFound = (what: string) => new HttpError(404, 'notFound', `Resource Not Found: ${what}`, 'NOT_FOUND');

/** Fields users.insert / users.patch accept (the User resource's writable fields). */
const USER_WRITABLE = new Set([
  'primaryEmail',
  'password',
  'hashFunction',
  'name',
  'suspended',
  'changePasswordAtNextLogin',
  'orgUnitPath',
  'externalIds',
  'organizations',
  'includeInGlobalAddressList',
  'ipWhitelisted',
  'phones',
  'addresses',
  'relations',
  'emails',
  'recoveryEmail',
  'recoveryPhone',
  'archived',
  'ims',
  'locations',
  'languages',
  'keywords',
  'gender',
  'notes',
  'websites',
  'posixAccounts',
  'sshPublicKeys',
  'customSchemas',
]);
/** `relations[].type` values the User resource documents. */
const RELATION_TYPES = new Set([
  'admin_assistant',
  'assistant',
  'brother',
  'child',
  'custom',
  'domestic_partner',
  'dotted_line_manager',
  'exec_assistant',
  'father',
  'friend',
  'manager',
  'mother',
  'parent',
  'partner',
  'referred_by',
  'relative',
  'sister',
  'spouse',
]);
const EXTERNAL_ID_TYPES = new Set(['account', 'custom', 'customer', 'login_id', 'network', 'organization']);
const ORGANIZATION_FIELDS = new Set([
  'name',
  'title',
  'department',
  'primary',
  'type',
  'customType',
  'description',
  'costCenter',
  'location',
  'domain',
  'symbol',
  'fullTimeEquivalent',
]);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function b64urlJson(part: string): unknown {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** The JSON body, if it parsed; `password` replaced by `{ length }`. */
  body?: unknown;
  authorization?: string;
}

export interface GoogleStandin {
  /** Origin for the Directory and Data Transfer APIs (the connector's `directoryUrl`). */
  url: string;
  /** The token endpoint (the connector's `tokenUrl`). */
  tokenUrl: string;
  customerId: string;
  users(): StandinUser[];
  user(key: string): StandinUser | undefined;
  seedUser(u: {
    primaryEmail: string;
    givenName: string;
    familyName: string;
    suspended?: boolean;
    hrId?: string;
    externalIdType?: string;
    orgUnitPath?: string;
    aliases?: string[];
  }): StandinUser;
  addOrgUnit(path: string): void;
  createGroup(email: string, name?: string): { id: string; email: string };
  groupMembers(groupKey: string): string[];
  transfers(): StandinTransfer[];
  /** Makes the transfer read `completed` from now on. */
  completeTransfer(id: string): void;
  /** Simulates a sign-in: one more open session for the user. */
  openSession(userKey: string): void;
  activeSessions(userKey: string): number;
  signOuts(userKey: string): number;
  /** Token requests answered (successful or not). */
  tokenRequests(): { ok: number; refused: number };
  /** Every access token issued so far stops working (as if they had expired). */
  expireTokens(): void;
  /** Every request the APIs received, in order (a password in a body is recorded as its length only). */
  requests(): RecordedRequest[];
  faults: {
    /** The next request matching method and path prefix is answered with `status` in Google's error body. */
    next(f: { method: string; path: string; status: number; reason?: string; retryAfter?: number }): void;
    /** The next matching request is done, then answered `delayMs` later. */
    delayAfterWrite(f: { method: string; path: string; delayMs: number }): void;
    clear(): void;
  };
  close(): Promise<void>;
}

export async function startGoogleStandin(options: GoogleStandinOptions): Promise<GoogleStandin> {
  const publicKey = typeof options.publicKey === 'string' ? createPublicKey(options.publicKey) : options.publicKey;
  const customerId = options.customerId ?? `C0${randomBytes(4).toString('hex')}`;
  const granted = new Set(options.grantedScopes ?? Object.values(SCOPE));
  const maxPage = options.maxPageSize ?? 500;
  const lifetime = options.tokenLifetimeSeconds ?? 3599;
  const completesAfter = options.transferCompletesAfterMs ?? 0;
  const orgUnits = new Set(['/', ...(options.orgUnits ?? [])]);
  const domains = options.domains.map((d) => d.toLowerCase());

  const users = new Map<string, StoredUser>();
  const groups = new Map<string, Group>();
  const transfers = new Map<string, StandinTransfer>();
  const completedEarly = new Set<string>();
  const tokens = new Map<string, { scopes: Set<string>; expiresAt: number }>();
  const sessions = new Map<string, number>();
  const signOutCount = new Map<string, number>();
  const log: RecordedRequest[] = [];
  const tokenStats = { ok: 0, refused: 0 };
  let faults: Fault[] = [];
  let tokenUrl = '';

  const newId = (): string => `1${Array.from({ length: 20 }, () => randomInt(10)).join('')}`;
  const etag = (): string => `"${randomBytes(12).toString('base64url')}"`;

  function findUser(key: string): StoredUser | undefined {
    const lower = decodeURIComponent(key).toLowerCase();
    const byId = users.get(key);
    if (byId) return byId;
    for (const u of users.values()) {
      if (u.primaryEmail.toLowerCase() === lower || (u.aliases ?? []).some((a) => a.toLowerCase() === lower)) return u;
    }
    return undefined;
  }

  function addressTaken(address: string, except?: string): boolean {
    const lower = address.toLowerCase();
    for (const u of users.values()) {
      if (u.id === except) continue;
      if (u.primaryEmail.toLowerCase() === lower || (u.aliases ?? []).some((a) => a.toLowerCase() === lower))
        return true;
    }
    for (const g of groups.values()) if (g.email.toLowerCase() === lower) return true;
    return false;
  }

  function publicUser(u: StoredUser): StandinUser {
    const { passwordSet: _p, ...rest } = u;
    return structuredClone(rest);
  }

  function findGroup(key: string): Group | undefined {
    const lower = key.toLowerCase();
    for (const g of groups.values()) if (g.id === key || g.email.toLowerCase() === lower) return g;
    return undefined;
  }

  // ---- validation of the User resource, as users.insert / users.patch check it --------------------------

  function checkEmail(v: unknown): string {
    if (typeof v !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(v)) throw bad('Invalid Input: primary_user_email');
    const domain = v.split('@')[1]?.toLowerCase() ?? '';
    if (!domains.includes(domain)) throw bad('Domain not found.', 'notFound');
    return v;
  }

  function applyUserFields(target: StoredUser, body: Record<string, unknown>, creating: boolean): void {
    for (const key of Object.keys(body)) {
      if (!USER_WRITABLE.has(key)) {
        throw bad(`Invalid JSON payload received. Unknown name "${key}" at 'resource': Cannot find field.`);
      }
    }
    if (body.primaryEmail !== undefined) {
      const email = checkEmail(body.primaryEmail);
      if (addressTaken(email, creating ? undefined : target.id)) {
        throw new HttpError(409, 'duplicate', 'Entity already exists.', 'ALREADY_EXISTS');
      }
      target.primaryEmail = email;
      target.emails = [{ address: email, primary: true }];
    }
    if (body.name !== undefined) {
      if (!isObject(body.name)) throw bad('Invalid Input: name');
      const given = body.name.givenName ?? (creating ? undefined : target.name.givenName);
      const family = body.name.familyName ?? (creating ? undefined : target.name.familyName);
      if (typeof given !== 'string' || given.trim() === '' || given.length > 60)
        throw bad('Invalid Given/Family Name: GivenName');
      if (typeof family !== 'string' || family.trim() === '' || family.length > 60)
        throw bad('Invalid Given/Family Name: FamilyName');
      target.name = { givenName: given, familyName: family, fullName: `${given} ${family}` };
    }
    if (body.password !== undefined) {
      const hash = body.hashFunction;
      if (hash !== undefined && !(typeof hash === 'string' && ['MD5', 'SHA-1', 'crypt'].includes(hash)))
        throw bad('Invalid Input: hashFunction');
      if (
        typeof body.password !== 'string' ||
        (hash === undefined && (body.password.length < 8 || body.password.length > 100))
      )
        throw bad('Invalid Password');
      target.passwordSet = true;
    }
    if (body.suspended !== undefined) {
      if (typeof body.suspended !== 'boolean') throw bad('Invalid value for: suspended');
      target.suspended = body.suspended;
    }
    if (body.changePasswordAtNextLogin !== undefined) {
      if (typeof body.changePasswordAtNextLogin !== 'boolean')
        throw bad('Invalid value for: changePasswordAtNextLogin');
      target.changePasswordAtNextLogin = body.changePasswordAtNextLogin;
    }
    if (body.orgUnitPath !== undefined) {
      if (typeof body.orgUnitPath !== 'string' || !orgUnits.has(body.orgUnitPath))
        throw bad('Invalid Input: INVALID_OU_ID');
      target.orgUnitPath = body.orgUnitPath;
    }
    if (body.externalIds !== undefined) {
      if (!Array.isArray(body.externalIds)) throw bad('Invalid Input: externalIds');
      const ids = body.externalIds.map((e: unknown) => {
        if (!isObject(e) || typeof e.value !== 'string' || typeof e.type !== 'string' || !EXTERNAL_ID_TYPES.has(e.type))
          throw bad('Invalid Input: externalIds');
        if (e.type === 'custom' && (typeof e.customType !== 'string' || e.customType === ''))
          throw bad('Invalid Input: custom type requires customType');
        return {
          value: e.value,
          type: e.type,
          ...(typeof e.customType === 'string' ? { customType: e.customType } : {}),
        };
      });
      if (ids.length > 0) target.externalIds = ids;
      else delete target.externalIds;
    }
    if (body.organizations !== undefined) {
      if (!Array.isArray(body.organizations)) throw bad('Invalid Input: organizations');
      const orgs = body.organizations.map((o: unknown) => {
        if (!isObject(o)) throw bad('Invalid Input: organizations');
        for (const k of Object.keys(o)) if (!ORGANIZATION_FIELDS.has(k)) throw bad(`Invalid Input: organizations.${k}`);
        return { ...o };
      });
      if (orgs.length > 0) target.organizations = orgs;
      else delete target.organizations;
    }
    if (body.relations !== undefined) {
      if (!Array.isArray(body.relations)) throw bad('Invalid Input: relations');
      const relations = body.relations.map((r: unknown) => {
        if (!isObject(r) || typeof r.value !== 'string' || typeof r.type !== 'string' || !RELATION_TYPES.has(r.type))
          throw bad('Invalid Input: relations');
        if (r.type === 'custom' && typeof r.customType !== 'string') throw bad('Invalid Input: relations');
        return {
          value: r.value,
          type: r.type,
          ...(typeof r.customType === 'string' ? { customType: r.customType } : {}),
        };
      });
      if (relations.length > 0) target.relations = relations;
      else delete target.relations;
    }
    if (body.includeInGlobalAddressList !== undefined)
      target.includeInGlobalAddressList = Boolean(body.includeInGlobalAddressList);
  }

  function createUser(body: Record<string, unknown>): StoredUser {
    if (body.primaryEmail === undefined) throw bad('Invalid Input: primary_user_email', 'required');
    if (!isObject(body.name)) throw bad('Invalid Given/Family Name: GivenName', 'required');
    if (body.password === undefined) throw bad('Invalid Password', 'required');
    const now = new Date().toISOString();
    const user: StoredUser = {
      kind: 'admin#directory#user',
      id: newId(),
      etag: etag(),
      primaryEmail: '',
      name: { givenName: '', familyName: '', fullName: '' },
      isAdmin: false,
      suspended: false,
      changePasswordAtNextLogin: false,
      orgUnitPath: '/',
      customerId,
      creationTime: now,
      includeInGlobalAddressList: true,
      isMailboxSetup: true,
      emails: [],
      passwordSet: false,
    };
    applyUserFields(user, body, true);
    users.set(user.id, user);
    return user;
  }

  // ---- users.list search ("Search for users") --------------------------------------------------------------

  /** Clauses `field:value`, `field='value'`, `field:{PREFIX}*`, separated by spaces (AND). */
  function parseQuery(q: string): ((u: StoredUser) => boolean)[] {
    const clauses: ((u: StoredUser) => boolean)[] = [];
    const re = /\s*([A-Za-z.]+)(=|:)('((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|[^\s]+)/y;
    let rest = q.trim();
    while (rest.length > 0) {
      re.lastIndex = 0;
      const m = re.exec(rest);
      if (!m) throw bad('Invalid Input');
      rest = rest.slice(m[0].length).trim();
      const [, field = '', op, raw = ''] = m;
      const quoted = m[4] ?? m[5];
      const value = (quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : raw).toLowerCase();
      const prefix = quoted === undefined && op === ':' && value.endsWith('*');
      const test = (s: string | undefined) =>
        s !== undefined && (prefix ? s.toLowerCase().startsWith(value.slice(0, -1)) : s.toLowerCase() === value);
      switch (field) {
        case 'email':
          clauses.push((u) => test(u.primaryEmail) || (u.aliases ?? []).some(test));
          break;
        case 'externalId':
          clauses.push((u) => (u.externalIds ?? []).some((e) => test(e.value)));
          break;
        case 'givenName':
          clauses.push((u) => test(u.name.givenName));
          break;
        case 'familyName':
          clauses.push((u) => test(u.name.familyName));
          break;
        case 'isSuspended':
          if (op !== '=' || !['true', 'false'].includes(value)) throw bad('Invalid Input');
          clauses.push((u) => u.suspended === (value === 'true'));
          break;
        case 'orgUnitPath':
          if (op !== '=') throw bad('Invalid Input');
          clauses.push((u) => u.orgUnitPath.toLowerCase() === value);
          break;
        default:
          throw bad('Invalid Input');
      }
    }
    return clauses;
  }

  function page<T>(items: T[], query: URLSearchParams, defaultMax: number): { items: T[]; next?: string } {
    const maxRaw = query.get('maxResults');
    let max = defaultMax;
    if (maxRaw !== null) {
      if (!/^\d+$/.test(maxRaw) || Number(maxRaw) < 1 || Number(maxRaw) > 500)
        throw bad('Invalid value for: maxResults');
      max = Number(maxRaw);
    }
    max = Math.min(max, maxPage);
    let start = 0;
    const token = query.get('pageToken');
    if (token !== null && token !== '') {
      const decoded = /^o(\d+)$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
      if (!decoded) throw bad('Invalid page token', 'badRequest');
      start = Number(decoded[1]);
    }
    const slice = items.slice(start, start + max);
    const next = start + max < items.length ? Buffer.from(`o${start + max}`).toString('base64url') : undefined;
    return next ? { items: slice, next } : { items: slice };
  }

  // ---- data transfers -----------------------------------------------------------------------------------------

  function transferView(t: StandinTransfer): StandinTransfer {
    const done = completedEarly.has(t.id) || Date.now() - Date.parse(t.requestTime) >= completesAfter;
    const view = structuredClone(t);
    if (done) {
      view.overallTransferStatusCode = 'completed';
      for (const a of view.applicationDataTransfers) a.applicationTransferStatus = 'completed';
    }
    return view;
  }

  function insertTransfer(body: Record<string, unknown>): StandinTransfer {
    for (const k of Object.keys(body)) {
      if (!['oldOwnerUserId', 'newOwnerUserId', 'applicationDataTransfers', 'kind'].includes(k))
        throw bad(`Invalid JSON payload received. Unknown name "${k}": Cannot find field.`);
    }
    const { oldOwnerUserId: from, newOwnerUserId: to, applicationDataTransfers: apps } = body;
    if (typeof from !== 'string' || typeof to !== 'string')
      throw bad('Missing required field: oldOwnerUserId/newOwnerUserId', 'required');
    // The API takes profile ids, not addresses.
    if (!users.has(from) || !users.has(to)) throw bad('Invalid user id', 'invalid');
    if (from === to) throw bad('Source and destination users must differ', 'invalid');
    if (!Array.isArray(apps) || apps.length === 0)
      throw bad('Missing required field: applicationDataTransfers', 'required');
    const parsed = apps.map((a: unknown) => {
      if (!isObject(a)) throw bad('Invalid Input: applicationDataTransfers');
      const app = GOOGLE_APPLICATIONS.find((g) => g.id === String(a.applicationId));
      if (!app) throw bad('Invalid application id', 'invalid');
      const params = Array.isArray(a.applicationTransferParams) ? a.applicationTransferParams : [];
      return {
        applicationId: app.id,
        applicationTransferParams: params.map((p: unknown) => {
          const known = app.transferParams as readonly { key: string; value: readonly string[] }[];
          if (!isObject(p) || typeof p.key !== 'string' || !Array.isArray(p.value))
            throw bad('Invalid transfer parameter');
          const def = known.find((k) => k.key === p.key);
          if (!def || !p.value.every((v) => def.value.includes(String(v)))) throw bad('Invalid transfer parameter');
          return { key: p.key, value: p.value.map(String) };
        }),
        applicationTransferStatus: 'pending',
      };
    });
    const t: StandinTransfer = {
      kind: 'admin#datatransfer#DataTransfer',
      id: `AKrEtI${randomBytes(18).toString('base64url')}`,
      etag: etag(),
      oldOwnerUserId: from,
      newOwnerUserId: to,
      applicationDataTransfers: parsed,
      overallTransferStatusCode: 'inProgress',
      requestTime: new Date().toISOString(),
    };
    transfers.set(t.id, t);
    return t;
  }

  // ---- token endpoint -----------------------------------------------------------------------------------------

  function oauthError(res: ServerResponse, status: number, error: string, description: string): void {
    tokenStats.refused += 1;
    send(res, status, { error, error_description: description });
  }

  function tokenEndpoint(req: IncomingMessage, raw: string, res: ServerResponse): void {
    if ((req.headers['content-type'] ?? '').split(';')[0]?.trim() !== 'application/x-www-form-urlencoded') {
      return oauthError(res, 400, 'invalid_request', 'Bad Request');
    }
    const form = new URLSearchParams(raw);
    if (form.get('grant_type') !== JWT_BEARER)
      return oauthError(res, 400, 'unsupported_grant_type', 'Invalid grant_type: ');
    const assertion = form.get('assertion') ?? '';
    const parts = assertion.split('.');
    if (parts.length !== 3)
      return oauthError(
        res,
        400,
        'invalid_grant',
        'Invalid JWT: Token must be a short-lived token and in a reasonable timeframe',
      );
    let header: unknown;
    let claims: unknown;
    try {
      header = b64urlJson(parts[0] ?? '');
      claims = b64urlJson(parts[1] ?? '');
    } catch {
      return oauthError(res, 400, 'invalid_grant', 'Invalid JWT Signature.');
    }
    if (!isObject(header) || header.alg !== 'RS256' || !isObject(claims)) {
      return oauthError(res, 400, 'invalid_grant', 'Invalid JWT Signature.');
    }
    const verifier = createVerify('RSA-SHA256');
    verifier.update(`${parts[0]}.${parts[1]}`);
    if (!verifier.verify(publicKey, Buffer.from(parts[2] ?? '', 'base64url'))) {
      return oauthError(res, 400, 'invalid_grant', 'Invalid JWT Signature.');
    }
    if (claims.iss !== options.clientEmail)
      return oauthError(res, 400, 'invalid_grant', 'Invalid grant: account not found');
    if (claims.aud !== tokenUrl) return oauthError(res, 400, 'invalid_grant', 'Invalid JWT: Failed audience check.');
    const now = Math.floor(Date.now() / 1000);
    const { iat, exp } = claims;
    if (typeof iat !== 'number' || typeof exp !== 'number' || exp <= now - 60 || iat > now + 60 || exp - iat > 3600) {
      return oauthError(
        res,
        400,
        'invalid_grant',
        'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.',
      );
    }
    if (typeof claims.sub !== 'string' || !options.admins.includes(claims.sub)) {
      return oauthError(
        res,
        401,
        'unauthorized_client',
        'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.',
      );
    }
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
    if (scopes.length === 0)
      return oauthError(res, 400, 'invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
    if (scopes.some((s) => !granted.has(s))) {
      return oauthError(
        res,
        401,
        'unauthorized_client',
        'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.',
      );
    }
    const token = `ya29.${randomBytes(32).toString('base64url')}`;
    tokens.set(token, { scopes: new Set(scopes), expiresAt: Date.now() + lifetime * 1000 });
    tokenStats.ok += 1;
    send(res, 200, { access_token: token, expires_in: lifetime, token_type: 'Bearer' });
  }

  // ---- the APIs -------------------------------------------------------------------------------------------------

  function authorize(req: IncomingMessage, needs: string[]): void {
    const header = req.headers.authorization;
    if (header === undefined) {
      throw new HttpError(401, 'required', 'Login Required.', 'UNAUTHENTICATED');
    }
    const m = /^Bearer (\S+)$/.exec(header);
    const t = m ? tokens.get(m[1] ?? '') : undefined;
    if (!t || Date.now() >= t.expiresAt) {
      throw new HttpError(
        401,
        'authError',
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
        'UNAUTHENTICATED',
      );
    }
    if (!needs.some((s) => t.scopes.has(s))) {
      throw new HttpError(
        403,
        'insufficientPermissions',
        'Request had insufficient authentication scopes.',
        'PERMISSION_DENIED',
      );
    }
  }

  function jsonBody(raw: string, required: boolean): Record<string, unknown> {
    if (raw.trim() === '') {
      if (required) throw bad('Invalid JSON payload received. Expected a JSON object.', 'parseError');
      return {};
    }
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      throw bad('Invalid JSON payload received. Unexpected token.', 'parseError');
    }
    if (!isObject(body)) throw bad('Invalid JSON payload received. Expected a JSON object.', 'parseError');
    return body;
  }

  function requireCustomerOrDomain(query: URLSearchParams): void {
    const customer = query.get('customer');
    const domain = query.get('domain');
    if (customer === null && domain === null) throw bad('Bad Request', 'badRequest');
    if (customer !== null && customer !== 'my_customer' && customer !== customerId) throw notFound('customer');
    if (domain !== null && !domains.includes(domain.toLowerCase())) throw notFound('domain');
  }

  type Route = (m: RegExpExecArray, req: IncomingMessage, query: URLSearchParams, raw: string) => [number, unknown?];
  const D = '/admin/directory/v1';
  const T = '/admin/datatransfer/v1';
  const routes: [string, RegExp, string[], Route][] = [
    [
      'POST',
      new RegExp(`^${D}/users$`),
      [SCOPE.user],
      (_m, _req, _q, raw) => [200, publicUser(createUser(jsonBody(raw, true)))],
    ],
    [
      'GET',
      new RegExp(`^${D}/users$`),
      [SCOPE.user, SCOPE.userReadonly],
      (_m, _req, q) => {
        requireCustomerOrDomain(q);
        const clauses = parseQuery(q.get('query') ?? '');
        const all = [...users.values()]
          .filter((u) => clauses.every((c) => c(u)))
          .sort((a, b) => a.primaryEmail.localeCompare(b.primaryEmail));
        const p = page(all, q, 100);
        return [
          200,
          {
            kind: 'admin#directory#users',
            etag: etag(),
            ...(p.items.length > 0 ? { users: p.items.map(publicUser) } : {}),
            ...(p.next ? { nextPageToken: p.next } : {}),
          },
        ];
      },
    ],
    [
      'GET',
      new RegExp(`^${D}/users/([^/]+)$`),
      [SCOPE.user, SCOPE.userReadonly],
      (m) => {
        const u = findUser(m[1] ?? '');
        if (!u) throw notFound('userKey');
        return [200, publicUser(u)];
      },
    ],
    [
      'PATCH',
      new RegExp(`^${D}/users/([^/]+)$`),
      [SCOPE.user],
      (m, _req, _q, raw) => {
        const u = findUser(m[1] ?? '');
        if (!u) throw notFound('userKey');
        const body = jsonBody(raw, true);
        const copy = structuredClone(u);
        applyUserFields(copy, body, false);
        copy.etag = etag();
        users.set(u.id, copy);
        return [200, publicUser(copy)];
      },
    ],
    [
      'PUT',
      new RegExp(`^${D}/users/([^/]+)$`),
      [SCOPE.user],
      (m, _req, _q, raw) => {
        const u = findUser(m[1] ?? '');
        if (!u) throw notFound('userKey');
        const copy = structuredClone(u);
        applyUserFields(copy, jsonBody(raw, true), false);
        copy.etag = etag();
        users.set(u.id, copy);
        return [200, publicUser(copy)];
      },
    ],
    [
      'DELETE',
      new RegExp(`^${D}/users/([^/]+)$`),
      [SCOPE.user],
      (m) => {
        const u = findUser(m[1] ?? '');
        if (!u) throw notFound('userKey');
        users.delete(u.id);
        for (const g of groups.values()) g.members.delete(u.id);
        return [204];
      },
    ],
    [
      'POST',
      new RegExp(`^${D}/users/([^/]+)/signOut$`),
      [SCOPE.security],
      (m, _req, _q, raw) => {
        if (raw.trim() !== '') throw bad('The request body must be empty.', 'badRequest');
        const u = findUser(m[1] ?? '');
        if (!u) throw notFound('userKey');
        sessions.set(u.id, 0);
        signOutCount.set(u.id, (signOutCount.get(u.id) ?? 0) + 1);
        return [204];
      },
    ],
    [
      'GET',
      new RegExp(`^${D}/groups/([^/]+)$`),
      [SCOPE.group, SCOPE.groupReadonly],
      (m) => {
        const g = findGroup(decodeURIComponent(m[1] ?? ''));
        if (!g) throw notFound('groupKey');
        return [
          200,
          {
            kind: 'admin#directory#group',
            id: g.id,
            etag: etag(),
            email: g.email,
            name: g.name,
            directMembersCount: String(g.members.size),
            adminCreated: true,
          },
        ];
      },
    ],
    [
      'GET',
      new RegExp(`^${D}/groups/([^/]+)/members$`),
      [SCOPE.member, SCOPE.group, SCOPE.groupReadonly],
      (m, _req, q) => {
        const g = findGroup(decodeURIComponent(m[1] ?? ''));
        if (!g) throw notFound('groupKey');
        const p = page([...g.members.values()], q, 200);
        return [
          200,
          {
            kind: 'admin#directory#members',
            etag: etag(),
            ...(p.items.length > 0
              ? {
                  members: p.items.map((x) => ({
                    kind: 'admin#directory#member',
                    etag: etag(),
                    id: x.id,
                    email: x.email,
                    role: x.role,
                    type: 'USER',
                    status: 'ACTIVE',
                  })),
                }
              : {}),
            ...(p.next ? { nextPageToken: p.next } : {}),
          },
        ];
      },
    ],
    [
      'POST',
      new RegExp(`^${D}/groups/([^/]+)/members$`),
      [SCOPE.member, SCOPE.group],
      (m, _req, _q, raw) => {
        const g = findGroup(decodeURIComponent(m[1] ?? ''));
        if (!g) throw notFound('groupKey');
        const body = jsonBody(raw, true);
        for (const k of Object.keys(body)) {
          if (!['email', 'id', 'role', 'type', 'delivery_settings', 'kind'].includes(k))
            throw bad(`Invalid JSON payload received. Unknown name "${k}": Cannot find field.`);
        }
        const role = body.role ?? 'MEMBER';
        if (typeof role !== 'string' || !['MEMBER', 'MANAGER', 'OWNER'].includes(role))
          throw bad('Invalid Input: role');
        const key = typeof body.email === 'string' ? body.email : typeof body.id === 'string' ? body.id : undefined;
        if (key === undefined) throw bad('Missing required field: memberKey', 'required');
        const u = findUser(key);
        if (!u) throw notFound('memberKey');
        if (g.members.has(u.id)) throw new HttpError(409, 'duplicate', 'Member already exists.', 'ALREADY_EXISTS');
        g.members.set(u.id, { id: u.id, email: u.primaryEmail, role });
        return [
          200,
          {
            kind: 'admin#directory#member',
            etag: etag(),
            id: u.id,
            email: u.primaryEmail,
            role,
            type: 'USER',
            status: 'ACTIVE',
          },
        ];
      },
    ],
    [
      'DELETE',
      new RegExp(`^${D}/groups/([^/]+)/members/([^/]+)$`),
      [SCOPE.member, SCOPE.group],
      (m) => {
        const g = findGroup(decodeURIComponent(m[1] ?? ''));
        if (!g) throw notFound('groupKey');
        const u = findUser(m[2] ?? '');
        if (!u || !g.members.has(u.id)) throw notFound('memberKey');
        g.members.delete(u.id);
        return [204];
      },
    ],
    [
      'GET',
      new RegExp(`^${T}/applications$`),
      [SCOPE.transfer, SCOPE.transferReadonly],
      (_m, _req, q) => {
        const p = page([...GOOGLE_APPLICATIONS], q, 100);
        return [
          200,
          {
            kind: 'admin#datatransfer#applicationsList',
            etag: etag(),
            applications: p.items.map((a) => ({ kind: 'admin#datatransfer#ApplicationResource', etag: etag(), ...a })),
            ...(p.next ? { nextPageToken: p.next } : {}),
          },
        ];
      },
    ],
    [
      'POST',
      new RegExp(`^${T}/transfers$`),
      [SCOPE.transfer],
      (_m, _req, _q, raw) => [200, transferView(insertTransfer(jsonBody(raw, true)))],
    ],
    [
      'GET',
      new RegExp(`^${T}/transfers$`),
      [SCOPE.transfer, SCOPE.transferReadonly],
      (_m, _req, q) => {
        const from = q.get('oldOwnerUserId');
        const to = q.get('newOwnerUserId');
        const status = q.get('status');
        const all = [...transfers.values()]
          .map(transferView)
          .filter(
            (t) =>
              (from === null || t.oldOwnerUserId === from) &&
              (to === null || t.newOwnerUserId === to) &&
              (status === null || t.overallTransferStatusCode === status),
          );
        const p = page(all, q, 100);
        return [
          200,
          {
            kind: 'admin#datatransfer#dataTransfersList',
            etag: etag(),
            dataTransfers: p.items,
            ...(p.next ? { nextPageToken: p.next } : {}),
          },
        ];
      },
    ],
    [
      'GET',
      new RegExp(`^${T}/transfers/([^/]+)$`),
      [SCOPE.transfer, SCOPE.transferReadonly],
      (m) => {
        const t = transfers.get(decodeURIComponent(m[1] ?? ''));
        if (!t) throw notFound('dataTransferId');
        return [200, transferView(t)];
      },
    ],
  ];

  function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
    if (body === undefined) {
      res.writeHead(status, headers).end();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers }).end(JSON.stringify(body));
  }

  function errorBody(status: number, reason: string, message: string, statusName: string): unknown {
    return { error: { code: status, message, errors: [{ message, domain: 'global', reason }], status: statusName } };
  }

  function takeFault(method: string, path: string): Fault | undefined {
    const i = faults.findIndex((f) => f.method === method && path.startsWith(f.path));
    if (i < 0) return undefined;
    const [f] = faults.splice(i, 1);
    return f;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://standin');
    const method = req.method ?? 'GET';
    if (url.pathname === '/token') {
      if (method !== 'POST')
        return send(res, 405, { error: 'invalid_request', error_description: 'Method not allowed' });
      const tokenFault = takeFault(method, url.pathname);
      if (tokenFault?.kind === 'status') {
        tokenStats.refused += 1;
        return send(
          res,
          tokenFault.status ?? 503,
          { error: tokenFault.reason ?? 'temporarily_unavailable', error_description: 'Try again later.' },
          tokenFault.retryAfter !== undefined ? { 'retry-after': String(tokenFault.retryAfter) } : {},
        );
      }
      return tokenEndpoint(req, raw, res);
    }
    let recorded: unknown;
    try {
      recorded = raw.trim() === '' ? undefined : JSON.parse(raw);
    } catch {
      recorded = undefined;
    }
    if (isObject(recorded) && typeof recorded.password === 'string') {
      recorded = { ...recorded, password: { length: recorded.password.length } };
    }
    log.push({
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      ...(recorded !== undefined ? { body: recorded } : {}),
      ...(req.headers.authorization !== undefined ? { authorization: req.headers.authorization } : {}),
    });
    const fault = takeFault(method, url.pathname);
    if (fault?.kind === 'status') {
      const status = fault.status ?? 500;
      const reason =
        fault.reason ?? (status === 429 ? 'rateLimitExceeded' : status >= 500 ? 'backendError' : 'badRequest');
      return send(
        res,
        status,
        errorBody(
          status,
          reason,
          status >= 500 ? 'Backend Error' : 'Rate Limit Exceeded',
          STATUS_NAMES[status] ?? 'UNKNOWN',
        ),
        fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {},
      );
    }
    const route = routes.find(([m, re]) => m === method && re.test(url.pathname));
    try {
      if (!route) throw new HttpError(404, 'notFound', 'Not Found', 'NOT_FOUND');
      const [, re, scopes, fn] = route;
      authorize(req, scopes);
      const match = re.exec(url.pathname);
      if (!match) throw new HttpError(404, 'notFound', 'Not Found', 'NOT_FOUND');
      const [status, body] = fn(match, req, url.searchParams, raw);
      if (fault?.kind === 'delay') await new Promise((r) => setTimeout(r, fault.delayMs ?? 0));
      if (res.destroyed) return;
      send(res, status, body);
    } catch (err) {
      if (err instanceof HttpError)
        return send(res, err.status, errorBody(err.status, err.reason, err.message, err.statusName));
      send(res, 500, errorBody(500, 'backendError', 'Backend Error', 'INTERNAL'));
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, errorBody(500, 'backendError', 'Backend Error', 'INTERNAL'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  tokenUrl = `${url}/token`;

  return {
    url,
    tokenUrl,
    customerId,
    users: () => [...users.values()].map(publicUser),
    user: (key) => {
      const u = findUser(key);
      return u ? publicUser(u) : undefined;
    },
    seedUser: (s) => {
      const u = createUser({
        primaryEmail: s.primaryEmail,
        name: { givenName: s.givenName, familyName: s.familyName },
        password: randomBytes(12).toString('hex'),
        suspended: s.suspended ?? false,
        ...(s.orgUnitPath ? { orgUnitPath: s.orgUnitPath } : {}),
        ...(s.hrId ? { externalIds: [{ type: s.externalIdType ?? 'organization', value: s.hrId }] } : {}),
      });
      if (s.aliases) u.aliases = [...s.aliases];
      return publicUser(u);
    },
    addOrgUnit: (p) => void orgUnits.add(p),
    createGroup: (email, name) => {
      const g: Group = { id: `0${randomBytes(7).toString('hex')}`, email, name: name ?? email, members: new Map() };
      groups.set(g.id, g);
      return { id: g.id, email: g.email };
    },
    groupMembers: (key) => [...(findGroup(key)?.members.keys() ?? [])],
    transfers: () => [...transfers.values()].map(transferView),
    completeTransfer: (id) => void completedEarly.add(id),
    openSession: (key) => {
      const u = findUser(key);
      if (u) sessions.set(u.id, (sessions.get(u.id) ?? 0) + 1);
    },
    activeSessions: (key) => {
      const u = findUser(key);
      return u ? (sessions.get(u.id) ?? 0) : 0;
    },
    signOuts: (key) => {
      const u = findUser(key);
      return u ? (signOutCount.get(u.id) ?? 0) : 0;
    },
    tokenRequests: () => ({ ...tokenStats }),
    expireTokens: () => {
      for (const t of tokens.values()) t.expiresAt = 0;
    },
    requests: () => [...log],
    faults: {
      next: (f) => void faults.push({ ...f, kind: 'status' }),
      delayAfterWrite: (f) => void faults.push({ ...f, kind: 'delay' }),
      clear: () => {
        faults = [];
      },
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A stand-in and a service account of the test's own: a fresh RSA key pair, its JSON key as Google issues it. */
export async function startGoogleWorkspace(
  options: Omit<GoogleStandinOptions, 'publicKey' | 'clientEmail'>,
): Promise<{ standin: GoogleStandin; serviceAccountKey: string; clientEmail: string; privateKey: KeyObject }> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const clientEmail = `tenure-${randomBytes(3).toString('hex')}@tenure-test.iam.gserviceaccount.com`;
  const standin = await startGoogleStandin({ ...options, publicKey, clientEmail });
  const serviceAccountKey = JSON.stringify({
    type: 'service_account',
    project_id: 'tenure-test',
    private_key_id: randomBytes(20).toString('hex'),
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: clientEmail,
    client_id: '109876543210987654321',
    token_uri: standin.tokenUrl,
  });
  return { standin, serviceAccountKey, clientEmail, privateKey };
}
