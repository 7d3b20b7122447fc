/**
 * Generic SCIM 2.0 (RFC 7643/7644) identity connector (DESIGN §6), with vendor dialects.
 *
 * - Looks accounts up by `externalId` (= HR id), then by `userName`, before creating; adopts on 409.
 * - Updates with PATCH `replace` operations, only for attributes that differ.
 * - Pages with `startIndex`/`count`, advancing by what the server actually returned.
 * - Deactivates with PATCH `active=false` (value-object or `path` form) and checks the result; deletes and
 *   checks the account is gone or at least inactive; adds and removes group members.
 * - Reads `"True"`/`"False"` strings as booleans wherever SCIM has a boolean (Entra ID sends them).
 * - Leaves retries to Temporal: every failure is a classified `ConnectorError` (see `transport.ts`).
 *
 * Dialects (`ScimConnectorOptions.dialect`, see {@link SCIM_DIALECTS} and docs/connectors.md) only change
 * what a vendor requires; `generic` is plain RFC 7644.
 */
import { z } from 'zod';
import {
  ConnectorError,
  createdOn,
  type Account,
  type AccountSpec,
  type EnsureAccountOutcome,
  type GroupCapable,
  type GroupMembershipOutcome,
  type IdentityConnector,
  type SessionRevocation,
} from '../identity';
import { requestText } from '../http';
import {
  DEFAULT_TIMEOUT_MS,
  parseRateLimitReset,
  parseRetryAfter,
  scimRequest,
  type ScimRequest,
  type ScimResponse,
  type ScimTransportConfig,
} from './transport';

export const SCIM_USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const SCIM_ENTERPRISE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const SCIM_PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** Default page size asked for when listing; the server may return fewer. */
export const DEFAULT_PAGE_SIZE = 100;

export type ScimDialect = 'generic' | 'okta' | 'entra' | 'github' | 'slack';

/** What a dialect changes in how the connector talks to a server. */
export interface ScimDialectTraits {
  /** The server can filter Users on `externalId` (Okta-built servers filter only on `userName`). */
  externalIdFilter: boolean;
  /** PATCH paths may carry value filters such as `members[value eq "…"]` (GitHub allows none). */
  patchPathFilters: boolean;
  /** Setting `active=false` removes the account (GitHub): a vanished account counts as deactivated. */
  deactivationRemoves: boolean;
  /** DELETE only deactivates (Slack): the account stays, with `active=false`. */
  deleteDeactivates: boolean;
  /** PATCH form used when the options give no `patchStyle`. */
  patchStyle: 'value' | 'path';
}

/** The dialects and what each changes; see docs/connectors.md for the vendor documentation behind them. */
export const SCIM_DIALECTS: Readonly<Record<ScimDialect, Readonly<ScimDialectTraits>>> = {
  generic: {
    externalIdFilter: true,
    patchPathFilters: true,
    deactivationRemoves: false,
    deleteDeactivates: false,
    patchStyle: 'value',
  },
  okta: {
    externalIdFilter: false,
    patchPathFilters: true,
    deactivationRemoves: false,
    deleteDeactivates: false,
    patchStyle: 'value',
  },
  entra: {
    externalIdFilter: true,
    patchPathFilters: true,
    deactivationRemoves: false,
    deleteDeactivates: false,
    patchStyle: 'path',
  },
  github: {
    externalIdFilter: true,
    patchPathFilters: false,
    deactivationRemoves: true,
    deleteDeactivates: false,
    patchStyle: 'value',
  },
  slack: {
    externalIdFilter: true,
    patchPathFilters: true,
    deactivationRemoves: false,
    deleteDeactivates: true,
    patchStyle: 'value',
  },
};

export interface ScimConnectorOptions extends ScimTransportConfig {
  /** `count` asked for per page in `listAccounts`; default {@link DEFAULT_PAGE_SIZE}. */
  pageSize?: number;
  /** The server's vendor dialect; default `generic` (plain RFC 7644). */
  dialect?: ScimDialect;
  /**
   * How PATCH operations are written. `value`: `{op:'replace', value:{active:false}}`;
   * `path`: `{op:'replace', path:'active', value:false}`. Default: the dialect's (`value` except for `entra`).
   * `emails` is always replaced by path, because some servers (SCIMMY among them) append rather than
   * replace multi-valued attributes in the value form.
   */
  patchStyle?: 'value' | 'path';
  /** Send `department` in the enterprise User extension; default true. Set false for servers without it. */
  enterpriseExtension?: boolean;
  /** The vendor API that revokes sign-in sessions (SCIM has none); see {@link ScimSessionsOptions}. */
  sessions?: ScimSessionsOptions;
}

