/**
 * The native Microsoft Entra ID + Microsoft 365 connector over Microsoft Graph v1.0 (DESIGN §6,
 * docs/connectors/graph.md).
 *
 * - Users are keyed by `employeeId` (the HR id), then by `userPrincipalName`, then by `mail`, before creating; a
 *   create that meets Graph's `ObjectConflict` looks up again and adopts. A login held by a user with another
 *   `employeeId` is someone else's: `conflict`.
 * - Created with a random strong `passwordProfile` (`forceChangePasswordNextSignIn`), never logged or returned.
 * - `accountEnabled` is toggled with PATCH and read back; the manager is set with `manager/$ref`; group membership
 *   with `members/$ref`; licences with `assignLicense` (SKUs named by `skuPartNumber`, resolved through
 *   `subscribedSkus`), read back from `licenseDetails`; sessions with `revokeSignInSessions`, read back from
 *   `signInSessionsValidFromDateTime`.
 * - Lists follow `@odata.nextLink`. No retries here: every failure is a classified `ConnectorError` (transport.ts).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { z } from 'zod';
import type { GraphConnectorConfig } from '../../domain/connectors/graph';
import { GRAPH_API_URL, GRAPH_AUTHORITY_URL, GRAPH_DEFAULT_SCOPE } from '../../domain/connectors/graph';
import {
  ConnectorError,
  createdOn,
  type Account,
  type AccountSpec,
  type EnsureAccountOutcome,
  type GroupCapable,
  type GroupMembershipOutcome,
  type IdentityConnector,
  type LicenceCapable,
  type LicenceOutcome,
  type SessionRevocation,
} from '../identity';
import { GraphTokenSource, type GraphCredential } from './token';
import { graphRequest, type GraphRequest, type GraphResponse, type GraphTransportConfig } from './transport';

export interface GraphConnectorOptions {
  systemId: string;
  tenantId: string;
  clientId: string;
  /** The client secret, or the certificate and its key (PEM). */
  credential: GraphCredential;
  /** @default "https://login.microsoftonline.com" */
  authorityUrl?: string;
  /** @default "https://graph.microsoft.com" */
  graphUrl?: string;
  /** @default "https://graph.microsoft.com/.default" */
  scope?: string;
  /** @default 10000 */
  timeoutMs?: number;
  /** `usageLocation` for a licence when the user has none and the HR record gave no country. */
  usageLocationDefault?: string;
  /** `$top` when listing. @default 100 */
  pageSize?: number;
}

/** The user properties the connector reads (Graph returns only a default set without `$select`). */
export const USER_SELECT = [
  'id',
  'userPrincipalName',
  'employeeId',
  'accountEnabled',
  'displayName',
  'givenName',
  'surname',
  'mail',
  'jobTitle',
  'department',
  'usageLocation',
].join(',');

/** How far Graph's clock may trail ours when `signInSessionsValidFromDateTime` is read back. */
export const SESSION_CLOCK_SKEW_MS = 5 * 60_000;

const userSchema = z.looseObject({
  id: z.string().min(1),
  userPrincipalName: z.string().min(1),
  employeeId: z.string().nullish(),
  accountEnabled: z.boolean(),
  displayName: z.string().nullish(),
  givenName: z.string().nullish(),
  surname: z.string().nullish(),
  mail: z.string().nullish(),
  jobTitle: z.string().nullish(),
  department: z.string().nullish(),
  usageLocation: z.string().nullish(),
});
export type GraphUser = z.infer<typeof userSchema>;

