/**
 * The native Google Workspace connector (DESIGN §6): Admin SDK Directory API for users and group members, and the
 * Data Transfer API for a leaver's Drive and Calendar. Docs: docs/connectors/google.md.
 *
 * - The HR id lives in `externalIds: [{ type: "organization", value: <hrId> }]` (type configurable).
 * - Lookup by `query=externalId:'<hrId>'`, then `query=email:'<userName>'`, before creating; a 409 on create
 *   (`duplicate`) is resolved by looking up again and adopting. An address held by an account with a different HR id
 *   is someone else's: `conflict`, never a takeover.
 * - New accounts are created `suspended` (until the hire instant), with a random password nobody sees, in the
 *   organizational unit the policy maps from department and location.
 * - `setActive` PATCHes `suspended` and reads the user back; `revokeSessions` is `users.signOut`;
 *   `transferData` starts (or finds) a Data Transfer API transfer and reads it back until `completed`.
 * - No licence API: Workspace licences are per edition, not per user in this connector's scope.
 * - No retries here: every failure is a classified `ConnectorError` (transport.ts); Temporal retries.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { GoogleConnectorConfig } from '../../domain/connectors/google';
import { orgUnitFor } from '../../domain/connectors/google';
import {
  ConnectorError,
  createdOn,
  type Account,
  type AccountSpec,
  type DataTransferCapable,
  type DataTransferOutcome,
  type EnsureAccountOutcome,
  type GroupCapable,
  type GroupMembershipOutcome,
  type IdentityConnector,
  type SessionRevocation,
} from '../identity';
import { GoogleTokenSource, parseServiceAccountKey } from './token';
import { googleRequest, type GoogleRequest, type GoogleResponse, type GoogleTransportConfig } from './transport';

const DIRECTORY = '/admin/directory/v1';
const DATATRANSFER = '/admin/datatransfer/v1';

const externalIdSchema = z.looseObject({
  value: z.string(),
  type: z.string().optional().nullable(),
  customType: z.string().optional().nullable(),
});

const organizationSchema = z.looseObject({
  title: z.string().optional().nullable(),
  department: z.string().optional().nullable(),
  primary: z.boolean().optional().nullable(),
});

const userSchema = z.looseObject({
  id: z.string().min(1),
  primaryEmail: z.string().min(1),
  name: z
    .looseObject({ givenName: z.string().optional().nullable(), familyName: z.string().optional().nullable() })
    .optional()
    .nullable(),
  suspended: z.boolean().optional().nullable(),
  orgUnitPath: z.string().optional().nullable(),
  aliases: z.array(z.string()).optional().nullable(),
  externalIds: z.array(externalIdSchema).optional().nullable(),
  organizations: z.array(organizationSchema).optional().nullable(),
  relations: z
    .array(z.looseObject({ value: z.string(), type: z.string().optional().nullable() }))
    .optional()
    .nullable(),
});

const usersPageSchema = z.looseObject({
  // Google leaves `users` out when nothing matches.
  users: z.array(z.unknown()).optional().nullable(),
  nextPageToken: z.string().optional().nullable(),
});

const groupSchema = z.looseObject({ id: z.string().min(1), email: z.string().optional().nullable() });

const transferSchema = z.looseObject({
  id: z.string().min(1),
  oldOwnerUserId: z.string().optional().nullable(),
  newOwnerUserId: z.string().optional().nullable(),
  overallTransferStatusCode: z.string().optional().nullable(),
  requestTime: z.string().optional().nullable(),
  applicationDataTransfers: z
    .array(z.looseObject({ applicationId: z.union([z.string(), z.number()]) }))
    .optional()
    .nullable(),
});

const transfersPageSchema = z.looseObject({
  dataTransfers: z.array(z.unknown()).optional().nullable(),
  nextPageToken: z.string().optional().nullable(),
});

const applicationSchema = z.looseObject({
  id: z.union([z.string(), z.number()]).transform(String),
  name: z.string(),
  transferParams: z
    .array(z.looseObject({ key: z.string(), value: z.array(z.string()).optional().nullable() }))
    .optional()
    .nullable(),
});

const applicationsPageSchema = z.looseObject({
  applications: z.array(z.unknown()).optional().nullable(),
  nextPageToken: z.string().optional().nullable(),
});

export type GoogleUser = z.infer<typeof userSchema>;
type GoogleTransfer = z.infer<typeof transferSchema>;
type GoogleApplication = z.infer<typeof applicationSchema>;
type ExternalId = z.infer<typeof externalIdSchema>;

/**
 * The transfer parameters the hand-over sends, per parameter an application offers (Data Transfer API "Transfer
 * parameters"): every Drive file, private and shared; Calendar resources of future events released.
 */