/**
 * Where `revokeSessions` goes. The account id (the SCIM `id`) is used as the vendor's user id.
 *
 * - `okta`: `DELETE {baseUrl}/api/v1/users/{id}/sessions?oauthTokens=true` with `Authorization: SSWS <token>`;
 *   204 on success (also when there was no session), 404 for an unknown user.
 * - `entra`: Microsoft Graph `POST {baseUrl}/v1.0/users/{id}/revokeSignInSessions` with
 *   `Authorization: Bearer <token>`; 200 `{"value": true}` (or the documented 204) on success.
 */
export interface ScimSessionsOptions {
  api: 'okta' | 'entra';
  /** The vendor API's origin, e.g. `https://acme.okta.com` or `https://graph.microsoft.com` (a trailing slash is ignored). */
  baseUrl: string;
  /** The vendor API token; no Authorization header when unset. */
  token?: string;
}

/** The vendor's error code in an Okta (`errorCode`) or Graph (`error.code`) error body: a code, never the text. */
function vendorErrorCode(text: string): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const { errorCode, error } = body as { errorCode?: unknown; error?: unknown };
  const code =
    errorCode ?? (typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined);
  return typeof code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(code) ? code : undefined;
}

const emailSchema = z.looseObject({
  value: z.string(),
  type: z.string().optional(),
  primary: z.union([z.boolean(), z.string()]).optional(),
});

const userSchema = z.looseObject({
  id: z.string().min(1),
  userName: z.string(),
  externalId: z.string().optional().nullable(),
  // Entra ID sends "True"/"False" strings.
  active: z.union([z.boolean(), z.string()]).optional().nullable(),
  name: z
    .looseObject({ givenName: z.string().optional().nullable(), familyName: z.string().optional().nullable() })
    .optional()
    .nullable(),
  title: z.string().optional().nullable(),
  emails: z.array(emailSchema).optional().nullable(),
  [SCIM_ENTERPRISE_USER_SCHEMA]: z
    .looseObject({
      department: z.string().optional().nullable(),
      manager: z.looseObject({ value: z.string().optional().nullable() }).optional().nullable(),
    })
    .optional()
    .nullable(),
});

/** RFC 7644 §3.4.2 requires `totalResults`; some servers omit it, but a list response has at least one of the two. */
const listSchema = z
  .looseObject({
    totalResults: z.coerce.number().int().nonnegative().optional(),
    itemsPerPage: z.coerce.number().int().nonnegative().optional(),
    startIndex: z.coerce.number().int().optional(),
    Resources: z.array(z.unknown()).optional().nullable(),
  })
  .refine((list) => list.totalResults !== undefined || Array.isArray(list.Resources), {
    message: 'neither totalResults nor Resources',
  });

const groupSchema = z.looseObject({
  id: z.string().min(1),
  displayName: z.string().optional().nullable(),
  members: z
    .array(z.looseObject({ value: z.string() }))
    .optional()
    .nullable(),
});

export type ScimUser = z.infer<typeof userSchema>;
type ScimGroup = z.infer<typeof groupSchema>;
type ScimEmail = z.infer<typeof emailSchema>;

interface PatchOperation {
  op: 'replace' | 'add' | 'remove';
  path?: string;
  value?: unknown;
}

/** One attribute to replace: a SCIM attribute path and its new value. */
interface Change {
  path: string;
  value: unknown;
}

/** A SCIM filter `attr eq "value"` with the value escaped as a JSON string (RFC 7644 §3.4.2.2). */
export function scimEqFilter(attribute: string, value: string): string {
  return `${attribute} eq ${JSON.stringify(value)}`;
}

/** A SCIM boolean, also when a server (Entra ID) writes it as the string `"True"`/`"False"`. */
export function toBool(value: unknown, fallback: boolean): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const lower = value.trim().toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
  }
  return fallback;
}