const collectionSchema = z.looseObject({
  value: z.array(z.unknown()),
  '@odata.nextLink': z.string().optional(),
});
const idSchema = z.looseObject({ id: z.string().min(1), displayName: z.string().nullish() });
const skuSchema = z.looseObject({ skuId: z.string().min(1), skuPartNumber: z.string().min(1) });
const licenceDetailSchema = z.looseObject({ skuId: z.string().min(1), skuPartNumber: z.string().nullish() });
const sessionsSchema = z.looseObject({ id: z.string(), signInSessionsValidFromDateTime: z.string().nullish() });

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An OData string literal: single quotes, a quote inside doubled. */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** `mailNickname` from the login's local part, without the characters Graph refuses there. */
export function mailNickname(userName: string): string {
  const local = (userName.split('@')[0] ?? '').replace(/[^A-Za-z0-9.\-_!#^~'+]/g, '');
  return (local.replace(/^\.+|\.+$/g, '') || 'user').slice(0, 64);
}

/** A random 24-character password with upper, lower, digits and symbols (Entra's complexity rules); never logged. */
export function strongPassword(): string {
  const sets = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789', '!#$%&*+-=?@^_'];
  const all = sets.join('');
  const chars = sets.map((s) => s[randomInt(s.length)] ?? 'x');
  const bytes = randomBytes(24);
  for (let i = chars.length; i < 24; i++) chars.push(all[(bytes[i] ?? 0) % all.length] ?? 'x');
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j] ?? '', chars[i] ?? ''];
  }
  return chars.join('');
}

function same(a: string | null | undefined, b: string | null | undefined): boolean {
  return (a ?? '').toLowerCase() === (b ?? '').toLowerCase();
}

export function userToAccount(user: GraphUser, managerId?: string): Account {
  const account: Account = { id: user.id, userName: user.userPrincipalName, active: user.accountEnabled };
  if (user.employeeId) account.hrId = user.employeeId;
  if (user.mail) account.email = user.mail;
  if (user.givenName) account.givenName = user.givenName;
  if (user.surname) account.familyName = user.surname;
  if (user.jobTitle) account.title = user.jobTitle;
  if (user.department) account.department = user.department;
  if (managerId) account.managerId = managerId;
  return account;
}

export class GraphConnector implements IdentityConnector, GroupCapable, LicenceCapable {
  readonly systemId: string;
  private readonly transport: GraphTransportConfig;
  private readonly graphUrl: string;
  private readonly pageSize: number;
  private readonly usageLocationDefault: string | undefined;

