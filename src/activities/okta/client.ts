/**
 * The native Okta connector over the Management API (`/api/v1`), DESIGN §6; docs/connectors/okta.md.
 *
 * - The HR id lives in a profile attribute (`employeeNumber` by default). Lookup: `search=profile.<attr> eq "…"`, then
 *   `filter=profile.login eq "…"` (filter reads the most up-to-date data, so a lost create answer is still adopted).
 * - Create: `POST /api/v1/users?activate=false`: the account is STAGED until the hire instant. A 400 E0000001 whose
 *   causes say the login exists is resolved by looking up again and adopting.
 * - States: `setActive` moves the user along Okta's lifecycle by the reason (hire → activate, leave → suspend,
 *   return → unsuspend, exit/cancel → deactivate), reads the user first (a retry after a lost answer finds the
 *   transition done) and reads back after: it never reports success while the user is in the other state.
 * - Delete: deactivate, then `DELETE` (Okta deletes only DEPROVISIONED users); gone (404) is success.
 * - No retries here: every failure is a classified `ConnectorError` (transport.ts); Temporal retries.
 */
import { z } from 'zod';
import type { OktaConnectorConfig } from '../../domain/connectors/okta';
import {
  ConnectorError,
  createdOn,
  type Account,
  type AccountSpec,
  type ActivationContext,
  type EnsureAccountOutcome,
  type GroupCapable,
  type GroupMembershipOutcome,
  type IdentityConnector,
  type SessionRevocation,
} from '../identity';
import { oauthAuth, sswsAuth } from './token';
import { oktaRequest, type OktaAuth, type OktaRequest, type OktaResponse } from './transport';

/** Okta statuses in which the account can be used (or its owner can finish activating it). */
export const ENABLED_STATUSES: readonly string[] = [
  'ACTIVE',
  'PROVISIONED',
  'RECOVERY',
  'LOCKED_OUT',
  'PASSWORD_EXPIRED',
];

const userSchema = z.looseObject({
  id: z.string().min(1),
  status: z.string().min(1),
  transitioningToStatus: z.string().optional().nullable(),
  profile: z.looseObject({
    login: z.string(),
    email: z.string().optional().nullable(),
    firstName: z.string().optional().nullable(),
    lastName: z.string().optional().nullable(),
    title: z.string().optional().nullable(),
    department: z.string().optional().nullable(),
    managerId: z.string().optional().nullable(),
    countryCode: z.string().optional().nullable(),
  }),
});
type OktaUser = z.infer<typeof userSchema>;

const groupSchema = z.looseObject({
  id: z.string().min(1),
  profile: z.looseObject({ name: z.string() }),
});
type OktaGroup = z.infer<typeof groupSchema>;

export interface OktaConnectorOptions {
  systemId: string;
  orgUrl: string;
  auth: OktaAuth;
  timeoutMs: number;
  hrKeyAttribute: string;
  sendActivationEmail: boolean;
  provider?: { type: 'FEDERATION' | 'SOCIAL'; name?: string };
  pageSize: number;
}

type Lifecycle = 'activate' | 'reactivate' | 'suspend' | 'unsuspend' | 'deactivate';

function sameCaseless(a: string | undefined | null, b: string | undefined | null): boolean {
  return (a ?? '').toLowerCase() === (b ?? '').toLowerCase();
}

/** An Okta search/filter expression `attr eq "value"`, the value escaped as a JSON string. */
export function oktaEq(attribute: string, value: string): string {
  return `${attribute} eq ${JSON.stringify(value)}`;
}

export class OktaConnector implements IdentityConnector, GroupCapable {
  readonly systemId: string;
  private readonly hrKey: string;

  constructor(private readonly options: OktaConnectorOptions) {
    this.systemId = options.systemId;
    this.hrKey = options.hrKeyAttribute;
  }

  // ---------------------------------------------------------------------------------------------- lookups

  async findByHrKey(hrId: string, userName?: string): Promise<Account | undefined> {
    const found = await this.lookup(hrId, userName);
    return found.kind === 'found' ? this.toAccount(found.user) : undefined;
  }