/** Map a SCIM User to an `Account`. A user without `active` counts as active. */
export function userToAccount(user: ScimUser): Account {
  const account: Account = { id: user.id, userName: user.userName, active: toBool(user.active, true) };
  if (typeof user.externalId === 'string' && user.externalId !== '') account.hrId = user.externalId;
  const manager = user[SCIM_ENTERPRISE_USER_SCHEMA]?.manager?.value;
  if (typeof manager === 'string' && manager !== '') account.managerId = manager;
  return account;
}

/**
 * An account as `listAccounts` reports it: with the attributes reconciliation compares with HR (primary e-mail,
 * names, title, enterprise department) where the server holds them.
 */
export function userToListedAccount(user: ScimUser): Account {
  const account = userToAccount(user);
  const email = primaryEmail(user);
  if (email) account.email = email;
  if (user.name?.givenName) account.givenName = user.name.givenName;
  if (user.name?.familyName) account.familyName = user.name.familyName;
  if (user.title) account.title = user.title;
  const department = user[SCIM_ENTERPRISE_USER_SCHEMA]?.department;
  if (department) account.department = department;
  return account;
}

function workEmail(spec: AccountSpec): ScimEmail[] | undefined {
  return spec.email === undefined ? undefined : [{ value: spec.email, type: 'work', primary: true }];
}

function primaryEmail(user: ScimUser): string | undefined {
  const emails = user.emails ?? [];
  return (emails.find((e) => toBool(e.primary, false)) ?? emails.find((e) => e.type === 'work'))?.value;
}

function isMember(group: ScimGroup, accountId: string): boolean {
  return (group.members ?? []).some((m) => m.value === accountId);
}

function sameCaseless(a: string | undefined | null, b: string | undefined | null): boolean {
  return (a ?? '').toLowerCase() === (b ?? '').toLowerCase();
}

export class ScimConnector implements IdentityConnector, GroupCapable {
  readonly systemId: string;
  readonly dialect: ScimDialect;
  private readonly traits: ScimDialectTraits;
  private readonly transport: ScimTransportConfig;
  private readonly pageSize: number;
  private readonly patchStyle: 'value' | 'path';
  private readonly enterpriseExtension: boolean;
  private readonly sessions: ScimSessionsOptions | undefined;
  private readonly timeoutMs: number;