  constructor(options: GraphConnectorOptions) {
    this.systemId = options.systemId;
    this.graphUrl = (options.graphUrl ?? GRAPH_API_URL).replace(/\/+$/, '');
    const timeoutMs = options.timeoutMs ?? 10_000;
    this.pageSize = options.pageSize ?? 100;
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1 || this.pageSize > 999)
      throw new RangeError('pageSize must be an integer from 1 to 999');
    this.usageLocationDefault = options.usageLocationDefault;
    this.transport = {
      systemId: options.systemId,
      graphUrl: this.graphUrl,
      timeoutMs,
      tokens: new GraphTokenSource({
        systemId: options.systemId,
        authorityUrl: options.authorityUrl ?? GRAPH_AUTHORITY_URL,
        tenantId: options.tenantId,
        clientId: options.clientId,
        credential: options.credential,
        scope: options.scope ?? GRAPH_DEFAULT_SCOPE,
        timeoutMs,
      }),
    };
  }

  /** With the manager's user id (a second read), which the approval escalation's directory follows. */
  async findByHrKey(hrId: string, userName?: string): Promise<Account | undefined> {
    const found = await this.lookup(hrId, userName);
    return found.kind === 'found' ? userToAccount(found.user, await this.managerOf(found.user.id)) : undefined;
  }

  async findById(accountId: string): Promise<Account | undefined> {
    const user = await this.getUser(accountId);
    return user ? userToAccount(user, await this.managerOf(user.id)) : undefined;
  }

  async findByUserName(userName: string): Promise<Account | undefined> {
    const user = await this.byLogin(userName);
    return user ? userToAccount(user) : undefined;
  }

  async ensureAccount(spec: AccountSpec): Promise<EnsureAccountOutcome> {
    const found = await this.lookup(spec.hrId, spec.userName);
    if (found.kind === 'found') return this.adopt(found.user, spec);
    if (found.kind === 'clash') throw this.clash(found.user);
    let created: GraphUser;
    try {
      const response = await this.send({ method: 'POST', path: '/v1.0/users', body: this.newUser(spec) });
      // Graph answers a create with its default property set: read the user back with what we need.
      const id = idSchema.safeParse(response.body);
      if (!id.success) throw this.malformed('POST /v1.0/users', 'a user', id.error);
      const back = await this.getUser(id.data.id);
      if (!back) {
        throw new ConnectorError('transient', `${this.systemId}: the created user ${id.data.id} is not readable yet`, {
          systemId: this.systemId,
        });
      }
      created = back;
    } catch (err) {
      // Created meanwhile (a lost answer, a concurrent run, an admin): look up again and adopt.
      if (err instanceof ConnectorError && err.type === 'conflict') {
        const again = await this.lookup(spec.hrId, spec.userName);
        if (again.kind === 'found') return this.adopt(again.user, spec);
        if (again.kind === 'clash') throw this.clash(again.user);
        // Filters read a replica that may not have the holder yet; the user read by its UPN as a key may.
        const holder = await this.getUser(spec.userName);
        if (holder && (!holder.employeeId || holder.employeeId === spec.hrId)) return this.adopt(holder, spec);
        if (holder) throw this.clash(holder);
        throw new ConnectorError(
          'transient',
          `${this.systemId}: POST /v1.0/users -> 400 (ObjectConflict), but no user holding the login is visible yet (directory replication)`,
          { ...err.details, systemId: this.systemId },
        );
      }
      throw err;
    }
    let managerId: string | undefined;
    if (spec.managerId !== undefined) {
      await this.setManager(created.id, spec.managerId);
      managerId = spec.managerId;
    }
    return { account: userToAccount(created, managerId), outcome: 'created' };
  }

  async setActive(accountId: string, active: boolean): Promise<Account> {
    const user = await this.requireUser(accountId);
    if (user.accountEnabled === active) return userToAccount(user);
    await this.send({ method: 'PATCH', path: this.userPath(accountId), body: { accountEnabled: active } });
    const back = await this.requireUser(accountId);
    if (back.accountEnabled !== active) {
      // Directory writes replicate; the PATCH is idempotent, so the retry reads again.
      throw new ConnectorError(
        'transient',
        `${this.systemId}: read-back still shows user ${accountId} ${active ? 'disabled' : 'enabled'}`,
        { systemId: this.systemId },
      );
    }
    return userToAccount(back);
  }

  async delete(accountId: string): Promise<void> {
    try {
      await this.send({ method: 'DELETE', path: this.userPath(accountId) });
    } catch (err) {
      if (!(err instanceof ConnectorError && err.type === 'not_found')) throw err;
    }
    // Graph soft-deletes: the user leaves /users (restorable from deleted items for 30 days).
    if (await this.getUser(accountId)) {
      throw new ConnectorError('transient', `${this.systemId}: read-back still shows user ${accountId}`, {
        systemId: this.systemId,
      });
    }
  }

  async *listAccounts(): AsyncIterable<Account> {
    for await (const item of this.collection(
      { method: 'GET', path: '/v1.0/users', query: { $select: USER_SELECT, $top: this.pageSize } },
      'GET /v1.0/users',
    )) {
      yield userToAccount(this.parseUser(item, 'GET /v1.0/users'));
    }
  }

  async revokeSessions(accountId: string): Promise<SessionRevocation> {
    const before = await this.sessionsValidFrom(accountId);
    const startedAt = Date.now();
    const path = `${this.userPath(accountId)}/revokeSignInSessions`;
    const response = await this.send({ method: 'POST', path });
    // Graph documents 204 and answers 200 {"value": true}; only `true` means revoked.
    if (response.status !== 204 && (response.body as { value?: unknown } | undefined)?.value !== true) {
      throw new ConnectorError(
        'invalid_request',
        `${this.systemId}: POST /v1.0/users/{id}/revokeSignInSessions -> ${response.status}: answer is not {"value": true}`,
        { systemId: this.systemId, status: response.status },
      );
    }
    const after = await this.sessionsValidFrom(accountId);
    const at = after ? Date.parse(after) : NaN;
    const moved =
      !Number.isNaN(at) &&
      at >= Math.floor(startedAt / 1000) * 1000 - SESSION_CLOCK_SKEW_MS &&
      (before === undefined || Number.isNaN(Date.parse(before)) || at >= Date.parse(before));
    if (!moved || after === undefined) {
      throw new ConnectorError(
        'transient',
        `${this.systemId}: read-back of user ${accountId} does not show signInSessionsValidFromDateTime moved yet`,
        { systemId: this.systemId },
      );
    }
    return {
      outcome: 'revoked',
      detail: `${this.systemId}: POST /v1.0/users/${accountId}/revokeSignInSessions -> ${response.status}: refresh tokens and session cookies invalidated`,
      readBack: { signInSessionsValidFromDateTime: after },
    };
  }

  async addToGroup(group: string, accountId: string): Promise<GroupMembershipOutcome> {
    const groupId = await this.resolveGroup(group);
    if (await this.isMember(groupId, accountId)) return { groupId, outcome: 'unchanged' };
    try {
      await this.send({
        method: 'POST',
        path: `/v1.0/groups/${encodeURIComponent(groupId)}/members/$ref`,
        body: { '@odata.id': `${this.graphUrl}/v1.0/directoryObjects/${accountId}` },
      });
    } catch (err) {
      // Graph answers 400 when the reference already exists (added meanwhile): read again.
      if (err instanceof ConnectorError && err.type === 'invalid_request' && (await this.isMember(groupId, accountId)))
        return { groupId, outcome: 'unchanged' };
      throw err;
    }
    return { groupId, outcome: 'changed' };
  }

  async removeFromGroup(group: string, accountId: string): Promise<GroupMembershipOutcome> {
    const groupId = await this.resolveGroup(group);
    if (!(await this.isMember(groupId, accountId))) return { groupId, outcome: 'unchanged' };
    try {
      await this.send({
        method: 'DELETE',
        path: `/v1.0/groups/${encodeURIComponent(groupId)}/members/${encodeURIComponent(accountId)}/$ref`,
      });
    } catch (err) {
      if (err instanceof ConnectorError && err.type === 'not_found') return { groupId, outcome: 'unchanged' };
      throw err;
    }
    return { groupId, outcome: 'changed' };
  }

  async listLicences(accountId: string): Promise<string[]> {
    const out: string[] = [];
    const what = 'GET /v1.0/users/{id}/licenseDetails';
    for await (const item of this.collection(
      { method: 'GET', path: `${this.userPath(accountId)}/licenseDetails` },
      what,
    )) {
      const detail = licenceDetailSchema.safeParse(item);
      if (!detail.success) throw this.malformed(what, 'a licenseDetails', detail.error);
      if (detail.data.skuPartNumber) out.push(detail.data.skuPartNumber);
    }
    return out;
  }

  async assignLicence(accountId: string, sku: string): Promise<LicenceOutcome> {
    if ((await this.listLicences(accountId)).includes(sku)) return { sku, outcome: 'unchanged' };
    const skuId = await this.skuId(sku);
    const user = await this.requireUser(accountId);
    if (!user.usageLocation) {
      if (!this.usageLocationDefault) {
        throw new ConnectorError(
          'invalid_request',
          `${this.systemId}: user ${accountId} has no usageLocation, which a licence needs (the HR record has no country and the connector no usageLocationDefault)`,
          { systemId: this.systemId },
        );
      }
      await this.send({
        method: 'PATCH',
        path: this.userPath(accountId),
        body: { usageLocation: this.usageLocationDefault },
      });
    }
    await this.send({
      method: 'POST',
      path: `${this.userPath(accountId)}/assignLicense`,
      body: { addLicenses: [{ disabledPlans: [], skuId }], removeLicenses: [] },
    });
    return { sku, outcome: 'changed' };
  }

  async removeLicence(accountId: string, sku: string): Promise<LicenceOutcome> {
    if (!(await this.listLicences(accountId)).includes(sku)) return { sku, outcome: 'unchanged' };
    const skuId = await this.skuId(sku);
    await this.send({
      method: 'POST',
      path: `${this.userPath(accountId)}/assignLicense`,
      body: { addLicenses: [], removeLicenses: [skuId] },
    });
    return { sku, outcome: 'changed' };
  }

  // -------------------------------------------------------------------------------------------------

  private send(request: GraphRequest): Promise<GraphResponse> {
    return graphRequest(this.transport, request);
  }

  private userPath(id: string): string {
    return `/v1.0/users/${encodeURIComponent(id)}`;
  }

  /** Every item of a collection, following `@odata.nextLink`; fails rather than loops on a link seen before. */
  private async *collection(first: GraphRequest, what: string): AsyncIterable<unknown> {
    const links = new Set<string>();
    let request: GraphRequest | undefined = first;
    while (request) {
      const response = await this.send(request);
      const page = collectionSchema.safeParse(response.body);
      if (!page.success) throw this.malformed(what, 'a collection', page.error);
      for (const item of page.data.value) yield item;
      const next = page.data['@odata.nextLink'];
      if (next === undefined) return;
      if (links.has(next)) {
        throw new ConnectorError('invalid_request', `${this.systemId}: ${what} repeats a next link`, {
          systemId: this.systemId,
        });
      }
      links.add(next);
      request = { method: 'GET', path: next };
    }
  }

  private async users(property: 'employeeId' | 'userPrincipalName' | 'mail', value: string): Promise<GraphUser[]> {
    const out: GraphUser[] = [];
    for await (const item of this.collection(
      {
        method: 'GET',
        path: '/v1.0/users',
        query: { $filter: `${property} eq ${odataString(value)}`, $select: USER_SELECT },
      },
      'GET /v1.0/users',
    )) {
      out.push(this.parseUser(item, 'GET /v1.0/users'));
    }
    return out;
  }

  /** Whoever holds the login: by `userPrincipalName`, else by `mail`. */
  private async byLogin(userName: string): Promise<GraphUser | undefined> {
    const byUpn = (await this.users('userPrincipalName', userName)).find((u) => same(u.userPrincipalName, userName));
    if (byUpn) return byUpn;
    return (await this.users('mail', userName)).find((u) => same(u.mail, userName));
  }

  private async lookup(
    hrId: string,
    userName: string | undefined,
  ): Promise<{ kind: 'found'; user: GraphUser } | { kind: 'clash'; user: GraphUser } | { kind: 'none' }> {
    const byHr = (await this.users('employeeId', hrId)).filter((u) => u.employeeId === hrId);
    if (byHr.length > 1) {
      throw new ConnectorError('conflict', `${this.systemId}: ${byHr.length} users have the same employeeId`, {
        systemId: this.systemId,
      });
    }
    if (byHr[0]) return { kind: 'found', user: byHr[0] };
    if (userName === undefined) return { kind: 'none' };
    const user = await this.byLogin(userName);
    if (!user) return { kind: 'none' };
    return !user.employeeId || user.employeeId === hrId ? { kind: 'found', user } : { kind: 'clash', user };
  }

  private clash(user: GraphUser): ConnectorError {
    return new ConnectorError(
      'conflict',
      `${this.systemId}: the login belongs to user ${user.id}, which has a different employeeId`,
      { systemId: this.systemId, status: 409 },
    );
  }

  private async getUser(id: string): Promise<GraphUser | undefined> {
    try {
      const response = await this.send({ method: 'GET', path: this.userPath(id), query: { $select: USER_SELECT } });
      return this.parseUser(response.body, 'GET /v1.0/users/{id}');
    } catch (err) {
      if (err instanceof ConnectorError && err.type === 'not_found') return undefined;
      throw err;
    }
  }

  private async requireUser(id: string): Promise<GraphUser> {
    const response = await this.send({ method: 'GET', path: this.userPath(id), query: { $select: USER_SELECT } });
    return this.parseUser(response.body, 'GET /v1.0/users/{id}');
  }

  private displayName(spec: AccountSpec): string {
    return `${spec.givenName} ${spec.familyName}`.trim() || spec.userName;
  }

  private newUser(spec: AccountSpec): Record<string, unknown> {
    const body: Record<string, unknown> = {
      accountEnabled: createdOn(spec),
      displayName: this.displayName(spec),
      givenName: spec.givenName,
      surname: spec.familyName,
      mailNickname: mailNickname(spec.userName),
      userPrincipalName: spec.userName,
      employeeId: spec.hrId,
      passwordProfile: { forceChangePasswordNextSignIn: true, password: strongPassword() },
    };
    if (spec.email !== undefined) body.mail = spec.email;
    if (spec.title !== undefined) body.jobTitle = spec.title;
    if (spec.department !== undefined) body.department = spec.department;
    const usageLocation = spec.countryCode ?? this.usageLocationDefault;
    if (usageLocation !== undefined) body.usageLocation = usageLocation.toUpperCase();
    return body;
  }

  /** The PATCH body that brings `user` in line with `spec`; attributes the spec leaves unset are left alone. */
  private diff(user: GraphUser, spec: AccountSpec): Record<string, unknown> {
    const patch: Record<string, unknown> = {};
    if ((user.employeeId ?? '') !== spec.hrId) patch.employeeId = spec.hrId;
    if (!same(user.userPrincipalName, spec.userName)) patch.userPrincipalName = spec.userName;
    if ((user.givenName ?? '') !== spec.givenName) patch.givenName = spec.givenName;
    if ((user.surname ?? '') !== spec.familyName) patch.surname = spec.familyName;
    if ((user.displayName ?? '') !== this.displayName(spec)) patch.displayName = this.displayName(spec);
    if (spec.active !== undefined && user.accountEnabled !== spec.active) patch.accountEnabled = spec.active;
    if (spec.title !== undefined && (user.jobTitle ?? '') !== spec.title) patch.jobTitle = spec.title;
    if (spec.department !== undefined && (user.department ?? '') !== spec.department)
      patch.department = spec.department;
    if (spec.email !== undefined && !same(user.mail, spec.email)) patch.mail = spec.email;
    if (spec.countryCode !== undefined && (user.usageLocation ?? '') !== spec.countryCode.toUpperCase())
      patch.usageLocation = spec.countryCode.toUpperCase();
    return patch;
  }

  private async adopt(user: GraphUser, spec: AccountSpec): Promise<EnsureAccountOutcome> {
    const patch = this.diff(user, spec);
    let changed = false;
    let current = user;
    if (Object.keys(patch).length > 0) {
      await this.send({ method: 'PATCH', path: this.userPath(user.id), body: patch });
      current = await this.requireUser(user.id);
      changed = true;
    }
    let managerId: string | undefined;
    if (spec.managerId !== undefined) {
      managerId = await this.managerOf(user.id);
      if (managerId !== spec.managerId) {
        await this.setManager(user.id, spec.managerId);
        managerId = spec.managerId;
        changed = true;
      }
    }
    return { account: userToAccount(current, managerId), outcome: changed ? 'updated' : 'adopted' };
  }

  private async managerOf(userId: string): Promise<string | undefined> {
    try {
      const response = await this.send({
        method: 'GET',
        path: `${this.userPath(userId)}/manager`,
        query: { $select: 'id' },
      });
      const parsed = idSchema.safeParse(response.body);
      if (!parsed.success) throw this.malformed('GET /v1.0/users/{id}/manager', 'a directory object', parsed.error);
      return parsed.data.id;
    } catch (err) {
      if (err instanceof ConnectorError && err.type === 'not_found') return undefined;
      throw err;
    }
  }

  private async setManager(userId: string, managerId: string): Promise<void> {
    await this.send({
      method: 'PUT',
      path: `${this.userPath(userId)}/manager/$ref`,
      body: { '@odata.id': `${this.graphUrl}/v1.0/users/${managerId}` },
    });
  }

  /** A group's id: by exact display name (one match), else the reference itself when it is a group id. */
  private async resolveGroup(ref: string): Promise<string> {
    const named: { id: string }[] = [];
    for await (const item of this.collection(
      {
        method: 'GET',
        path: '/v1.0/groups',
        query: { $filter: `displayName eq ${odataString(ref)}`, $select: 'id,displayName' },
      },
      'GET /v1.0/groups',
    )) {
      const group = idSchema.safeParse(item);
      if (!group.success) throw this.malformed('GET /v1.0/groups', 'a group', group.error);
      if (group.data.displayName === ref) named.push(group.data);
    }
    if (named.length > 1) {
      throw new ConnectorError(
        'conflict',
        `${this.systemId}: ${named.length} groups are named ${JSON.stringify(ref)}`,
        {
          systemId: this.systemId,
        },
      );
    }
    if (named[0]) return named[0].id;
    const notFound = new ConnectorError(
      'not_found',
      `${this.systemId}: no group has id or displayName ${JSON.stringify(ref)}`,
      { systemId: this.systemId },
    );
    if (!GUID.test(ref)) throw notFound;
    try {
      const response = await this.send({
        method: 'GET',
        path: `/v1.0/groups/${encodeURIComponent(ref)}`,
        query: { $select: 'id,displayName' },
      });
      const group = idSchema.safeParse(response.body);
      if (!group.success) throw this.malformed('GET /v1.0/groups/{id}', 'a group', group.error);
      return group.data.id;
    } catch (err) {
      if (err instanceof ConnectorError && err.type === 'not_found') throw notFound;
      throw err;
    }
  }

  /** Direct membership, from the user's `memberOf` (small, unlike an all-staff group's member list). */
  private async isMember(groupId: string, userId: string): Promise<boolean> {
    const what = 'GET /v1.0/users/{id}/memberOf';
    for await (const item of this.collection(
      { method: 'GET', path: `${this.userPath(userId)}/memberOf`, query: { $select: 'id' } },
      what,
    )) {
      const entry = idSchema.safeParse(item);
      if (!entry.success) throw this.malformed(what, 'a directory object', entry.error);
      if (entry.data.id.toLowerCase() === groupId.toLowerCase()) return true;
    }
    return false;
  }

  private async skuId(sku: string): Promise<string> {
    const what = 'GET /v1.0/subscribedSkus';
    for await (const item of this.collection(
      { method: 'GET', path: '/v1.0/subscribedSkus', query: { $select: 'skuId,skuPartNumber' } },
      what,
    )) {
      const parsed = skuSchema.safeParse(item);
      if (!parsed.success) throw this.malformed(what, 'a subscribedSku', parsed.error);
      if (parsed.data.skuPartNumber === sku) return parsed.data.skuId;
    }
    throw new ConnectorError('invalid_request', `${this.systemId}: the tenant has no subscription to ${sku}`, {
      systemId: this.systemId,
    });
  }

  private async sessionsValidFrom(accountId: string): Promise<string | undefined> {
    const response = await this.send({
      method: 'GET',
      path: this.userPath(accountId),
      query: { $select: 'id,signInSessionsValidFromDateTime' },
    });
    const parsed = sessionsSchema.safeParse(response.body);
    if (!parsed.success) throw this.malformed('GET /v1.0/users/{id}', 'a user', parsed.error);
    return parsed.data.signInSessionsValidFromDateTime ?? undefined;
  }

  private parseUser(body: unknown, what: string): GraphUser {
    const parsed = userSchema.safeParse(body);
    if (!parsed.success) throw this.malformed(what, 'a user', parsed.error);
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

/** The connector as the policy describes it; the client secret is read from the environment variable it names. */
export function createGraphConnector(
  systemId: string,
  config: GraphConnectorConfig,
  env: NodeJS.ProcessEnv,
): GraphConnector {
  const read = (name: string, what: string): string => {
    const value = env[name];
    if (!value) throw new Error(`system "${systemId}" (its Graph ${what}): environment variable ${name} is not set`);
    return value;
  };
  let credential: GraphCredential;
  if (config.certificate) {
    const { certificateEnv, privateKeyEnv } = config.certificate;
    credential = {
      kind: 'certificate',
      certificatePem: read(certificateEnv, 'certificate'),
      privateKeyPem: read(privateKeyEnv, 'private key'),
    };
  } else {
    credential = { kind: 'secret', secret: read(config.clientSecretEnv ?? '', 'client secret') };
  }
  return new GraphConnector({
    systemId,
    tenantId: config.tenantId,
    clientId: config.clientId,
    credential,
    authorityUrl: config.authorityUrl,
    graphUrl: config.graphUrl,
    scope: config.scope,
    timeoutMs: config.timeoutMs,
    pageSize: config.pageSize,
    ...(config.usageLocationDefault !== undefined ? { usageLocationDefault: config.usageLocationDefault } : {}),
  });
}