const TRANSFER_PARAM_VALUES: Record<string, string[]> = {
  PRIVACY_LEVEL: ['PRIVATE', 'SHARED'],
  RELEASE_RESOURCES: ['TRUE'],
};

/** A value quoted for the Directory API's user search: single quotes, with `\` and `'` escaped. */
export function searchValue(value: string): string {
  return `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

function sameCaseless(a: string | undefined | null, b: string | undefined | null): boolean {
  return (a ?? '').toLowerCase() === (b ?? '').toLowerCase();
}

function primaryOrganization(user: GoogleUser): z.infer<typeof organizationSchema> | undefined {
  const orgs = user.organizations ?? [];
  return orgs.find((o) => o.primary === true) ?? orgs[0];
}

/** A password nobody will ever see: 32 random characters. Sent once on create; never logged, never stored. */
function randomPassword(): string {
  return randomBytes(24).toString('base64url');
}

export interface GoogleConnectorOptions extends Omit<
  GoogleConnectorConfig,
  'type' | 'serviceAccountKeyEnv' | 'tokenUrl'
> {
  systemId: string;
  tokens: GoogleTokenSource;
}

export class GoogleConnector implements IdentityConnector, GroupCapable, DataTransferCapable {
  readonly systemId: string;
  private readonly transport: GoogleTransportConfig;

  constructor(private readonly options: GoogleConnectorOptions) {
    this.systemId = options.systemId;
    this.transport = {
      systemId: options.systemId,
      baseUrl: options.directoryUrl,
      tokens: options.tokens,
      timeoutMs: options.timeoutMs,
    };
  }

  /**
   * The account whose external id of the configured type is `hrId`; failing that, the one holding `userName` (as
   * primary address or alias) unless it carries a different HR id (that account is someone else's).
   */
  async findByHrKey(hrId: string, userName?: string): Promise<Account | undefined> {
    const found = await this.lookup(hrId, userName);
    return found.kind === 'found' ? this.toAccount(found.user) : undefined;
  }

  async findById(accountId: string): Promise<Account | undefined> {
    const user = await this.getUser(accountId);
    return user ? this.toAccount(user) : undefined;
  }

  /** Whoever holds this address, as primary address or alias, whatever their HR id. */
  async findByUserName(userName: string): Promise<Account | undefined> {
    const user = (await this.byEmail(userName))[0];
    return user ? this.toAccount(user) : undefined;
  }

  async ensureAccount(spec: AccountSpec): Promise<EnsureAccountOutcome> {
    const manager = await this.managerAddress(spec);
    const found = await this.lookup(spec.hrId, spec.userName);
    if (found.kind === 'found') return this.adopt(found.user, spec, manager);
    if (found.kind === 'clash') throw this.clash(found.user);
    let created: GoogleResponse;
    try {
      created = await this.send({
        method: 'POST',
        path: `${DIRECTORY}/users`,
        label: '/users',
        body: this.newUser(spec, manager),
      });
    } catch (err) {
      if (!(err instanceof ConnectorError) || err.type !== 'conflict') throw err;
      // Created meanwhile (a lost answer, a concurrent run, an admin): adopt it.
      const again = await this.lookup(spec.hrId, spec.userName);
      if (again.kind === 'found') return this.adopt(again.user, spec, manager);
      if (again.kind === 'clash') throw this.clash(again.user);
      throw new ConnectorError(
        'conflict',
        `${this.systemId}: creating the user conflicted (${err.details.vendorCode ?? 'HTTP 409'}), ` +
          'but no user has its HR id or address',
        { ...err.details, systemId: this.systemId },
      );
    }
    return { account: this.toAccount(this.parseUser(created.body, 'POST /users')), outcome: 'created' };
  }

  /**
   * Sets `suspended` and reads the user back. Never reports success while the user is in the other state: the
   * Directory API is eventually consistent, so a stale read-back is `transient` and Temporal tries again.
   */
  async setActive(accountId: string, active: boolean): Promise<Account> {
    await this.patchUser(accountId, { suspended: !active });
    const back = await this.getUser(accountId);
    if (!back) {
      throw new ConnectorError(
        'not_found',
        `${this.systemId}: user ${accountId} vanished after PATCH /users/{userKey}`,
        {
          systemId: this.systemId,
          status: 404,
        },
      );
    }
    const account = this.toAccount(back);
    if (account.active !== active) {
      throw new ConnectorError(
        'transient',
        `${this.systemId}: user ${accountId} still reads back ${account.active ? 'active' : 'suspended'}`,
        { systemId: this.systemId },
      );
    }
    return account;
  }

  /** Deletes the user; a user already gone counts as deleted. Reads back that it is gone. */
  async delete(accountId: string): Promise<void> {
    try {
      await this.send({ method: 'DELETE', path: this.userPath(accountId), label: '/users/{userKey}' });
    } catch (err) {
      if (!(err instanceof ConnectorError && err.type === 'not_found')) throw err;
    }
    if (await this.getUser(accountId)) {
      throw new ConnectorError('transient', `${this.systemId}: user ${accountId} still reads back after DELETE`, {
        systemId: this.systemId,
      });
    }
  }

  async *listAccounts(): AsyncIterable<Account> {
    const seen = new Set<string>();
    let pageToken: string | undefined;
    for (;;) {
      const response = await this.send({
        method: 'GET',
        path: `${DIRECTORY}/users`,
        label: '/users',
        query: { customer: this.options.customerId, maxResults: this.options.pageSize, pageToken },
      });
      const page = this.parse(usersPageSchema, response.body, 'GET /users', 'a users list');
      for (const raw of page.users ?? []) {
        const user = this.parseUser(raw, 'GET /users');
        if (seen.has(user.id)) continue;
        seen.add(user.id);
        yield this.toAccount(user);
      }
      const next = page.nextPageToken ?? undefined;
      if (!next) return;
      if (next === pageToken) {
        throw new ConnectorError('invalid_request', `${this.systemId}: GET /users repeated its page token`, {
          systemId: this.systemId,
        });
      }
      pageToken = next;
    }
  }

  /** Adds the user to the group (by the group's email or id); already a member (409 `duplicate`) is `unchanged`. */
  async addToGroup(group: string, accountId: string): Promise<GroupMembershipOutcome> {
    const groupId = await this.resolveGroup(group);
    const user = await this.getUser(accountId);
    if (!user) {
      throw new ConnectorError('not_found', `${this.systemId}: no user ${accountId} to add to a group`, {
        systemId: this.systemId,
        status: 404,
      });
    }
    try {
      await this.send({
        method: 'POST',
        path: `${DIRECTORY}/groups/${encodeURIComponent(groupId)}/members`,
        label: '/groups/{groupKey}/members',
        body: { email: user.primaryEmail, role: 'MEMBER' },
      });
    } catch (err) {
      if (err instanceof ConnectorError && err.type === 'conflict') return { groupId, outcome: 'unchanged' };
      throw err;
    }
    return { groupId, outcome: 'changed' };
  }

  /** Removes the user from the group; not a member (404 on the member, the group existing) is `unchanged`. */
  async removeFromGroup(group: string, accountId: string): Promise<GroupMembershipOutcome> {
    const groupId = await this.resolveGroup(group);
    try {
      await this.send({
        method: 'DELETE',
        path: `${DIRECTORY}/groups/${encodeURIComponent(groupId)}/members/${encodeURIComponent(accountId)}`,
        label: '/groups/{groupKey}/members/{memberKey}',
      });
    } catch (err) {
      if (err instanceof ConnectorError && err.type === 'not_found') return { groupId, outcome: 'unchanged' };
      throw err;
    }
    return { groupId, outcome: 'changed' };
  }

  /**
   * `users.signOut`: ends every web and device session and resets sign-in cookies. Google exposes no field that
   * shows it happened, so there is no read-back; the evidence says so.
   */
  async revokeSessions(accountId: string): Promise<SessionRevocation> {
    const r = await this.send({
      method: 'POST',
      path: `${this.userPath(accountId)}/signOut`,
      label: '/users/{userKey}/signOut',
    });
    return {
      outcome: 'revoked',
      detail:
        `${this.systemId}: POST /users/{userKey}/signOut -> ${r.status}: web and device sessions ended, sign-in ` +
        'cookies reset (Google has no field to read this back)',
    };
  }

  /**
   * Hands `fromAccountId`'s data (the configured applications: Drive and Docs, Calendar) to `toAccountId`. Idempotent:
   * an existing transfer between the same two users (not failed) is reused rather than a second started. Reads the
   * transfer back; while it is not `completed` this throws `transient`, so Temporal asks again later.
   */
  async transferData(fromAccountId: string, toAccountId: string): Promise<DataTransferOutcome> {
    let transfer = await this.existingTransfer(fromAccountId, toAccountId);
    let apps: GoogleApplication[] | undefined;
    if (!transfer) {
      apps = await this.transferApplications();
      const created = await this.send({
        method: 'POST',
        path: `${DATATRANSFER}/transfers`,
        label: '/transfers',
        body: {
          oldOwnerUserId: fromAccountId,
          newOwnerUserId: toAccountId,
          applicationDataTransfers: apps.map((app) => ({
            applicationId: app.id,
            applicationTransferParams: (app.transferParams ?? [])
              .filter((p) => TRANSFER_PARAM_VALUES[p.key] !== undefined)
              .map((p) => ({ key: p.key, value: TRANSFER_PARAM_VALUES[p.key] })),
          })),
        },
      });
      transfer = this.parse(transferSchema, created.body, 'POST /transfers', 'a DataTransfer');
    }
    const back = this.parse(
      transferSchema,
      (
        await this.send({
          method: 'GET',
          path: `${DATATRANSFER}/transfers/${encodeURIComponent(transfer.id)}`,
          label: '/transfers/{dataTransferId}',
        })
      ).body,
      'GET /transfers/{dataTransferId}',
      'a DataTransfer',
    );
    const status = back.overallTransferStatusCode ?? 'unknown';
    if (status === 'completed') {
      const names = apps ?? (await this.applicationNames(back));
      return {
        outcome: 'transferred',
        transferId: back.id,
        detail: `${names.map((a) => a.name).join(', ')} (Data Transfer API transfer ${back.id}: completed)`,
      };
    }
    if (status === 'failed') {
      throw new ConnectorError(
        'invalid_request',
        `${this.systemId}: data transfer ${back.id} failed; retrying the step starts a new one`,
        { systemId: this.systemId, vendorCode: 'failed' },
      );
    }
    throw new ConnectorError(
      'transient',
      `${this.systemId}: data transfer ${back.id} is ${/^[A-Za-z_]{1,32}$/.test(status) ? status : 'not complete'}; it is read again on retry`,
      { systemId: this.systemId },
    );
  }

  // -------------------------------------------------------------------------------------------------

  private send(request: GoogleRequest): Promise<GoogleResponse> {
    return googleRequest(this.transport, request);
  }

  private userPath(id: string): string {
    return `${DIRECTORY}/users/${encodeURIComponent(id)}`;
  }

  private ourExternalId(hrId: string): ExternalId {
    const { externalIdType, externalIdCustomType } = this.options;
    return externalIdType === 'custom'
      ? { type: 'custom', customType: externalIdCustomType ?? '', value: hrId }
      : { type: externalIdType, value: hrId };
  }

  private isOurs(e: ExternalId): boolean {
    const { externalIdType, externalIdCustomType } = this.options;
    return e.type === externalIdType && (externalIdType !== 'custom' || e.customType === externalIdCustomType);
  }

  private hrIdOf(user: GoogleUser): string | undefined {
    const value = (user.externalIds ?? []).find((e) => this.isOurs(e))?.value;
    return value === undefined || value === '' ? undefined : value;
  }

  toAccount(user: GoogleUser): Account {
    const account: Account = {
      id: user.id,
      userName: user.primaryEmail,
      active: user.suspended !== true,
      email: user.primaryEmail,
    };
    const hrId = this.hrIdOf(user);
    if (hrId !== undefined) account.hrId = hrId;
    if (user.name?.givenName) account.givenName = user.name.givenName;
    if (user.name?.familyName) account.familyName = user.name.familyName;
    const org = primaryOrganization(user);
    if (org?.title) account.title = org.title;
    if (org?.department) account.department = org.department;
    return account;
  }

  /** The user, or `undefined` when the API answers 404. */
  private async getUser(id: string): Promise<GoogleUser | undefined> {
    try {
      const r = await this.send({ method: 'GET', path: this.userPath(id), label: '/users/{userKey}' });
      return this.parseUser(r.body, 'GET /users/{userKey}');
    } catch (err) {
      if (err instanceof ConnectorError && err.type === 'not_found') return undefined;
      throw err;
    }
  }

  private async patchUser(id: string, body: Record<string, unknown>): Promise<GoogleUser> {
    const r = await this.send({ method: 'PATCH', path: this.userPath(id), label: '/users/{userKey}', body });
    return this.parseUser(r.body, 'PATCH /users/{userKey}');
  }

  /** Users matching a search (every page: a search matches a handful). */
  private async search(query: string): Promise<GoogleUser[]> {
    const out: GoogleUser[] = [];
    let pageToken: string | undefined;
    for (;;) {
      const r = await this.send({
        method: 'GET',
        path: `${DIRECTORY}/users`,
        label: '/users',
        query: { customer: this.options.customerId, query, maxResults: this.options.pageSize, pageToken },
      });
      const page = this.parse(usersPageSchema, r.body, 'GET /users', 'a users list');
      for (const raw of page.users ?? []) out.push(this.parseUser(raw, 'GET /users'));
      const next = page.nextPageToken ?? undefined;
      if (!next || next === pageToken) return out;
      pageToken = next;
    }
  }

  private async byHrId(hrId: string): Promise<GoogleUser[]> {
    return (await this.search(`externalId:${searchValue(hrId)}`)).filter((u) => this.hrIdOf(u) === hrId);
  }

  private async byEmail(address: string): Promise<GoogleUser[]> {
    return (await this.search(`email:${searchValue(address)}`)).filter(
      (u) => sameCaseless(u.primaryEmail, address) || (u.aliases ?? []).some((a) => sameCaseless(a, address)),
    );
  }

  private async lookup(
    hrId: string,
    userName: string | undefined,
  ): Promise<{ kind: 'found'; user: GoogleUser } | { kind: 'clash'; user: GoogleUser } | { kind: 'none' }> {
    const byHr = await this.byHrId(hrId);
    if (byHr.length > 1) {
      throw new ConnectorError('conflict', `${this.systemId}: ${byHr.length} users carry the same HR id`, {
        systemId: this.systemId,
      });
    }
    if (byHr[0]) return { kind: 'found', user: byHr[0] };
    if (userName === undefined) return { kind: 'none' };
    const user = (await this.byEmail(userName))[0];
    if (!user) return { kind: 'none' };
    const theirs = this.hrIdOf(user);
    return theirs === undefined || theirs === hrId ? { kind: 'found', user } : { kind: 'clash', user };
  }

  private clash(user: GoogleUser): ConnectorError {
    return new ConnectorError(
      'conflict',
      `${this.systemId}: the address belongs to user ${user.id}, which carries a different HR id`,
      { systemId: this.systemId, status: 409 },
    );
  }

  private orgUnit(spec: AccountSpec): string {
    return orgUnitFor(this.options, { department: spec.department, location: spec.location });
  }

  /**
   * The manager's address, for `relations: [{ type: "manager", value: <address> }]` (Google relates people by
   * address). `undefined` when the spec names no manager or the manager's user is gone.
   */
  private async managerAddress(spec: AccountSpec): Promise<string | undefined> {
    if (spec.managerId === undefined) return undefined;
    return (await this.getUser(spec.managerId))?.primaryEmail;
  }

  private newUser(spec: AccountSpec, manager: string | undefined): Record<string, unknown> {
    const body: Record<string, unknown> = {
      primaryEmail: spec.userName,
      name: { givenName: spec.givenName, familyName: spec.familyName },
      password: randomPassword(),
      changePasswordAtNextLogin: true,
      suspended: !createdOn(spec),
      externalIds: [this.ourExternalId(spec.hrId)],
      orgUnitPath: this.orgUnit(spec),
    };
    if (manager !== undefined) body.relations = [{ type: 'manager', value: manager }];
    if (spec.title !== undefined || spec.department !== undefined) {
      body.organizations = [
        {
          primary: true,
          ...(spec.title !== undefined ? { title: spec.title } : {}),
          ...(spec.department !== undefined ? { department: spec.department } : {}),
        },
      ];
    }
    return body;
  }

  /** The PATCH body that brings `user` to `spec`; attributes the spec leaves unset are left alone. */
  private diff(user: GoogleUser, spec: AccountSpec, manager: string | undefined): Record<string, unknown> {
    const patch: Record<string, unknown> = {};
    if (this.hrIdOf(user) !== spec.hrId) {
      patch.externalIds = [...(user.externalIds ?? []).filter((e) => !this.isOurs(e)), this.ourExternalId(spec.hrId)];
    }
    if (!sameCaseless(user.primaryEmail, spec.userName)) patch.primaryEmail = spec.userName;
    if ((user.name?.givenName ?? '') !== spec.givenName || (user.name?.familyName ?? '') !== spec.familyName) {
      patch.name = { givenName: spec.givenName, familyName: spec.familyName };
    }
    if (spec.active !== undefined && (user.suspended !== true) !== spec.active) patch.suspended = !spec.active;
    const ou = this.orgUnit(spec);
    if ((user.orgUnitPath ?? '/') !== ou) patch.orgUnitPath = ou;
    const org = primaryOrganization(user);
    const titleDiffers = spec.title !== undefined && (org?.title ?? '') !== spec.title;
    const departmentDiffers = spec.department !== undefined && (org?.department ?? '') !== spec.department;
    if (titleDiffers || departmentDiffers) {
      const others = (user.organizations ?? []).filter((o) => o !== org);
      patch.organizations = [
        ...others,
        {
          ...org,
          primary: true,
          ...(spec.title !== undefined ? { title: spec.title } : {}),
          ...(spec.department !== undefined ? { department: spec.department } : {}),
        },
      ];
    }
    const relations = user.relations ?? [];
    if (manager !== undefined && !sameCaseless(relations.find((r) => r.type === 'manager')?.value, manager)) {
      patch.relations = [...relations.filter((r) => r.type !== 'manager'), { type: 'manager', value: manager }];
    }
    return patch;
  }

  private async adopt(user: GoogleUser, spec: AccountSpec, manager: string | undefined): Promise<EnsureAccountOutcome> {
    const patch = this.diff(user, spec, manager);
    if (Object.keys(patch).length === 0) return { account: this.toAccount(user), outcome: 'adopted' };
    const updated = await this.patchUser(user.id, patch);
    return { account: this.toAccount(updated), outcome: 'updated' };
  }

  /** The group's id, from its email address, alias or id. */
  private async resolveGroup(ref: string): Promise<string> {
    try {
      const r = await this.send({
        method: 'GET',
        path: `${DIRECTORY}/groups/${encodeURIComponent(ref)}`,
        label: '/groups/{groupKey}',
      });
      return this.parse(groupSchema, r.body, 'GET /groups/{groupKey}', 'a Group').id;
    } catch (err) {
      if (err instanceof ConnectorError && err.type === 'not_found') {
        throw new ConnectorError('not_found', `${this.systemId}: no group has email or id ${JSON.stringify(ref)}`, {
          ...err.details,
          systemId: this.systemId,
        });
      }
      throw err;
    }
  }

  /** The Data Transfer API's customer id: the alias `my_customer` is the Directory API's only, so it is left out. */
  private transferCustomer(): string | undefined {
    return this.options.customerId === 'my_customer' ? undefined : this.options.customerId;
  }

  /** The newest transfer from one user to the other that has not failed. */
  private async existingTransfer(from: string, to: string): Promise<GoogleTransfer | undefined> {
    const found: GoogleTransfer[] = [];
    let pageToken: string | undefined;
    for (;;) {
      const r = await this.send({
        method: 'GET',
        path: `${DATATRANSFER}/transfers`,
        label: '/transfers',
        query: { customerId: this.transferCustomer(), oldOwnerUserId: from, newOwnerUserId: to, pageToken },
      });
      const page = this.parse(transfersPageSchema, r.body, 'GET /transfers', 'a transfers list');
      for (const raw of page.dataTransfers ?? []) {
        const t = this.parse(transferSchema, raw, 'GET /transfers', 'a DataTransfer');
        // The API filters by owner; a stand-in or proxy that ignores the filter must not hand someone else's data.
        if (t.oldOwnerUserId === from && t.newOwnerUserId === to && t.overallTransferStatusCode !== 'failed') {
          found.push(t);
        }
      }
      const next = page.nextPageToken ?? undefined;
      if (!next || next === pageToken) break;
      pageToken = next;
    }
    return found.sort((a, b) => Date.parse(b.requestTime ?? '') - Date.parse(a.requestTime ?? ''))[0];
  }

  private async listApplications(): Promise<GoogleApplication[]> {
    const out: GoogleApplication[] = [];
    let pageToken: string | undefined;
    for (;;) {
      const r = await this.send({
        method: 'GET',
        path: `${DATATRANSFER}/applications`,
        label: '/applications',
        query: { customerId: this.transferCustomer(), pageToken },
      });
      const page = this.parse(applicationsPageSchema, r.body, 'GET /applications', 'an applications list');
      for (const raw of page.applications ?? [])
        out.push(this.parse(applicationSchema, raw, 'GET /applications', 'an Application'));
      const next = page.nextPageToken ?? undefined;
      if (!next || next === pageToken) return out;
      pageToken = next;
    }
  }

  /** The configured applications (by name, any case), each of which must exist. */
  private async transferApplications(): Promise<GoogleApplication[]> {
    const all = await this.listApplications();
    return this.options.transferApplications.map((name) => {
      const app = all.find((a) => sameCaseless(a.name, name));
      if (!app) {
        throw new ConnectorError(
          'invalid_request',
          `${this.systemId}: the Data Transfer API offers no application named ${JSON.stringify(name)}`,
          { systemId: this.systemId },
        );
      }
      return app;
    });
  }

  /** Names of the applications a transfer moved (for the evidence of a transfer found, not started, here). */
  private async applicationNames(transfer: GoogleTransfer): Promise<{ name: string }[]> {
    const ids = (transfer.applicationDataTransfers ?? []).map((a) => String(a.applicationId));
    const all = await this.listApplications();
    return ids.map((id) => ({ name: all.find((a) => a.id === id)?.name ?? `application ${id}` }));
  }

  private parseUser(body: unknown, what: string): GoogleUser {
    return this.parse(userSchema, body, what, 'a User');
  }

  private parse<T extends z.ZodType>(schema: T, body: unknown, what: string, expected: string): z.infer<T> {
    const parsed = schema.safeParse(body);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    const where = issue ? ` (${issue.path.join('.') || 'body'}: ${issue.message})` : '';
    throw new ConnectorError('invalid_request', `${this.systemId}: ${what} did not return ${expected}${where}`, {
      systemId: this.systemId,
    });
  }
}

/**
 * The connector as the worker builds it from the policy: the service account key is read from the environment variable
 * the policy names, here and nowhere else.
 */
export function createGoogleConnector(
  systemId: string,
  config: GoogleConnectorConfig,
  env: NodeJS.ProcessEnv,
): GoogleConnector {
  const what = `system "${systemId}" (its Google service account key)`;
  const json = env[config.serviceAccountKeyEnv];
  if (!json) throw new Error(`${what}: environment variable ${config.serviceAccountKeyEnv} is not set`);
  const key = parseServiceAccountKey(json, what);
  const tokens = new GoogleTokenSource({
    systemId,
    key,
    subject: config.adminSubject,
    ...(config.tokenUrl !== undefined ? { tokenUrl: config.tokenUrl } : {}),
    timeoutMs: config.timeoutMs,
  });
  const { type: _type, serviceAccountKeyEnv: _env, tokenUrl: _tokenUrl, ...rest } = config;
  return new GoogleConnector({ ...rest, systemId, tokens });
}
