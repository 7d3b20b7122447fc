/**
 * Generic SCIM 2.0 (RFC 7643/7644) identity connector (DESIGN §6).
 *
 * - Looks accounts up by `externalId` (= HR id), then by `userName`, before creating; adopts on 409.
 * - Updates with PATCH `replace` operations, only for attributes that differ.
 * - Pages with `startIndex`/`count`, advancing by what the server actually returned.
 * - Leaves retries to Temporal: every failure is a classified `ConnectorError` (see `transport.ts`).
 */
import { z } from 'zod';
import {
  ConnectorError,
  type Account,
  type AccountSpec,
  type EnsureAccountOutcome,
  type IdentityConnector,
} from '../identity';
import { scimRequest, type ScimRequest, type ScimResponse, type ScimTransportConfig } from './transport';

export const SCIM_USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const SCIM_ENTERPRISE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const SCIM_PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** Default page size asked for when listing; the server may return fewer. */
export const DEFAULT_PAGE_SIZE = 100;

export interface ScimConnectorOptions extends ScimTransportConfig {
  /** `count` asked for per page in `listAccounts`; default {@link DEFAULT_PAGE_SIZE}. */
  pageSize?: number;
  /**
   * How PATCH operations are written. `value` (default): `{op:'replace', value:{active:false}}`;
   * `path`: `{op:'replace', path:'active', value:false}`. `emails` is always replaced by path, because
   * some servers (SCIMMY among them) append rather than replace multi-valued attributes in the value form.
   */
  patchStyle?: 'value' | 'path';
  /** Send `department` in the enterprise User extension; default true. Set false for servers without it. */
  enterpriseExtension?: boolean;
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
  [SCIM_ENTERPRISE_USER_SCHEMA]: z.looseObject({ department: z.string().optional().nullable() }).optional().nullable(),
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

export type ScimUser = z.infer<typeof userSchema>;
type ScimEmail = z.infer<typeof emailSchema>;

interface PatchOperation {
  op: 'replace';
  path?: string;
  value: unknown;
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

function toBool(value: unknown, fallback: boolean): boolean {
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
  return account;
}

function workEmail(spec: AccountSpec): ScimEmail[] | undefined {
  return spec.email === undefined ? undefined : [{ value: spec.email, type: 'work', primary: true }];
}

function primaryEmail(user: ScimUser): string | undefined {
  const emails = user.emails ?? [];
  return (emails.find((e) => toBool(e.primary, false)) ?? emails.find((e) => e.type === 'work'))?.value;
}

function sameCaseless(a: string | undefined | null, b: string | undefined | null): boolean {
  return (a ?? '').toLowerCase() === (b ?? '').toLowerCase();
}

export class ScimConnector implements IdentityConnector {
  readonly systemId: string;
  private readonly transport: ScimTransportConfig;
  private readonly pageSize: number;
  private readonly patchStyle: 'value' | 'path';
  private readonly enterpriseExtension: boolean;

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
    this.patchStyle = options.patchStyle ?? 'value';
    this.enterpriseExtension = options.enterpriseExtension ?? true;
  }

  /**
   * The account whose `externalId` is `hrId`; failing that, the one whose `userName` is `userName` unless
   * it carries a different `externalId` (that account is someone else's).
   */
  async findByHrKey(hrId: string, userName?: string): Promise<Account | undefined> {
    const found = await this.lookup(hrId, userName);
    return found.kind === 'found' ? userToAccount(found.user) : undefined;
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
        `${this.systemId}: create of userName ${JSON.stringify(spec.userName)} conflicted, but no account matches by externalId or userName (${err.message})`,
        { ...err.details, systemId: this.systemId },
      );
    }
    return { account: userToAccount(this.parseUser(created.body, 'POST /Users')), outcome: 'created' };
  }

  async setActive(accountId: string, active: boolean): Promise<Account> {
    const user = await this.patch(accountId, [{ path: 'active', value: active }]);
    return userToAccount(user);
  }

  /** Delete the account. Idempotent: an account that is already gone (404) counts as deleted. */
  async delete(accountId: string): Promise<void> {
    try {
      await this.send({ method: 'DELETE', path: this.userPath(accountId) });
    } catch (err) {
      if (err instanceof ConnectorError && err.type === 'not_found') return;
      throw err;
    }
  }

  /**
   * Every account, paging with `startIndex`/`count`. Advances by the number of resources actually
   * returned (servers cap `count`), stops at `totalResults` or an empty page, and fails if the server
   * ignores `startIndex` (a page of nothing but already-seen ids) rather than looping forever.
   */
  async *listAccounts(): AsyncIterable<Account> {
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
        yield userToAccount(user);
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

  // -------------------------------------------------------------------------------------------------

  private send(request: ScimRequest): Promise<ScimResponse> {
    return scimRequest(this.transport, request);
  }

  private userPath(id: string): string {
    return `/Users/${encodeURIComponent(id)}`;
  }

  private async lookup(
    hrId: string,
    userName: string | undefined,
  ): Promise<{ kind: 'found'; user: ScimUser } | { kind: 'clash'; user: ScimUser } | { kind: 'none' }> {
    const byHr = await this.search('externalId', hrId);
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

  private clash(user: ScimUser, spec: AccountSpec): ConnectorError {
    return new ConnectorError(
      'conflict',
      `${this.systemId}: userName ${JSON.stringify(spec.userName)} belongs to account ${user.id} with a different externalId`,
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
    const body: Record<string, unknown> = {
      schemas: department !== undefined ? [SCIM_USER_SCHEMA, SCIM_ENTERPRISE_USER_SCHEMA] : [SCIM_USER_SCHEMA],
      externalId: spec.hrId,
      userName: spec.userName,
      name: { givenName: spec.givenName, familyName: spec.familyName },
      active: spec.active,
    };
    const emails = workEmail(spec);
    if (emails) body.emails = emails;
    if (spec.title !== undefined) body.title = spec.title;
    if (department !== undefined) body[SCIM_ENTERPRISE_USER_SCHEMA] = { department };
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
    if (toBool(user.active, true) !== spec.active) changes.push({ path: 'active', value: spec.active });
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
    const current = await this.send({ method: 'GET', path });
    return this.parseUser(current.body, 'GET /Users/{id}');
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