  async findById(accountId: string): Promise<Account | undefined> {
    const user = await this.getUser(accountId);
    return user ? this.toAccount(user) : undefined;
  }

  async findByUserName(userName: string): Promise<Account | undefined> {
    const user = await this.byLogin(userName);
    return user ? this.toAccount(user) : undefined;
  }

  // ---------------------------------------------------------------------------------------------- writes

  /** Find-or-create: a new user is STAGED (`activate=false`); an existing one is adopted and brought up to date. */
  async ensureAccount(spec: AccountSpec): Promise<EnsureAccountOutcome> {
    const found = await this.lookup(spec.hrId, spec.userName);
    if (found.kind === 'found') return this.adopt(found.user, spec);
    if (found.kind === 'clash') throw this.clash(found.user);

    let created: OktaUser;
    try {
      const body: Record<string, unknown> = { profile: this.profile(spec) };
      if (this.options.provider) body.credentials = { provider: this.options.provider };
      const response = await this.send({
        method: 'POST',
        path: '/api/v1/users',
        route: '/api/v1/users',
        query: { activate: false, ...(this.options.provider ? { provider: true } : {}) },
        body,
      });
      created = this.parseUser(response.body, 'POST /api/v1/users');
    } catch (err) {
      if (!(err instanceof ConnectorError) || err.type !== 'conflict') throw err;
      // Created meanwhile (a retry after a lost answer, a concurrent run, an admin): adopt it.
      const again = await this.lookup(spec.hrId, spec.userName);
      if (again.kind === 'found') return this.adopt(again.user, spec);
      if (again.kind === 'clash') throw this.clash(again.user);
      throw new ConnectorError(
        'conflict',
        `${this.systemId}: creating the user conflicted (${err.details.vendorCode ?? `HTTP ${err.details.status ?? '?'}`}), but no user has its HR key or login`,
        { ...err.details, systemId: this.systemId },
      );
    }
    if (createdOn(spec)) {
      return { account: await this.setActive(created.id, true, { reason: 'hire' }), outcome: 'created' };
    }
    return { account: this.toAccount(created), outcome: 'created' };
  }

  /**
   * Moves the user along Okta's lifecycle and returns it as Okta then reports it.
   *
   * | asked                    | from                                    | call                      | to                       |
   * |--------------------------|-----------------------------------------|---------------------------|--------------------------|
   * | on (hire, return, none)  | STAGED, DEPROVISIONED (a rehire)        | `lifecycle/activate`      | ACTIVE or PROVISIONED    |
   * | on                       | SUSPENDED                               | `lifecycle/unsuspend`     | ACTIVE                   |
   * | off, `leave`             | ACTIVE                                  | `lifecycle/suspend`       | SUSPENDED                |
   * | off, `leave`             | PROVISIONED, RECOVERY, LOCKED_OUT, …    | `lifecycle/deactivate`    | DEPROVISIONED            |
   * | off (exit, cancel, none) | anything but DEPROVISIONED              | `lifecycle/deactivate`    | DEPROVISIONED            |
   *
   * A user already in a state that satisfies the request is left alone (a retry). Okta only suspends ACTIVE users, so a
   * leave of a user who never finished activating deactivates them. Okta documents `reactivate` for PROVISIONED users
   * only (it restarts the activation flow); a DEPROVISIONED user is brought back with `activate`.
   */
  async setActive(accountId: string, active: boolean, context?: ActivationContext): Promise<Account> {
    const before = await this.requireUser(accountId);
    if (before.transitioningToStatus) throw this.transitioning(before);
    const op = this.transition(before.status, active, context);
    if (op !== undefined) {
      try {
        await this.lifecycle(accountId, op);
      } catch (err) {
        // A refused transition (E0000001 / E0000016) is fine if the user is already where we want it: re-read.
        if (!(err instanceof ConnectorError) || (err.type !== 'invalid_request' && err.type !== 'conflict')) throw err;
        const now = await this.requireUser(accountId);
        if (this.isEnabled(now) !== active || now.transitioningToStatus) throw err;
        return this.toAccount(now);
      }
    }
    const after = await this.requireUser(accountId);
    if (after.transitioningToStatus) throw this.transitioning(after);
    if (this.isEnabled(after) !== active) {
      throw new ConnectorError(
        'invalid_request',
        `${this.systemId}: ${op ?? 'no'} lifecycle call succeeded but user ${accountId} is ${after.status}, still ${active ? 'not enabled' : 'enabled'}`,
        { systemId: this.systemId },
      );
    }
    return this.toAccount(after);
  }

