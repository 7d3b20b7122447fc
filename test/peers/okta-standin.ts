/**
 * A local stand-in for Okta's Management API (`/api/v1`) and its org authorization server's token endpoint, built from
 * Okta's published request/response shapes (developer.okta.com: Users, User Lifecycle, User Sessions, Groups,
 * pagination, rate limits, error codes, OAuth 2.0 client credentials with private_key_jwt). It keeps users, groups and
 * sessions in memory and refuses what Okta refuses:
 *
 * - `Authorization: SSWS <token>` for API tokens, `Bearer <access token>` for OAuth tokens: the wrong scheme, an
 *   unknown or expired token → 401 `E0000011`; an OAuth token without the needed scope → 403 `E0000006`.
 * - unknown user/group id → 404 `E0000007`; malformed JSON → 400 `E0000003`; an undefined profile property, a
 *   missing required one or a login that is not an e-mail address → 400 `E0000001`; a login that exists → 400
 *   `E0000001` with `errorCauses` "login: An object with this field already exists in the current organization".
 * - lifecycle transitions only from the statuses Okta documents (activate: STAGED/DEPROVISIONED; reactivate:
 *   PROVISIONED/RECOVERY; suspend: ACTIVE; unsuspend: SUSPENDED; deactivate: not DEPROVISIONED); otherwise 400
 *   `E0000001`, or 403 `E0000016` when activating a user who is already active.
 * - `filter` only on status, lastUpdated, id, profile.login/email/firstName/lastName; `search` on any profile
 *   attribute; anything else → 400 `E0000031`. A plain list leaves DEPROVISIONED users out.
 * - every answer carries `X-Rate-Limit-Limit/Remaining/Reset`; over the per-minute limit → 429 `E0000047`.
 * - the token endpoint verifies the RS256 client assertion against the public key the test registered: `iss` = `sub`
 *   = client id, `aud` = this token URL, unexpired, at most an hour long, `jti` never reused; scopes the client was
 *   granted only (`invalid_scope`).
 */
import { createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type OktaStatus =
  'STAGED' | 'PROVISIONED' | 'ACTIVE' | 'RECOVERY' | 'LOCKED_OUT' | 'PASSWORD_EXPIRED' | 'SUSPENDED' | 'DEPROVISIONED';

export interface StandinUser {
  id: string;
  status: OktaStatus;
  created: string;
  activated: string | null;
  statusChanged: string | null;
  lastLogin: string | null;
  lastUpdated: string;
  passwordChanged: string | null;
  profile: Record<string, string | null>;
  /** `OKTA` with a password, `FEDERATION`/`SOCIAL`, or none (activation then leaves the user PROVISIONED). */
  credentials: { password?: boolean; provider: { type: string; name: string } };
}

export interface StandinGroup {
  id: string;
  name: string;
  members: Set<string>;
}

export interface OAuthClientRegistration {
  clientId: string;
  /** PEM (SPKI) public key the client's assertions are verified with. */
  publicKeyPem: string;
  /** Scopes the admin granted the app. */
  scopes: string[];
}

export interface OktaStandinOptions {
  /** Valid API tokens (`SSWS`). */
  apiTokens?: string[];
  oauthClients?: OAuthClientRegistration[];
  /** The most results one page holds, whatever `limit` asks. @default 200 */
  maxLimit?: number;
  /** Custom profile attributes defined in the org's user schema (e.g. `workdayId`). */
  customAttributes?: string[];
  /** Requests per minute before 429. @default 100000 */
  rateLimitPerMinute?: number;
}

export interface FaultMatch {
  method?: string;
  /** Prefix of the request path, e.g. `/api/v1/users`. */
  path?: string;
  /** Exact path when true (e.g. only `POST /api/v1/users`, not lifecycle calls below it). */
  exact?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** `SSWS`, `Bearer`, or `''`. */
  scheme: string;
  body: unknown;
}

export interface OktaStandin {
  url: string;
  tokenUrl: string;
  users(): StandinUser[];
  user(id: string): StandinUser | undefined;
  /** Puts a user in directly, as an admin would; returns its id. */
  seedUser(u: { profile: Record<string, string>; status?: OktaStatus; password?: boolean }): string;
  createGroup(name: string): string;
  groupMembers(groupId: string): string[];
  groupName(groupId: string): string;
  /** Simulates a sign-in: a session (and an OAuth refresh token) for the user. */
  openSession(userId: string): void;
  activeSessions(userId: string): number;
  activeOAuthTokens(userId: string): number;
  requests: RecordedRequest[];
  faults: {
    /** The next `count` matching requests answer `status` with Okta's error body, doing nothing. */
    next(count: number, f: FaultMatch & { status: number; errorCode?: string; resetInSeconds?: number }): void;
    /** The next `count` matching requests are carried out, then answered after `ms`. */
    delayResponse(count: number, ms: number, match: FaultMatch): void;
    /** Runs `fn` just before the next matching request is handled (another admin's write racing the connector). */
    beforeNext(match: FaultMatch, fn: () => void): void;
    /** The next `count` lifecycle calls leave the user transitioning (`transitioningToStatus`) until read once. */
    slowTransition(count: number): void;
  };
  /** Revoke every access token issued so far (as if they expired). */
  expireAccessTokens(): void;
  close(): Promise<void>;
}

const BASE_ATTRIBUTES = [
  'login',
  'email',
  'secondEmail',
  'firstName',
  'lastName',
  'middleName',
  'honorificPrefix',
  'honorificSuffix',
  'title',
  'displayName',
  'nickName',
  'profileUrl',
  'primaryPhone',
  'mobilePhone',
  'streetAddress',
  'city',
  'state',
  'zipCode',
  'countryCode',
  'postalAddress',
  'preferredLanguage',
  'locale',
  'timezone',
  'userType',
  'employeeNumber',
  'costCenter',
  'organization',
  'division',
  'department',
  'managerId',
  'manager',
];
const REQUIRED = ['login', 'email', 'firstName', 'lastName'];
const FILTERABLE = [
  'status',
  'lastUpdated',
  'id',
  'profile.login',
  'profile.email',
  'profile.firstName',
  'profile.lastName',
];
const ENABLED: OktaStatus[] = ['ACTIVE', 'PROVISIONED', 'RECOVERY', 'LOCKED_OUT', 'PASSWORD_EXPIRED'];
const SUMMARIES: Record<string, string> = {
  E0000001: 'Api validation failed',
  E0000003: 'The request body was not well-formed.',
  E0000006: 'You do not have permission to perform the requested action',
  E0000007: 'Not found: Resource not found',
  E0000009: 'Internal Server Error',
  E0000011: 'Invalid token provided',
  E0000016: 'Activation failed because the user is already active',
  E0000022: 'The endpoint does not support the provided HTTP method',
  E0000031: 'Invalid search criteria.',
  E0000047: 'API call exceeded rate limit due to too many requests.',
};

function oktaId(prefix: string): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const bytes = randomBytes(17);
  return prefix + Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    readonly causes: string[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(errorCode);
  }
}

function b64urlJson(part: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** `attr eq "value"` or `attr sw "value"`, joined by `and`; `undefined` when it is not that. */
function parseExpression(expr: string): { attr: string; op: 'eq' | 'sw'; value: string }[] | undefined {
  const out: { attr: string; op: 'eq' | 'sw'; value: string }[] = [];
  const re = /^\s*([A-Za-z][A-Za-z0-9_.]*)\s+(eq|sw)\s+("(?:[^"\\]|\\.)*")\s*(?:and\s+|$)/i;
  let rest = expr;
  while (rest.trim() !== '') {
    const m = re.exec(rest);
    if (!m) return undefined;
    let value: string;
    try {
      value = JSON.parse(m[3] ?? '') as string;
    } catch {
      return undefined;
    }
    out.push({ attr: m[1] ?? '', op: (m[2] ?? 'eq').toLowerCase() as 'eq' | 'sw', value });
    rest = rest.slice(m[0].length);
  }
  return out.length > 0 ? out : undefined;
}