  constructor(options: ScimConnectorOptions) {
    this.systemId = options.systemId;
    this.transport = {
      systemId: options.systemId,
      baseUrl: options.baseUrl,
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    };
    this.pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1)
      throw new RangeError('pageSize must be a positive integer');
    this.dialect = options.dialect ?? 'generic';
    const traits = SCIM_DIALECTS[this.dialect];
    if (!traits) throw new RangeError(`unknown SCIM dialect ${JSON.stringify(this.dialect)}`);
    this.traits = traits;
    this.patchStyle = options.patchStyle ?? traits.patchStyle;
    this.enterpriseExtension = options.enterpriseExtension ?? true;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (options.sessions !== undefined && options.sessions.api !== 'okta' && options.sessions.api !== 'entra')
      throw new RangeError(`unknown sessions api ${JSON.stringify(options.sessions.api)}`);
    this.sessions = options.sessions;
  }

  /**
   * The account whose `externalId` is `hrId`; failing that, the one whose `userName` is `userName` unless
   * it carries a different `externalId` (that account is someone else's).
   */
  async findByHrKey(hrId: string, userName?: string): Promise<Account | undefined> {
    const found = await this.lookup(hrId, userName);
    return found.kind === 'found' ? userToAccount(found.user) : undefined;
  }

  /** The account with this id, or undefined when there is none. */
  async findById(accountId: string): Promise<Account | undefined> {
    const user = await this.getUser(accountId);
    return user ? userToAccount(user) : undefined;
  }

  /** Whoever holds this login name (case-insensitively), whatever their `externalId`: is the name taken? */
  async findByUserName(userName: string): Promise<Account | undefined> {
    const user = (await this.search('userName', userName)).find((u) => sameCaseless(u.userName, userName));
    return user ? userToAccount(user) : undefined;
  }

  /** Find-or-create, adopting (and bringing up to date) an existing account; see `EnsureAccountOutcome`. */
  async ensureAccount(spec: AccountSpec): Promise<EnsureAccountOutcome> {
    const found = await this.lookup(spec.hrId, spec.userName);
    if (found.kind === 'found') return this.adopt(found.user, spec);
    if (found.kind === 'clash') throw this.clash(found.user, spec);

    let created: ScimResponse;
    try {
      created = await this.send({ method: 'POST', path: '/Users', body: this.newUser(spec) });
    } catch (err) {
      if (!(err instanceof ConnectorError) || err.type !== 'conflict') throw err;
      // Created meanwhile (by a concurrent run or someone else): adopt it.
      const again = await this.lookup(spec.hrId, spec.userName);
      if (again.kind === 'found') return this.adopt(again.user, spec);
      if (again.kind === 'clash') throw this.clash(again.user, spec);
      throw new ConnectorError(
        'conflict',
        `${this.systemId}: creating the account conflicted (${err.details.scimType ?? `HTTP ${err.details.status ?? '?'}`}), ` +
          'but no account matches its externalId or userName',
        { ...err.details, systemId: this.systemId },
      );
    }
    return { account: userToAccount(this.parseUser(created.body, 'POST /Users')), outcome: 'created' };
  }

  /**
   * PATCH `active` and return the account as the server then reports it. Fails (`invalid_request`) if the
   * server answers success but still reports the other state. In the `github` dialect deactivation removes
   * the account, so an account that is gone afterwards (or already) is reported `active: false` with the
   * `userName` it had, or `''` when it was gone before this call.
   */
  async setActive(accountId: string, active: boolean): Promise<Account> {
    const removes = !active && this.traits.deactivationRemoves;
    let before: ScimUser | undefined;
    if (removes) {
      before = await this.getUser(accountId);
      if (!before) return { id: accountId, userName: '', active: false };
    }
    let user: ScimUser | undefined;
    try {
      user = await this.patch(accountId, [{ path: 'active', value: active }]);
    } catch (err) {
      if (!(removes && err instanceof ConnectorError && err.type === 'not_found')) throw err;
    }
    if (user !== undefined && toBool(user.active, true) !== active) {
      // Some servers answer PATCH with a stale body: believe only a fresh read.
      user = removes
        ? await this.getUser(accountId)
        : this.parseUser(await this.readUser(accountId), 'GET /Users/{id}');
    }
    if (user === undefined) {
      const account: Account = { id: accountId, userName: before?.userName ?? '', active: false };
      if (typeof before?.externalId === 'string' && before.externalId !== '') account.hrId = before.externalId;
      return account;
    }
    if (toBool(user.active, true) !== active) {
      throw new ConnectorError(
        'invalid_request',
        `${this.systemId}: PATCH active=${active} succeeded but account ${accountId} is still ${active ? 'inactive' : 'active'}`,
        { systemId: this.systemId },
      );
    }
    return userToAccount(user);
  }

  /**
   * Delete the account, then check: it must be gone, or (Slack, whose DELETE only deactivates) inactive.
   * Idempotent: an account that is already gone (404) counts as deleted.
   */
  async delete(accountId: string): Promise<void> {
    try {
      await this.send({ method: 'DELETE', path: this.userPath(accountId) });
    } catch (err) {
      if (err instanceof ConnectorError && err.type === 'not_found') return;
      throw err;
    }
    const left = await this.getUser(accountId);
    if (left !== undefined && toBool(left.active, true)) {
      throw new ConnectorError(
        'invalid_request',
        `${this.systemId}: DELETE succeeded but account ${accountId} is still there and active`,
        { systemId: this.systemId },
      );
    }
  }

  /**
   * Add the account to a group, given by id or display name. Reads the group first, so a member already
   * there is `unchanged` (a retry) and nothing is written.
   */
  async addToGroup(group: string, accountId: string): Promise<GroupMembershipOutcome> {
    const found = await this.resolveGroup(group);
    if (isMember(found, accountId)) return { groupId: found.id, outcome: 'unchanged' };
    const after = await this.patchGroup(found.id, [{ op: 'add', path: 'members', value: [{ value: accountId }] }]);
    if (!isMember(after, accountId)) {
      throw new ConnectorError(
        'invalid_request',
        `${this.systemId}: PATCH add member succeeded but group ${found.id} does not list account ${accountId}`,
        { systemId: this.systemId },
      );
    }
    return { groupId: found.id, outcome: 'changed' };
  }

  /**
   * Remove the account from a group, given by id or display name. The RFC 7644 form
   * `{op:'remove', path:'members[value eq "<id>"]'}`; in dialects without PATCH path filters (GitHub) the
   * value form `{op:'remove', path:'members', value:[{value:'<id>'}]}`. A non-member is `unchanged`.
   */
  async removeFromGroup(group: string, accountId: string): Promise<GroupMembershipOutcome> {
    const found = await this.resolveGroup(group);
    if (!isMember(found, accountId)) return { groupId: found.id, outcome: 'unchanged' };
    const op: PatchOperation = this.traits.patchPathFilters
      ? { op: 'remove', path: `members[${scimEqFilter('value', accountId)}]` }
      : { op: 'remove', path: 'members', value: [{ value: accountId }] };
    const after = await this.patchGroup(found.id, [op]);
    if (isMember(after, accountId)) {
      throw new ConnectorError(
        'invalid_request',
        `${this.systemId}: PATCH remove member succeeded but group ${found.id} still lists account ${accountId}`,
        { systemId: this.systemId },
      );
    }
    return { groupId: found.id, outcome: 'changed' };
  }

  /**
   * End the account's sign-in sessions through the vendor API configured in `sessions` (see
   * {@link ScimSessionsOptions}); `not_supported`, with no request made, when none is. Idempotent: revoking the
   * sessions of an account that has none succeeds. Errors are classified as in the SCIM transport: network
   * failure, 408 and 5xx `transient`; 429 `rate_limited` (with `Retry-After`, or Okta's `X-Rate-Limit-Reset`);
   * 401/403 `unauthorized`; 404 `not_found`; anything else `invalid_request`.
   */
  async revokeSessions(accountId: string): Promise<SessionRevocation> {
    const sessions = this.sessions;
    if (sessions === undefined) {
      return {
        outcome: 'not_supported',
        detail: `${this.systemId}: SCIM 2.0 has no sessions API and no vendor sessions API is configured; deactivation ends new sign-ins only`,
      };
    }
    const id = encodeURIComponent(accountId);
    const call: { method: string; path: string; params: Record<string, string>; scheme: string; done: string } =
      sessions.api === 'okta'
        ? {
            method: 'DELETE',
            path: `/api/v1/users/${id}/sessions`,
            params: { oauthTokens: 'true' },
            scheme: 'SSWS',
            done: 'Okta sessions ended and OAuth tokens revoked',
          }
        : {
            method: 'POST',
            path: `/v1.0/users/${id}/revokeSignInSessions`,
            params: {},
            scheme: 'Bearer',
            done: 'refresh tokens and session cookies invalidated',
          };
    const what = `${this.systemId}: ${call.method} ${call.path}`;
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (sessions.token !== undefined) headers.Authorization = `${call.scheme} ${sessions.token}`;
    const response = await requestText(this.systemId, what, {
      method: call.method,
      url: sessions.baseUrl.replace(/\/+$/, '') + call.path,
      params: call.params,
      headers,
      timeoutMs: this.timeoutMs,
    });
    const { status, text } = response;
    if (status >= 200 && status < 300) {
      if (sessions.api === 'entra' && text.trim() !== '') {
        // Graph documents 204 but answers 200 {"value": true}; only `true` means revoked.
        let value: unknown;
        try {
          value = (JSON.parse(text) as { value?: unknown }).value;
        } catch {
          value = undefined;
        }
        if (value !== true) {
          throw new ConnectorError(
            'invalid_request',
            `${what} -> ${status}: answer is not {"value": true}; sessions may not be revoked`,
            { systemId: this.systemId, status },
          );
        }
      }
      return { outcome: 'revoked', detail: `${what} -> ${status}: ${call.done}` };
    }

    const type =
      status === 429
        ? 'rate_limited'
        : status === 401 || status === 403
          ? 'unauthorized'
          : status === 404
            ? 'not_found'
            : status === 408 || (status >= 500 && status !== 501)
              ? 'transient'
              : 'invalid_request';
    const details: ConnectorError['details'] = { systemId: this.systemId, status };
    const retryAfterMs =
      parseRetryAfter(response.header('retry-after')) ??
      (type === 'rate_limited' ? parseRateLimitReset(response.header('x-rate-limit-reset')) : undefined);
    if (retryAfterMs !== undefined) details.retryAfterMs = retryAfterMs;
    const vendorCode = vendorErrorCode(text);
    if (vendorCode !== undefined) details.vendorCode = vendorCode;
    throw new ConnectorError(
      type,
      `${what} -> ${status}${vendorCode ? ` (${vendorCode})` : status >= 300 && status < 400 ? ': unexpected redirect' : ''}`,
      details,
    );
  }

  /**
   * Every account, paging with `startIndex`/`count`. Advances by the number of resources actually
   * returned (servers cap `count`), stops at `totalResults` or an empty page, and fails if the server
   * ignores `startIndex` (a page of nothing but already-seen ids) rather than looping forever.
   */
  async *listAccounts(): AsyncIterable<Account> {
    for await (const user of this.listUsers()) yield userToListedAccount(user);
  }

  // -------------------------------------------------------------------------------------------------

  private async *listUsers(): AsyncIterable<ScimUser> {
    const seen = new Set<string>();
    let startIndex = 1;
    for (;;) {
      const response = await this.send({ method: 'GET', path: '/Users', query: { startIndex, count: this.pageSize } });
      const page = this.parseList(response.body, 'GET /Users');
      const users = (page.Resources ?? []).map((r) => this.parseUser(r, 'GET /Users'));
      if (users.length === 0) return;
      let fresh = 0;
      for (const user of users) {
        if (seen.has(user.id)) continue;
        seen.add(user.id);
        fresh += 1;
        yield user;
      }
      if (fresh === 0) {
        throw new ConnectorError(
          'invalid_request',
          `${this.systemId}: GET /Users ignored startIndex=${startIndex} (page repeats earlier accounts)`,
          {
            systemId: this.systemId,
          },
        );
      }
      startIndex += users.length;
      if (page.totalResults !== undefined && startIndex > page.totalResults) return;
    }
  }

  private send(request: ScimRequest): Promise<ScimResponse> {
    return scimRequest(this.transport, request);
  }

  private userPath(id: string): string {
    return `/Users/${encodeURIComponent(id)}`;
  }

  /** The user, or `undefined` when the server answers 404. */
  private async getUser(id: string): Promise<ScimUser | undefined> {
    try {
      return this.parseUser(await this.readUser(id), 'GET /Users/{id}');
    } catch (err) {
      if (err instanceof ConnectorError && err.type === 'not_found') return undefined;
      throw err;
    }
  }

  private async readUser(id: string): Promise<unknown> {
    return (await this.send({ method: 'GET', path: this.userPath(id) })).body;
  }

  /** Accounts whose `externalId` is `hrId`: by filter, or (dialects without that filter) by listing. */
  private async byExternalId(hrId: string, userName: string | undefined): Promise<ScimUser[]> {
    if (this.traits.externalIdFilter) return this.search('externalId', hrId);
    if (userName !== undefined) {
      // Okta-built servers filter on userName only; the userName lookup below checks the externalId.
      return [];
    }
    const out: ScimUser[] = [];
    for await (const user of this.listUsers()) if (user.externalId === hrId) out.push(user);
    return out;
  }

  private async lookup(
    hrId: string,
    userName: string | undefined,
  ): Promise<{ kind: 'found'; user: ScimUser } | { kind: 'clash'; user: ScimUser } | { kind: 'none' }> {
    const byHr = await this.byExternalId(hrId, userName);
    if (byHr.length > 1) {
      throw new ConnectorError(
        'conflict',
        `${this.systemId}: ${byHr.length} accounts have externalId ${JSON.stringify(hrId)}`,
        {
          systemId: this.systemId,
        },
      );
    }
    if (byHr[0]) return { kind: 'found', user: byHr[0] };
    if (userName === undefined) return { kind: 'none' };
    const byName = (await this.search('userName', userName)).filter((u) => sameCaseless(u.userName, userName));
    const user = byName[0];
    if (!user) return { kind: 'none' };
    const externalId = user.externalId ?? '';
    return externalId === '' || externalId === hrId ? { kind: 'found', user } : { kind: 'clash', user };
  }

  private async search(attribute: 'externalId' | 'userName', value: string): Promise<ScimUser[]> {
    const response = await this.send({
      method: 'GET',
      path: '/Users',
      query: { filter: scimEqFilter(attribute, value) },
    });
    const page = this.parseList(response.body, 'GET /Users');
    return (page.Resources ?? []).map((r) => this.parseUser(r, 'GET /Users'));
  }

  private clash(user: ScimUser, _spec: AccountSpec): ConnectorError {
    return new ConnectorError(
      'conflict',
      `${this.systemId}: the account's userName belongs to account ${user.id}, which has a different externalId`,
      { systemId: this.systemId, status: 409 },
    );
  }

  private async adopt(user: ScimUser, spec: AccountSpec): Promise<EnsureAccountOutcome> {
    const changes = this.diff(user, spec);
    if (changes.length === 0) return { account: userToAccount(user), outcome: 'adopted' };
    const updated = await this.patch(user.id, changes);
    return { account: userToAccount(updated), outcome: 'updated' };
  }

  private newUser(spec: AccountSpec): Record<string, unknown> {
    const department = this.enterpriseExtension ? spec.department : undefined;
    const manager = this.enterpriseExtension ? spec.managerId : undefined;
    const ext = department !== undefined || manager !== undefined;
    const body: Record<string, unknown> = {
      schemas: ext ? [SCIM_USER_SCHEMA, SCIM_ENTERPRISE_USER_SCHEMA] : [SCIM_USER_SCHEMA],
      externalId: spec.hrId,
      userName: spec.userName,
      name: { givenName: spec.givenName, familyName: spec.familyName },
      active: createdOn(spec),
    };
    const emails = workEmail(spec);
    if (emails) body.emails = emails;
    if (spec.title !== undefined) body.title = spec.title;
    if (ext) {
      body[SCIM_ENTERPRISE_USER_SCHEMA] = {
        ...(department !== undefined ? { department } : {}),
        ...(manager !== undefined ? { manager: { value: manager } } : {}),
      };
    }
    return body;
  }

  /** What must change for `user` to match `spec`; attributes the spec leaves unset are left alone. */
  private diff(user: ScimUser, spec: AccountSpec): Change[] {
    const changes: Change[] = [];
    if ((user.externalId ?? '') !== spec.hrId) changes.push({ path: 'externalId', value: spec.hrId });
    if (!sameCaseless(user.userName, spec.userName)) changes.push({ path: 'userName', value: spec.userName });
    if ((user.name?.givenName ?? '') !== spec.givenName)
      changes.push({ path: 'name.givenName', value: spec.givenName });
    if ((user.name?.familyName ?? '') !== spec.familyName)
      changes.push({ path: 'name.familyName', value: spec.familyName });
    if (spec.active !== undefined && toBool(user.active, true) !== spec.active)
      changes.push({ path: 'active', value: spec.active });
    if (spec.title !== undefined && (user.title ?? '') !== spec.title)
      changes.push({ path: 'title', value: spec.title });
    if (spec.email !== undefined && !sameCaseless(primaryEmail(user), spec.email)) {
      // Keep the user's other addresses; ours becomes the one work/primary address.
      const others = (user.emails ?? []).filter((e) => !toBool(e.primary, false) && e.type !== 'work');
      changes.push({ path: 'emails', value: [...others, { value: spec.email, type: 'work', primary: true }] });
    }
    if (this.enterpriseExtension && spec.department !== undefined) {
      const current = user[SCIM_ENTERPRISE_USER_SCHEMA]?.department ?? '';
      if (current !== spec.department)
        changes.push({ path: `${SCIM_ENTERPRISE_USER_SCHEMA}:department`, value: spec.department });
    }
    if (this.enterpriseExtension && spec.managerId !== undefined) {
      const current = user[SCIM_ENTERPRISE_USER_SCHEMA]?.manager?.value ?? '';
      if (current !== spec.managerId)
        changes.push({ path: `${SCIM_ENTERPRISE_USER_SCHEMA}:manager`, value: { value: spec.managerId } });
    }
    return changes;
  }

  private operations(changes: Change[]): PatchOperation[] {
    if (this.patchStyle === 'path') return changes.map(({ path, value }) => ({ op: 'replace', path, value }));
    const value: Record<string, unknown> = {};
    const ops: PatchOperation[] = [];
    for (const change of changes) {
      if (change.path === 'emails') {
        ops.push({ op: 'replace', path: 'emails', value: change.value });
      } else if (change.path.startsWith(`${SCIM_ENTERPRISE_USER_SCHEMA}:`)) {
        const ext = (value[SCIM_ENTERPRISE_USER_SCHEMA] ??= {}) as Record<string, unknown>;
        ext[change.path.slice(SCIM_ENTERPRISE_USER_SCHEMA.length + 1)] = change.value;
      } else if (change.path.startsWith('name.')) {
        const name = (value.name ??= {}) as Record<string, unknown>;
        name[change.path.slice('name.'.length)] = change.value;
      } else {
        value[change.path] = change.value;
      }
    }
    if (Object.keys(value).length > 0) ops.unshift({ op: 'replace', value });
    return ops;
  }

  /** PATCH and return the user as it now stands (re-reading when the server answers 204). */
  private async patch(id: string, changes: Change[]): Promise<ScimUser> {
    const path = this.userPath(id);
    const response = await this.send({
      method: 'PATCH',
      path,
      body: { schemas: [SCIM_PATCH_OP_SCHEMA], Operations: this.operations(changes) },
    });
    if (response.status !== 204 && response.body !== undefined)
      return this.parseUser(response.body, 'PATCH /Users/{id}');
    return this.parseUser(await this.readUser(id), 'GET /Users/{id}');
  }

  /** A group by display name (exact, one match) or, failing that, by id. */
  private async resolveGroup(ref: string): Promise<ScimGroup> {
    const response = await this.send({
      method: 'GET',
      path: '/Groups',
      query: { filter: scimEqFilter('displayName', ref) },
    });
    const named = (this.parseList(response.body, 'GET /Groups').Resources ?? [])
      .map((r) => this.parseGroup(r, 'GET /Groups'))
      .filter((g) => g.displayName === ref);
    if (named.length > 1) {
      throw new ConnectorError(
        'conflict',
        `${this.systemId}: ${named.length} groups are named ${JSON.stringify(ref)}`,
        {
          systemId: this.systemId,
        },
      );
    }
    if (named[0]) return named[0];
    try {
      const byId = await this.send({ method: 'GET', path: this.groupPath(ref) });
      return this.parseGroup(byId.body, 'GET /Groups/{id}');
    } catch (err) {
      if (err instanceof ConnectorError && err.type === 'not_found') {
        throw new ConnectorError(
          'not_found',
          `${this.systemId}: no group has id or displayName ${JSON.stringify(ref)}`,
          {
            ...err.details,
            systemId: this.systemId,
          },
        );
      }
      throw err;
    }
  }

  private groupPath(id: string): string {
    return `/Groups/${encodeURIComponent(id)}`;
  }

  /** PATCH a group and return it as it now stands (re-reading when the server answers 204 or without members). */
  private async patchGroup(id: string, ops: PatchOperation[]): Promise<ScimGroup> {
    const path = this.groupPath(id);
    const response = await this.send({
      method: 'PATCH',
      path,
      body: { schemas: [SCIM_PATCH_OP_SCHEMA], Operations: ops },
    });
    if (response.status !== 204 && response.body !== undefined) {
      const group = this.parseGroup(response.body, 'PATCH /Groups/{id}');
      // RFC 7644 §3.5.2 lets a server leave `members` out of its answer: then read it back.
      if (group.members !== undefined && group.members !== null) return group;
    }
    const current = await this.send({ method: 'GET', path });
    return this.parseGroup(current.body, 'GET /Groups/{id}');
  }

  private parseGroup(body: unknown, what: string): ScimGroup {
    const parsed = groupSchema.safeParse(body);
    if (!parsed.success) throw this.malformed(what, 'a Group', parsed.error);
    return parsed.data;
  }

  private parseUser(body: unknown, what: string): ScimUser {
    const parsed = userSchema.safeParse(body);
    if (!parsed.success) throw this.malformed(what, 'a User', parsed.error);
    return parsed.data;
  }

  private parseList(body: unknown, what: string): z.infer<typeof listSchema> {
    const parsed = listSchema.safeParse(body);
    if (!parsed.success) throw this.malformed(what, 'a ListResponse', parsed.error);
    return parsed.data;
  }

  private malformed(what: string, expected: string, error: z.ZodError): ConnectorError {
    const issue = error.issues[0];
    const where = issue ? ` (${issue.path.join('.') || 'body'}: ${issue.message})` : '';
    return new ConnectorError('invalid_request', `${this.systemId}: ${what} did not return ${expected}${where}`, {
      systemId: this.systemId,
    });
  }
}