  /** Deactivate (when not already DEPROVISIONED), then delete; a user already gone is success. Reads back gone. */
  async delete(accountId: string): Promise<void> {
    const user = await this.getUser(accountId);
    if (!user) return;
    try {
      if (user.status !== 'DEPROVISIONED') await this.lifecycle(accountId, 'deactivate');
      await this.send({
        method: 'DELETE',
        path: this.userPath(accountId),
        route: '/api/v1/users/{id}',
        query: { sendEmail: false },
      });
    } catch (err) {
      if (err instanceof ConnectorError && err.type === 'not_found') return;
      throw err;
    }
    const left = await this.getUser(accountId);
    if (left) {
      throw new ConnectorError(
        'invalid_request',
        `${this.systemId}: DELETE succeeded but user ${accountId} is still there (${left.status})`,
        { systemId: this.systemId },
      );
    }
  }

  /** Clears the user's Okta sessions and revokes their OAuth/OIDC tokens (`oauthTokens=true`); idempotent. */
  async revokeSessions(accountId: string): Promise<SessionRevocation> {
    const route = '/api/v1/users/{id}/sessions';
    const response = await this.send({
      method: 'DELETE',
      path: `${this.userPath(accountId)}/sessions`,
      route,
      query: { oauthTokens: true },
    });
    const user = await this.requireUser(accountId);
    return {
      outcome: 'revoked',
      detail: `${this.systemId}: DELETE ${route}?oauthTokens=true -> ${response.status}: Okta sessions cleared and OAuth tokens revoked`,
      readBack: { userStatus: user.status },
    };
  }

  // ---------------------------------------------------------------------------------------------- groups

  async addToGroup(group: string, accountId: string): Promise<GroupMembershipOutcome> {
    const g = await this.resolveGroup(group);
    if (await this.isMember(g.id, accountId)) return { groupId: g.id, outcome: 'unchanged' };
    await this.send({
      method: 'PUT',
      path: this.membershipPath(g.id, accountId),
      route: '/api/v1/groups/{groupId}/users/{userId}',
    });
    if (!(await this.isMember(g.id, accountId))) {
      throw new ConnectorError(
        'invalid_request',
        `${this.systemId}: PUT membership succeeded but group ${g.id} does not list user ${accountId}`,
        { systemId: this.systemId },
      );
    }
    return { groupId: g.id, outcome: 'changed' };
  }

  async removeFromGroup(group: string, accountId: string): Promise<GroupMembershipOutcome> {
    const g = await this.resolveGroup(group);
    if (!(await this.isMember(g.id, accountId))) return { groupId: g.id, outcome: 'unchanged' };
    try {
      await this.send({
        method: 'DELETE',
        path: this.membershipPath(g.id, accountId),
        route: '/api/v1/groups/{groupId}/users/{userId}',
      });
    } catch (err) {
      if (!(err instanceof ConnectorError && err.type === 'not_found')) throw err;
    }
    if (await this.isMember(g.id, accountId)) {
      throw new ConnectorError(
        'invalid_request',
        `${this.systemId}: DELETE membership succeeded but group ${g.id} still lists user ${accountId}`,
        { systemId: this.systemId },
      );
    }
    return { groupId: g.id, outcome: 'changed' };
  }

  // ---------------------------------------------------------------------------------------------- listing