export async function startOktaStandin(opts: OktaStandinOptions = {}): Promise<OktaStandin> {
  const apiTokens = new Set(opts.apiTokens ?? []);
  const clients = new Map<string, { key: KeyObject; scopes: string[] }>();
  for (const c of opts.oauthClients ?? [])
    clients.set(c.clientId, { key: createPublicKey(c.publicKeyPem), scopes: c.scopes });
  const maxLimit = opts.maxLimit ?? 200;
  const attributes = new Set([...BASE_ATTRIBUTES, ...(opts.customAttributes ?? [])]);
  const perMinute = opts.rateLimitPerMinute ?? 100_000;

  const users = new Map<string, StandinUser>();
  const groups = new Map<string, StandinGroup>();
  const sessions = new Map<string, number>();
  const oauthTokens = new Map<string, number>();
  const accessTokens = new Map<string, { scopes: string[]; expiresAt: number }>();
  const usedJti = new Set<string>();
  const transitioning = new Map<string, { from: OktaStatus; to: OktaStatus }>();
  const requests: RecordedRequest[] = [];
  const errorFaults: (FaultMatch & { count: number; status: number; errorCode?: string; resetInSeconds?: number })[] =
    [];
  const delayFaults: (FaultMatch & { count: number; ms: number })[] = [];
  const hooks: (FaultMatch & { fn?: () => void })[] = [];
  let slowTransitions = 0;
  let window = { start: 0, used: 0 };
  let url = '';

  const now = () => new Date().toISOString();
  const byLogin = (login: string) =>
    [...users.values()].find((u) => (u.profile.login ?? '').toLowerCase() === login.toLowerCase());

  function newUser(
    profile: Record<string, string | null>,
    status: OktaStatus,
    credentials: StandinUser['credentials'],
  ) {
    const t = now();
    const u: StandinUser = {
      id: oktaId('00u'),
      status,
      created: t,
      activated: status === 'STAGED' ? null : t,
      statusChanged: t,
      lastLogin: null,
      lastUpdated: t,
      passwordChanged: credentials.password ? t : null,
      profile,
      credentials,
    };
    users.set(u.id, u);
    return u;
  }

  function render(u: StandinUser): Record<string, unknown> {
    const shown = transitioning.get(u.id);
    return {
      id: u.id,
      // While a transition is under way Okta shows the old status and where it is going.
      status: shown === undefined ? u.status : shown.from,
      created: u.created,
      activated: u.activated,
      statusChanged: u.statusChanged,
      lastLogin: u.lastLogin,
      lastUpdated: u.lastUpdated,
      passwordChanged: u.passwordChanged,
      type: { id: 'oty1standin0000000000' },
      ...(shown !== undefined ? { transitioningToStatus: shown.to } : {}),
      profile: u.profile,
      credentials: { ...(u.credentials.password ? { password: {} } : {}), provider: u.credentials.provider },
      _links: { self: { href: `${url}/api/v1/users/${u.id}` } },
    };
  }

  function renderGroup(g: StandinGroup): Record<string, unknown> {
    return {
      id: g.id,
      created: now(),
      type: 'OKTA_GROUP',
      profile: { name: g.name, description: null },
      _links: { self: { href: `${url}/api/v1/groups/${g.id}` } },
    };
  }

  function checkProfile(profile: unknown, full: boolean): Record<string, string | null> {
    if (typeof profile !== 'object' || profile === null || Array.isArray(profile))
      throw new HttpError(400, 'E0000001', ['profile: The field cannot be left blank']);
    const causes: string[] = [];
    const out: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(profile as Record<string, unknown>)) {
      if (!attributes.has(k)) causes.push(`Property name '${k}' is not defined in profile`);
      else if (v !== null && typeof v !== 'string') causes.push(`${k}: Does not match required type`);
      else out[k] = v;
    }
    if (full) for (const r of REQUIRED) if (!out[r]) causes.push(`${r}: The field cannot be left blank`);
    if (out.login !== undefined && !/^[^@\s]+@[^@\s]+$/.test(out.login ?? ''))
      causes.push('login: Username must be in the form of an email address');
    if (out.email !== undefined && out.email !== null && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(out.email))
      causes.push('email: Does not match required pattern');
    if (causes.length > 0) throw new HttpError(400, 'E0000001', causes);
    return out;
  }

  function requireUser(id: string): StandinUser {
    const u = users.get(id) ?? byLogin(id);
    if (!u) throw new HttpError(404, 'E0000007');
    return u;
  }

  function setStatus(u: StandinUser, status: OktaStatus): void {
    const from = u.status;
    u.status = status;
    u.statusChanged = now();
    u.lastUpdated = u.statusChanged;
    if (status === 'ACTIVE' || status === 'PROVISIONED') u.activated = u.statusChanged;
    if (slowTransitions > 0) {
      slowTransitions -= 1;
      transitioning.set(u.id, { from, to: status });
    }
  }

  function activatedStatus(u: StandinUser): OktaStatus {
    return u.credentials.password || u.credentials.provider.type !== 'OKTA' ? 'ACTIVE' : 'PROVISIONED';
  }

  /** Scopes the request's credential grants; `all` for an API token (it acts as its admin). */
  function authenticate(header: string | undefined): { scheme: string; scopes: string[] | 'all' } {
    const m = /^(SSWS|Bearer) (.+)$/.exec(header ?? '');
    if (!m) throw new HttpError(401, 'E0000011');
    const [, scheme, token] = m as unknown as [string, string, string];
    if (scheme === 'SSWS') {
      if (!apiTokens.has(token)) throw new HttpError(401, 'E0000011');
      return { scheme, scopes: 'all' };
    }
    const t = accessTokens.get(token);
    if (!t || t.expiresAt <= Date.now()) {
      throw new HttpError(401, 'E0000011', [], {
        'WWW-Authenticate':
          'Bearer authorization_uri="' + url + '/oauth2/v1/authorize", realm="IdpAPIs", error="invalid_token"',
      });
    }
    return { scheme, scopes: t.scopes };
  }

  function requireScope(scopes: string[] | 'all', resource: 'users' | 'groups', write: boolean): void {
    if (scopes === 'all') return;
    const ok = scopes.includes(`okta.${resource}.manage`) || (!write && scopes.includes(`okta.${resource}.read`));
    if (!ok) {
      const needed = `okta.${resource}.${write ? 'manage' : 'read'}`;
      throw new HttpError(403, 'E0000006', [], {
        'WWW-Authenticate': `Bearer realm="IdpAPIs", error="insufficient_scope", scope="${needed}"`,
      });
    }
  }

  function matchUsers(param: string, kind: 'search' | 'filter'): StandinUser[] {
    const terms = parseExpression(param);
    if (!terms) throw new HttpError(400, 'E0000031');
    for (const t of terms) {
      const allowed =
        kind === 'filter'
          ? FILTERABLE.includes(t.attr)
          : t.attr === 'id' ||
            t.attr === 'status' ||
            (t.attr.startsWith('profile.') && attributes.has(t.attr.slice(8)));
      if (!allowed) throw new HttpError(400, 'E0000031');
    }
    return [...users.values()].filter((u) =>
      terms.every((t) => {
        const raw =
          t.attr === 'id'
            ? u.id
            : t.attr === 'status'
              ? u.status
              : t.attr === 'lastUpdated'
                ? u.lastUpdated
                : u.profile[t.attr.slice(8)];
        const v = (raw ?? '').toLowerCase();
        const want = t.value.toLowerCase();
        return t.op === 'eq' ? v === want : v.startsWith(want);
      }),
    );
  }

  /** One page after the `after` cursor, and the Link header for it. */
  function page<T extends { id: string }>(
    items: T[],
    path: string,
    query: URLSearchParams,
    defaultLimit: number,
  ): { items: T[]; link: string } {
    const asked = Number(query.get('limit') ?? defaultLimit);
    if (!Number.isInteger(asked) || asked < 1) throw new HttpError(400, 'E0000001', ['limit: Invalid value']);
    const limit = Math.min(asked, maxLimit);
    const after = query.get('after');
    let start = 0;
    if (after) {
      const i = items.findIndex((x) => x.id === after);
      start = i < 0 ? items.length : i + 1;
    }
    const slice = items.slice(start, start + limit);
    const self = new URLSearchParams(query);
    const links = [`<${url}${path}?${self.toString()}>; rel="self"`];
    const last = slice.at(-1);
    if (last && start + limit < items.length) {
      const next = new URLSearchParams(query);
      next.set('after', last.id);
      next.set('limit', String(limit));
      links.push(`<${url}${path}?${next.toString()}>; rel="next"`);
    }
    return { items: slice, link: links.join(', ') };
  }

  function lifecycle(u: StandinUser, op: string, query: URLSearchParams): unknown {
    const refuse = (what: string) =>
      new HttpError(400, 'E0000001', [`${what} is not allowed in the user's current status`]);
    const token = () =>
      query.get('sendEmail') === 'true'
        ? {}
        : {
            activationUrl: `${url}/welcome/${randomBytes(10).toString('hex')}`,
            activationToken: randomBytes(10).toString('hex'),
          };
    switch (op) {
      case 'activate':
        if (ENABLED.includes(u.status)) throw new HttpError(403, 'E0000016');
        if (u.status !== 'STAGED' && u.status !== 'DEPROVISIONED') throw refuse('activate');
        setStatus(u, activatedStatus(u));
        return token();
      case 'reactivate':
        if (u.status !== 'PROVISIONED' && u.status !== 'RECOVERY') throw refuse('reactivate');
        setStatus(u, 'PROVISIONED');
        return token();
      case 'suspend':
        if (u.status !== 'ACTIVE') throw refuse('suspend');
        setStatus(u, 'SUSPENDED');
        return {};
      case 'unsuspend':
        if (u.status !== 'SUSPENDED') throw refuse('unsuspend');
        setStatus(u, 'ACTIVE');
        return {};
      case 'deactivate':
        if (u.status === 'DEPROVISIONED') throw refuse('deactivate');
        setStatus(u, 'DEPROVISIONED');
        return {};
      default:
        throw new HttpError(404, 'E0000007');
    }
  }

  function token(form: URLSearchParams): { status: number; body: Record<string, unknown> } {
    const fail = (status: number, error: string, description: string) => ({
      status,
      body: { error, error_description: description },
    });
    if (form.get('grant_type') !== 'client_credentials')
      return fail(400, 'unsupported_grant_type', 'The authorization grant type is not supported.');
    if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
      return fail(401, 'invalid_client', 'Client authentication failed.');
    const jwt = form.get('client_assertion') ?? '';
    const parts = jwt.split('.');
    const header = parts.length === 3 ? b64urlJson(parts[0] ?? '') : undefined;
    const claims = parts.length === 3 ? b64urlJson(parts[1] ?? '') : undefined;
    if (!header || !claims || header.alg !== 'RS256')
      return fail(401, 'invalid_client', 'The client_assertion token is invalid.');
    const clientId = typeof claims.iss === 'string' ? claims.iss : '';
    const client = clients.get(clientId);
    if (!client || claims.sub !== clientId || (form.has('client_id') && form.get('client_id') !== clientId))
      return fail(401, 'invalid_client', 'The client_assertion token is invalid.');
    const ok = verify(
      'sha256',
      Buffer.from(`${parts[0]}.${parts[1]}`),
      client.key,
      Buffer.from(parts[2] ?? '', 'base64url'),
    );
    if (!ok) return fail(401, 'invalid_client', 'The client_assertion signature is invalid.');
    if (claims.aud !== `${url}/oauth2/v1/token`)
      return fail(401, 'invalid_client', 'The audience claim of the client_assertion is invalid.');
    const nowS = Date.now() / 1000;
    const exp = typeof claims.exp === 'number' ? claims.exp : 0;
    const iat = typeof claims.iat === 'number' ? claims.iat : nowS;
    if (exp <= nowS || exp - iat > 3600) return fail(401, 'invalid_client', 'The client_assertion token is expired.');
    const jti = typeof claims.jti === 'string' ? claims.jti : '';
    if (jti === '' || usedJti.has(jti))
      return fail(401, 'invalid_client', 'The client_assertion token has already been used.');
    usedJti.add(jti);
    const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
    if (scopes.length === 0 || scopes.some((s) => !client.scopes.includes(s)))
      return fail(400, 'invalid_scope', 'The requested scope is invalid, unknown, or malformed.');
    const access = randomBytes(24).toString('base64url');
    accessTokens.set(access, { scopes, expiresAt: Date.now() + 3_600_000 });
    return {
      status: 200,
      body: { token_type: 'Bearer', expires_in: 3600, access_token: access, scope: scopes.join(' ') },
    };
  }

  function parseBody(text: string): unknown {
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new HttpError(400, 'E0000003');
    }
  }

  /** The API proper: returns status, body and extra headers. */
  function api(
    method: string,
    path: string,
    query: URLSearchParams,
    text: string,
    scopes: string[] | 'all',
  ): { status: number; body?: unknown; headers?: Record<string, string> } {
    let m: RegExpExecArray | null;
    if (path === '/api/v1/users') {
      if (method === 'GET') {
        requireScope(scopes, 'users', false);
        const search = query.get('search');
        const filter = query.get('filter');
        const q = query.get('q');
        const list =
          search !== null
            ? matchUsers(search, 'search')
            : filter !== null
              ? matchUsers(filter, 'filter')
              : q !== null
                ? [...users.values()].filter((u) =>
                    ['firstName', 'lastName', 'email'].some((k) =>
                      (u.profile[k] ?? '').toLowerCase().startsWith(q.toLowerCase()),
                    ),
                  )
                : [...users.values()].filter((u) => u.status !== 'DEPROVISIONED');
        const p = page(list, path, query, q !== null ? 10 : 200);
        return { status: 200, body: p.items.map(render), headers: { Link: p.link } };
      }
      if (method === 'POST') {
        requireScope(scopes, 'users', true);
        const body = parseBody(text) as { profile?: unknown; credentials?: unknown } | undefined;
        if (typeof body !== 'object' || body === null) throw new HttpError(400, 'E0000003');
        const profile = checkProfile(body.profile, true);
        if (byLogin(profile.login ?? '')) {
          throw new HttpError(400, 'E0000001', [
            'login: An object with this field already exists in the current organization',
          ]);
        }
        const creds = (body.credentials ?? {}) as {
          password?: { value?: unknown };
          provider?: { type?: unknown; name?: unknown };
        };
        const providerType = typeof creds.provider?.type === 'string' ? creds.provider.type : 'OKTA';
        if (!['OKTA', 'FEDERATION', 'SOCIAL', 'ACTIVE_DIRECTORY', 'LDAP', 'IMPORT'].includes(providerType))
          throw new HttpError(400, 'E0000001', ['provider: Does not match required pattern']);
        const credentials: StandinUser['credentials'] = {
          ...(typeof creds.password?.value === 'string' ? { password: true } : {}),
          provider: {
            type: providerType,
            name: typeof creds.provider?.name === 'string' ? creds.provider.name : providerType,
          },
        };
        const activate = query.get('activate') !== 'false'; // Okta's default is true
        const u = newUser(profile, 'STAGED', credentials);
        if (activate) setStatus(u, activatedStatus(u));
        return { status: 200, body: render(u) };
      }
      throw new HttpError(405, 'E0000022');
    }
    if ((m = /^\/api\/v1\/users\/([^/]+)$/.exec(path))) {
      const u = requireUser(decodeURIComponent(m[1] ?? ''));
      if (method === 'GET') {
        requireScope(scopes, 'users', false);
        const body = render(u);
        transitioning.delete(u.id); // the transition completes after it was seen once
        return { status: 200, body };
      }
      if (method === 'POST' || method === 'PUT') {
        requireScope(scopes, 'users', true);
        const body = parseBody(text) as { profile?: unknown } | undefined;
        if (typeof body !== 'object' || body === null) throw new HttpError(400, 'E0000003');
        const profile = checkProfile(body.profile, method === 'PUT');
        const clash = profile.login ? byLogin(profile.login) : undefined;
        if (clash && clash.id !== u.id)
          throw new HttpError(400, 'E0000001', [
            'login: An object with this field already exists in the current organization',
          ]);
        u.profile = method === 'PUT' ? profile : { ...u.profile, ...profile };
        u.lastUpdated = now();
        return { status: 200, body: render(u) };
      }
      if (method === 'DELETE') {
        requireScope(scopes, 'users', true);
        // Documented: deleting a user who is not DEPROVISIONED deactivates them; a second DELETE deletes.
        if (u.status !== 'DEPROVISIONED') setStatus(u, 'DEPROVISIONED');
        else {
          users.delete(u.id);
          for (const g of groups.values()) g.members.delete(u.id);
        }
        return { status: 204 };
      }
      throw new HttpError(405, 'E0000022');
    }
    if ((m = /^\/api\/v1\/users\/([^/]+)\/lifecycle\/([a-z_]+)$/.exec(path))) {
      if (method !== 'POST') throw new HttpError(405, 'E0000022');
      requireScope(scopes, 'users', true);
      const u = requireUser(decodeURIComponent(m[1] ?? ''));
      return { status: 200, body: lifecycle(u, m[2] ?? '', query) };
    }
    if ((m = /^\/api\/v1\/users\/([^/]+)\/sessions$/.exec(path))) {
      if (method !== 'DELETE') throw new HttpError(405, 'E0000022');
      requireScope(scopes, 'users', true);
      const u = requireUser(decodeURIComponent(m[1] ?? ''));
      sessions.set(u.id, 0);
      if (query.get('oauthTokens') === 'true') oauthTokens.set(u.id, 0);
      return { status: 204 };
    }
    if ((m = /^\/api\/v1\/users\/([^/]+)\/groups$/.exec(path))) {
      if (method !== 'GET') throw new HttpError(405, 'E0000022');
      requireScope(scopes, 'users', false);
      const u = requireUser(decodeURIComponent(m[1] ?? ''));
      const list = [...groups.values()].filter((g) => g.members.has(u.id));
      const p = page(list, path, query, 200);
      return { status: 200, body: p.items.map(renderGroup), headers: { Link: p.link } };
    }
    if (path === '/api/v1/groups') {
      if (method !== 'GET') throw new HttpError(405, 'E0000022');
      requireScope(scopes, 'groups', false);
      const q = (query.get('q') ?? '').toLowerCase();
      const list = [...groups.values()].filter((g) => g.name.toLowerCase().startsWith(q));
      const p = page(list, path, query, 10_000);
      return { status: 200, body: p.items.map(renderGroup), headers: { Link: p.link } };
    }
    if ((m = /^\/api\/v1\/groups\/([^/]+)$/.exec(path))) {
      if (method !== 'GET') throw new HttpError(405, 'E0000022');
      requireScope(scopes, 'groups', false);
      const g = groups.get(decodeURIComponent(m[1] ?? ''));
      if (!g) throw new HttpError(404, 'E0000007');
      return { status: 200, body: renderGroup(g) };
    }
    if ((m = /^\/api\/v1\/groups\/([^/]+)\/users\/([^/]+)$/.exec(path))) {
      if (method !== 'PUT' && method !== 'DELETE') throw new HttpError(405, 'E0000022');
      requireScope(scopes, 'groups', true);
      const g = groups.get(decodeURIComponent(m[1] ?? ''));
      const u = users.get(decodeURIComponent(m[2] ?? ''));
      if (!g || !u) throw new HttpError(404, 'E0000007');
      if (method === 'PUT') g.members.add(u.id);
      else g.members.delete(u.id);
      return { status: 204 };
    }
    throw new HttpError(404, 'E0000007');
  }

  function matches(f: FaultMatch, method: string, path: string): boolean {
    if (f.method && f.method !== method) return false;
    if (f.path && (f.exact ? path !== f.path : !path.startsWith(f.path))) return false;
    return true;
  }

  function rateHeaders(): Record<string, string> {
    const nowMs = Date.now();
    if (nowMs - window.start >= 60_000) window = { start: nowMs - (nowMs % 60_000), used: 0 };
    window.used += 1;
    return {
      'X-Rate-Limit-Limit': String(perMinute),
      'X-Rate-Limit-Remaining': String(Math.max(0, perMinute - window.used)),
      'X-Rate-Limit-Reset': String(Math.ceil((window.start + 60_000) / 1000)),
    };
  }

  function errorJson(code: string, causes: string[]): Record<string, unknown> {
    return {
      errorCode: code,
      errorSummary: SUMMARIES[code] ?? 'Error',
      errorLink: code,
      errorId: `oae${randomBytes(11).toString('base64url')}`,
      errorCauses: causes.map((c) => ({ errorSummary: c })),
    };
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const parsedUrl = new URL(req.url ?? '/', url);
      const method = req.method ?? 'GET';
      const path = parsedUrl.pathname;
      const query = parsedUrl.searchParams;
      const auth = req.headers.authorization ?? '';
      let recordedBody: unknown = text;
      try {
        recordedBody = text ? (JSON.parse(text) as unknown) : undefined;
      } catch {
        /* keep text */
      }
      requests.push({
        method,
        path,
        query: Object.fromEntries(query),
        scheme: auth.split(' ')[0] ?? '',
        body: path === '/oauth2/v1/token' ? '[form]' : recordedBody,
      });
      const headers: Record<string, string> = { ...rateHeaders() };
      const send = (status: number, body: unknown, extra: Record<string, string> = {}, delayMs = 0) => {
        const out = () => {
          if (res.destroyed) return;
          const payload = body === undefined ? '' : JSON.stringify(body);
          res.writeHead(status, {
            ...headers,
            ...extra,
            ...(payload ? { 'Content-Type': 'application/json' } : {}),
          });
          res.end(payload);
        };
        if (delayMs > 0) setTimeout(out, delayMs);
        else out();
      };

      if (path === '/oauth2/v1/token' && method === 'POST') {
        if (!/application\/x-www-form-urlencoded/.test(req.headers['content-type'] ?? ''))
          return send(400, { error: 'invalid_request', error_description: 'Content-Type must be form-urlencoded.' });
        const r = token(new URLSearchParams(text));
        return send(r.status, r.body, { 'Cache-Control': 'no-store', Pragma: 'no-cache' });
      }

      const fault = errorFaults.find((f) => f.count > 0 && matches(f, method, path));
      if (fault) {
        fault.count -= 1;
        const code =
          fault.errorCode ?? (fault.status === 429 ? 'E0000047' : fault.status >= 500 ? 'E0000009' : 'E0000001');
        const extra: Record<string, string> = {};
        if (fault.status === 429) {
          extra['X-Rate-Limit-Remaining'] = '0';
          extra['X-Rate-Limit-Reset'] = String(Math.ceil(Date.now() / 1000) + (fault.resetInSeconds ?? 1));
        }
        return send(fault.status, errorJson(code, []), extra);
      }
      const hook = hooks.find((h) => h.fn && matches(h, method, path));
      if (hook?.fn) {
        const fn = hook.fn;
        delete hook.fn;
        fn();
      }
      const delay = delayFaults.find((f) => f.count > 0 && matches(f, method, path));
      if (delay) delay.count -= 1;

      try {
        if (window.used > perMinute) throw new HttpError(429, 'E0000047');
        const who = authenticate(req.headers.authorization);
        const r = api(method, path, query, text, who.scopes);
        send(r.status, r.body, r.headers, delay?.ms ?? 0);
      } catch (err) {
        if (err instanceof HttpError)
          send(err.status, errorJson(err.errorCode, err.causes), err.headers, delay?.ms ?? 0);
        else send(500, errorJson('E0000009', []));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    tokenUrl: `${url}/oauth2/v1/token`,
    users: () => [...users.values()].map((u) => ({ ...u, profile: { ...u.profile } })),
    user: (id) => users.get(id),
    seedUser({ profile, status, password }) {
      const p = checkProfile(profile, true);
      if (byLogin(p.login ?? '')) throw new Error(`the stand-in already has login ${p.login ?? ''}`);
      const u = newUser(p, status ?? 'STAGED', {
        ...(password ? { password: true } : {}),
        provider: { type: 'OKTA', name: 'OKTA' },
      });
      return u.id;
    },
    createGroup(name) {
      const g: StandinGroup = { id: oktaId('00g'), name, members: new Set() };
      groups.set(g.id, g);
      return g.id;
    },
    groupName: (groupId) => groups.get(groupId)?.name ?? '',
    groupMembers: (groupId) => [...(groups.get(groupId)?.members ?? [])],
    openSession(userId) {
      sessions.set(userId, (sessions.get(userId) ?? 0) + 1);
      oauthTokens.set(userId, (oauthTokens.get(userId) ?? 0) + 1);
    },
    activeSessions: (userId) => sessions.get(userId) ?? 0,
    activeOAuthTokens: (userId) => oauthTokens.get(userId) ?? 0,
    requests,
    faults: {
      next: (count, f) => void errorFaults.push({ ...f, count }),
      delayResponse: (count, ms, match) => void delayFaults.push({ ...match, count, ms }),
      beforeNext: (match, fn) => void hooks.push({ ...match, fn }),
      slowTransition: (count) => {
        slowTransitions += count;
      },
    },
    expireAccessTokens: () => accessTokens.clear(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