  /**
   * Every user: `GET /api/v1/users` (Okta leaves DEPROVISIONED users out of a plain list), then
   * `filter=status eq "DEPROVISIONED"`, each following `Link: rel="next"`; each user once.
   */
  async *listAccounts(): AsyncIterable<Account> {
    const seen = new Set<string>();
    const passes: OktaRequest['query'][] = [
      { limit: this.options.pageSize },
      { limit: this.options.pageSize, filter: oktaEq('status', 'DEPROVISIONED') },
    ];
    for (const query of passes) {
      for await (const item of this.pages('/api/v1/users', '/api/v1/users', query)) {
        const user = this.parseUser(item, 'GET /api/v1/users');
        if (seen.has(user.id)) continue;
        seen.add(user.id);
        yield this.toAccount(user);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------- internals

  private send(request: OktaRequest): Promise<OktaResponse> {
    return oktaRequest(
      {
        systemId: this.systemId,
        orgUrl: this.options.orgUrl,
        auth: this.options.auth,
        timeoutMs: this.options.timeoutMs,
      },
      request,
    );
  }

  /** The items of a list endpoint across its pages; fails rather than loops if a next link repeats. */
  private async *pages(path: string, route: string, query: OktaRequest['query']): AsyncIterable<unknown> {
    const visited = new Set<string>();
    let request: OktaRequest = { method: 'GET', path, route, query };
    for (;;) {
      const response = await this.send(request);
      if (!Array.isArray(response.body)) {
        throw new ConnectorError('invalid_request', `${this.systemId}: GET ${route} did not return an array`, {
          systemId: this.systemId,
        });
      }
      yield* response.body as unknown[];
      if (response.next === undefined) return;
      if (visited.has(response.next)) {
        throw new ConnectorError('invalid_request', `${this.systemId}: GET ${route} repeats a next-page link`, {
          systemId: this.systemId,
        });
      }
      visited.add(response.next);
      request = { method: 'GET', path: response.next, route };
    }
  }

  private userPath(id: string): string {
    return `/api/v1/users/${encodeURIComponent(id)}`;
  }

  private membershipPath(groupId: string, userId: string): string {
    return `/api/v1/groups/${encodeURIComponent(groupId)}/users/${encodeURIComponent(userId)}`;
  }

  private async getUser(id: string): Promise<OktaUser | undefined> {
    try {
      const r = await this.send({ method: 'GET', path: this.userPath(id), route: '/api/v1/users/{id}' });
      return this.parseUser(r.body, 'GET /api/v1/users/{id}');
    } catch (err) {
      if (err instanceof ConnectorError && err.type === 'not_found') return undefined;
      throw err;
    }
  }

  private async requireUser(id: string): Promise<OktaUser> {
    const r = await this.send({ method: 'GET', path: this.userPath(id), route: '/api/v1/users/{id}' });
    return this.parseUser(r.body, 'GET /api/v1/users/{id}');
  }

  private async list(query: Record<string, string>): Promise<OktaUser[]> {
    const out: OktaUser[] = [];
    for await (const item of this.pages('/api/v1/users', '/api/v1/users', query))
      out.push(this.parseUser(item, 'GET /api/v1/users'));
    return out;
  }

  private async byLogin(login: string): Promise<OktaUser | undefined> {
    const users = await this.list({ filter: oktaEq('profile.login', login) });
    return users.find((u) => sameCaseless(u.profile.login, login));
  }

  private hrKeyOf(user: OktaUser): string {
    const value = user.profile[this.hrKey];
    return typeof value === 'string' ? value : '';
  }

  private async lookup(
    hrId: string,
    userName: string | undefined,
  ): Promise<{ kind: 'found'; user: OktaUser } | { kind: 'clash'; user: OktaUser } | { kind: 'none' }> {
    const byHr = (await this.list({ search: oktaEq(`profile.${this.hrKey}`, hrId) })).filter(
      (u) => this.hrKeyOf(u) === hrId,
    );
    if (byHr.length > 1) {
      throw new ConnectorError('conflict', `${this.systemId}: ${byHr.length} users carry the same HR key`, {
        systemId: this.systemId,
      });
    }
    if (byHr[0]) return { kind: 'found', user: byHr[0] };
    if (userName === undefined) return { kind: 'none' };
    const user = await this.byLogin(userName);
    if (!user) return { kind: 'none' };
    const key = this.hrKeyOf(user);
    return key === '' || key === hrId ? { kind: 'found', user } : { kind: 'clash', user };
  }

  private clash(user: OktaUser): ConnectorError {
    return new ConnectorError(
      'conflict',
      `${this.systemId}: the login belongs to user ${user.id}, which carries a different HR key`,
      { systemId: this.systemId, status: 400 },
    );
  }

  /** The profile Tenure writes (only attributes the spec sets). */
  private profile(spec: AccountSpec): Record<string, string> {
    const p: Record<string, string> = {
      login: spec.userName,
      email: spec.email ?? spec.userName,
      firstName: spec.givenName,
      lastName: spec.familyName,
      [this.hrKey]: spec.hrId,
    };
    if (spec.title !== undefined) p.title = spec.title;
    if (spec.department !== undefined) p.department = spec.department;
    if (spec.managerId !== undefined) p.managerId = spec.managerId;
    if (spec.countryCode !== undefined) p.countryCode = spec.countryCode;
    return p;
  }

  private async adopt(user: OktaUser, spec: AccountSpec): Promise<EnsureAccountOutcome> {
    const want = this.profile(spec);
    const changes: Record<string, string> = {};
    for (const [key, value] of Object.entries(want)) {
      const current = user.profile[key];
      const same =
        key === 'login' || key === 'email'
          ? sameCaseless(typeof current === 'string' ? current : '', value)
          : current === value;
      // An email already set by someone else is kept when the spec gives none of its own.
      if (key === 'email' && spec.email === undefined && typeof current === 'string' && current !== '') continue;
      if (!same) changes[key] = value;
    }
    let account = this.toAccount(user);
    let outcome: EnsureAccountOutcome['outcome'] = 'adopted';
    if (Object.keys(changes).length > 0) {
      // POST is Okta's partial update: only the attributes sent change.
      const r = await this.send({
        method: 'POST',
        path: this.userPath(user.id),
        route: '/api/v1/users/{id}',
        body: { profile: changes },
      });
      account = this.toAccount(this.parseUser(r.body, 'POST /api/v1/users/{id}'));
      outcome = 'updated';
    }
    // A state the spec names is the account's state afterwards, as in every connector (Okta's is its lifecycle).
    if (spec.active !== undefined && account.active !== spec.active) {
      account = await this.setActive(user.id, spec.active, spec.active ? { reason: 'hire' } : undefined);
      outcome = 'updated';
    }
    return { account, outcome };
  }

  private transition(status: string, active: boolean, context?: ActivationContext): Lifecycle | undefined {
    if (active) {
      if (status === 'STAGED' || status === 'DEPROVISIONED') return 'activate';
      if (status === 'SUSPENDED') return 'unsuspend';
      return undefined; // ACTIVE, PROVISIONED, RECOVERY, LOCKED_OUT, PASSWORD_EXPIRED: already on
    }
    if (context?.reason === 'leave') {
      if (status === 'ACTIVE') return 'suspend';
      return ENABLED_STATUSES.includes(status) ? 'deactivate' : undefined;
    }
    return status === 'DEPROVISIONED' ? undefined : 'deactivate';
  }

  private async lifecycle(id: string, op: Lifecycle): Promise<void> {
    const sendEmail = op === 'activate' || op === 'reactivate' ? this.options.sendActivationEmail : false;
    await this.send({
      method: 'POST',
      path: `${this.userPath(id)}/lifecycle/${op}`,
      route: `/api/v1/users/{id}/lifecycle/${op}`,
      query: op === 'suspend' || op === 'unsuspend' ? undefined : { sendEmail },
    });
  }

  private transitioning(user: OktaUser): ConnectorError {
    return new ConnectorError(
      'transient',
      `${this.systemId}: user ${user.id} is still transitioning from ${user.status} to ${user.transitioningToStatus ?? '?'}`,
      { systemId: this.systemId },
    );
  }

  private isEnabled(user: OktaUser): boolean {
    return ENABLED_STATUSES.includes(user.status);
  }

  private async resolveGroup(ref: string): Promise<OktaGroup> {
    const named: OktaGroup[] = [];
    for await (const item of this.pages('/api/v1/groups', '/api/v1/groups', { q: ref, limit: 200 })) {
      const g = this.parseGroup(item, 'GET /api/v1/groups');
      if (g.profile.name === ref) named.push(g);
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
    if (named[0]) return named[0];
    try {
      const r = await this.send({
        method: 'GET',
        path: `/api/v1/groups/${encodeURIComponent(ref)}`,
        route: '/api/v1/groups/{groupId}',
      });
      return this.parseGroup(r.body, 'GET /api/v1/groups/{groupId}');
    } catch (err) {
      if (err instanceof ConnectorError && err.type === 'not_found') {
        throw new ConnectorError('not_found', `${this.systemId}: no group has id or name ${JSON.stringify(ref)}`, {
          ...err.details,
          systemId: this.systemId,
        });
      }
      throw err;
    }
  }

  private async isMember(groupId: string, userId: string): Promise<boolean> {
    for await (const item of this.pages(`${this.userPath(userId)}/groups`, '/api/v1/users/{id}/groups', {})) {
      if (this.parseGroup(item, 'GET /api/v1/users/{id}/groups').id === groupId) return true;
    }
    return false;
  }

  private toAccount(user: OktaUser): Account {
    const p = user.profile;
    const account: Account = {
      id: user.id,
      userName: p.login,
      active: this.isEnabled(user),
      status: user.status,
    };
    const hrId = this.hrKeyOf(user);
    if (hrId !== '') account.hrId = hrId;
    if (p.email) account.email = p.email;
    if (p.firstName) account.givenName = p.firstName;
    if (p.lastName) account.familyName = p.lastName;
    if (p.title) account.title = p.title;
    if (p.department) account.department = p.department;
    if (p.managerId) account.managerId = p.managerId;
    return account;
  }

  private parseUser(body: unknown, what: string): OktaUser {
    const parsed = userSchema.safeParse(body);
    if (!parsed.success) throw this.malformed(what, 'a User', parsed.error);
    return parsed.data;
  }

  private parseGroup(body: unknown, what: string): OktaGroup {
    const parsed = groupSchema.safeParse(body);
    if (!parsed.success) throw this.malformed(what, 'a Group', parsed.error);
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

function secret(env: NodeJS.ProcessEnv, name: string, systemId: string, what: string): string {
  const v = env[name];
  if (!v) throw new Error(`system "${systemId}" (${what}): environment variable ${name} is not set`);
  return v;
}

/** Builds the connector from its policy config; secrets are read from `env` by the names the config gives. */
export function createOktaConnector(
  systemId: string,
  config: OktaConnectorConfig,
  env: NodeJS.ProcessEnv,
): IdentityConnector {
  const orgUrl = config.orgUrl.replace(/\/+$/, '');
  const auth =
    config.auth.type === 'ssws'
      ? sswsAuth(secret(env, config.auth.tokenEnv, systemId, 'its Okta API token'))
      : oauthAuth({
          systemId,
          clientId: config.auth.clientId,
          privateKeyPem: secret(env, config.auth.privateKeyEnv, systemId, 'its Okta private key'),
          ...(config.auth.keyId ? { keyId: config.auth.keyId } : {}),
          scopes: config.auth.scopes,
          tokenUrl: config.auth.tokenUrl ?? `${orgUrl}/oauth2/v1/token`,
          timeoutMs: config.timeoutMs,
        });
  return new OktaConnector({
    systemId,
    orgUrl,
    auth,
    timeoutMs: config.timeoutMs,
    hrKeyAttribute: config.hrKeyAttribute,
    sendActivationEmail: config.sendActivationEmail,
    ...(config.provider ? { provider: config.provider } : {}),
    pageSize: config.pageSize,
  });
}
