/**
 * The native Active Directory / LDAP connector (DESIGN §6, docs/connectors/ldap.md), built on `ldapts`.
 *
 * - The account id is `objectGUID` (AD) or `entryUUID` (OpenLDAP): stable when a mover's account changes OU,
 *   unlike the DN. A manager is written as the manager's DN (`manager`) and read back as the manager's id.
 * - The HR key is `employeeID` (AD) or `employeeNumber` (inetOrgPerson); lookups go by HR key, then by login
 *   (`userPrincipalName` or `mail`), before anything is created; an account created meanwhile is adopted.
 * - AD accounts are created disabled (`userAccountControl` 514 = NORMAL_ACCOUNT | ACCOUNTDISABLE) in the OU the
 *   policy maps from department/location; enabling and disabling flips only the ACCOUNTDISABLE bit (0x2) and reads
 *   back. In the inetorgperson dialect "disabled" is the ppolicy overlay's administrative lock
 *   (`pwdAccountLockedTime: 000001010000Z`), which makes the directory refuse the person's binds.
 * - A mover whose department/location now maps to another OU is moved there with modifyDN.
 * - Every failure is a classified `ConnectorError` from `transport.ts`; no retries here: Temporal retries.
 */
import { randomInt, randomUUID } from 'node:crypto';
import type { Entry, Filter } from 'ldapts';
import { AndFilter, Attribute, Change, EqualityFilter, OrFilter } from 'ldapts';
import type { LdapConnectorConfig } from '../../domain/connectors/ldap';
import { normalizeDn } from '../../domain/connectors/ldap';
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
import { openLdapSession, readCa, withLdapSession, type LdapSession, type LdapTransportConfig } from './transport';

/** userAccountControl flags (MS-ADTS 2.2.16). */
export const UAC_ACCOUNTDISABLE = 0x2;
export const UAC_NORMAL_ACCOUNT = 0x200;
/** The ppolicy value meaning "locked by an administrator until unlocked" (draft-behera-ldap-password-policy). */
export const PERMANENT_LOCK = '000001010000Z';
/** How many names `name`, `name2`, … `name<N>` are tried for a free login name. */
const MAX_NAME_CANDIDATES = 50;

export type LdapDialect = 'ad' | 'inetorgperson';

/** The attributes each dialect keeps a person in. */
interface DialectSchema {
  userClasses: string[];
  /** The structural class a search matches people by. */
  userFilterClass: string;
  hrKey: string;
  login: string;
  department: string;
  groupClass: string;
  /** RDN attribute of a new account. */
  rdn: 'cn' | 'uid';
}

const DIALECTS: Record<LdapDialect, DialectSchema> = {
  ad: {
    userClasses: ['top', 'person', 'organizationalPerson', 'user'],
    userFilterClass: 'user',
    hrKey: 'employeeID',
    login: 'sAMAccountName',
    department: 'department',
    groupClass: 'group',
    rdn: 'cn',
  },
  inetorgperson: {
    userClasses: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
    userFilterClass: 'inetOrgPerson',
    hrKey: 'employeeNumber',
    login: 'uid',
    department: 'departmentNumber',
    groupClass: 'groupOfNames',
    rdn: 'uid',
  },
};

// ------------------------------------------------------------------------------------------------
// Pure helpers (exported for unit tests)

/** RFC 4514 escaping of an RDN value. */
export function escapeRdnValue(value: string): string {
  let out = value.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`).replace(/\0/g, '\\00');
  if (out.startsWith('#') || out.startsWith(' ')) out = `\\${out}`;
  if (out.endsWith(' ') && out.length > 1) out = `${out.slice(0, -1)}\\ `;
  return out;
}

/** The DN's first RDN and its parent, splitting at the first comma that is not escaped. */
export function splitDn(dn: string): { rdn: string; parent: string } {
  for (let i = 0; i < dn.length; i++) {
    if (dn[i] === '\\') {
      i++;
      continue;
    }
    if (dn[i] === ',') return { rdn: dn.slice(0, i), parent: dn.slice(i + 1).trim() };
  }
  return { rdn: dn, parent: '' };
}

/**
 * AD's string form of an `objectGUID` (16 bytes): the first three fields are little-endian, so the bytes
 * `00 11 22 33 44 55 66 77 88 99 …` read `33221100-5544-7766-8899-…`.
 */
export function guidToString(bytes: Buffer): string {
  if (bytes.length !== 16) throw new RangeError('objectGUID must be 16 bytes');
  const hex = (from: number, to: number, reverse: boolean): string => {
    const part = [...bytes.subarray(from, to)];
    return (reverse ? part.reverse() : part).map((b) => b.toString(16).padStart(2, '0')).join('');
  };
  return [hex(0, 4, true), hex(4, 6, true), hex(6, 8, true), hex(8, 10, false), hex(10, 16, false)].join('-');
}

const UUID_RE = /^\{?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}?$/i;

/** The inverse of {@link guidToString}; `undefined` for anything that is not a GUID. */
export function guidToBytes(guid: string): Buffer | undefined {
  const m = UUID_RE.exec(guid.trim());
  if (!m) return undefined;
  const [, a = '', b = '', c = '', d = '', e = ''] = m;
  const le = (h: string): Buffer => Buffer.from(h, 'hex').reverse();
  return Buffer.concat([le(a), le(b), le(c), Buffer.from(d + e, 'hex')]);
}

/**
 * A login name from a userName (its local part) or an HR id: characters AD refuses in `sAMAccountName`
 * (`" / \ [ ] : ; | = , + * ? < > @`, spaces and controls) removed, no trailing dot, lower-case, at most `maxLength`.
 */
export function accountNameBase(source: string, maxLength: number): string {
  const local = source.includes('@') ? source.slice(0, source.lastIndexOf('@')) : source;
  const cleaned = local
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/["/\\[\]:;|=,+*?<>@\s\p{Cc}]/gu, '')
    .toLowerCase()
    .slice(0, maxLength)
    .replace(/\.+$/, '');
  return cleaned;
}

/** The n-th candidate: `base`, then `base2`, `base3`… cut so the whole stays within `maxLength`. */
export function accountNameCandidate(base: string, n: number, maxLength: number): string {
  if (n === 1) return base.slice(0, maxLength);
  const suffix = String(n);
  return base.slice(0, maxLength - suffix.length).replace(/\.+$/, '') + suffix;
}

/** The OU for a person: the first rule whose every named field matches (case-insensitively), else the default. */
export function ouFor(
  config: Pick<LdapConnectorConfig, 'ouRules' | 'defaultOu'>,
  spec: Pick<AccountSpec, 'department' | 'location'>,
): string {
  const eq = (a: string | undefined, b: string | undefined) =>
    a !== undefined && b !== undefined && a.trim().toLowerCase() === b.trim().toLowerCase();
  for (const rule of config.ouRules) {
    if (rule.department !== undefined && !eq(rule.department, spec.department)) continue;
    if (rule.location !== undefined && !eq(rule.location, spec.location)) continue;
    return rule.ou;
  }
  return config.defaultOu;
}

/**
 * AD's `unicodePwd` value: the password in double quotes, encoded UTF-16LE (MS-ADTS 3.1.1.3.1.5.1). AD accepts it only
 * over an encrypted connection; it can never be read back.
 */
export function unicodePwd(password: string): Attribute {
  return new Attribute({ type: 'unicodePwd', values: [Buffer.from(`"${password}"`, 'utf16le')] });
}

/** 32 characters from four classes (AD's complexity rule wants three of upper, lower, digit, symbol). */
export function randomPassword(): string {
  const classes = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789', '!#%+-.:=?@_~'];
  const all = classes.join('');
  const chars = classes.map((c) => c[randomInt(c.length)] ?? 'x');
  while (chars.length < 32) chars.push(all[randomInt(all.length)] ?? 'x');
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j] ?? '', chars[i] ?? ''];
  }
  return chars.join('');
}

function toAttributes(record: Record<string, string[] | string>): Attribute[] {
  return Object.entries(record).map(
    ([type, value]) => new Attribute({ type, values: Array.isArray(value) ? value : [value] }),
  );
}

function displayNameOf(spec: Pick<AccountSpec, 'givenName' | 'familyName'>): string {
  return `${spec.givenName} ${spec.familyName}`.trim();
}

/** One attribute's values, whatever case the server wrote its name in. */
function values(entry: Entry, attribute: string): (string | Buffer)[] {
  const want = attribute.toLowerCase();
  for (const [key, value] of Object.entries(entry)) {
    if (key.toLowerCase() !== want || key === 'dn') continue;
    if (Array.isArray(value)) return value;
    return [value];
  }
  return [];
}

function text(entry: Entry, attribute: string): string | undefined {
  const v = values(entry, attribute)[0];
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : v.toString('utf8');
}

function sameCaseless(a: string | undefined, b: string | undefined): boolean {
  return (a ?? '').toLowerCase() === (b ?? '').toLowerCase();
}

function eq(attribute: string, value: string | Buffer): EqualityFilter {
  return new EqualityFilter({ attribute, value });
}

function replace(type: string, value: string | string[]): Change {
  return new Change({
    operation: 'replace',
    modification: new Attribute({ type, values: Array.isArray(value) ? value : [value] }),
  });
}

// ------------------------------------------------------------------------------------------------

export interface LdapConnectorOptions {
  systemId: string;
  config: LdapConnectorConfig;
  /** The service account's password, read from the environment by {@link createLdapConnector}. */
  bindPassword: string;
  /** PEM contents of `config.tlsCaPath`, read once. */
  tlsCa?: string;
}

type Lookup = { kind: 'found'; entry: Entry } | { kind: 'clash'; entry: Entry } | { kind: 'none' };

export class LdapConnector implements IdentityConnector, GroupCapable {
  readonly systemId: string;
  readonly dialect: LdapDialect;
  private readonly config: LdapConnectorConfig;
  private readonly schema: DialectSchema;
  private readonly idAttribute: 'objectGUID' | 'entryUUID';
  private readonly transport: LdapTransportConfig;

  constructor(options: LdapConnectorOptions) {
    this.systemId = options.systemId;
    this.config = options.config;
    this.dialect = options.config.dialect;
    this.schema = DIALECTS[this.dialect];
    this.idAttribute = options.config.idAttribute ?? (this.dialect === 'ad' ? 'objectGUID' : 'entryUUID');
    this.transport = {
      systemId: options.systemId,
      url: options.config.url,
      startTls: options.config.startTls,
      ...(options.tlsCa !== undefined ? { tlsCa: options.tlsCa } : {}),
      bindDn: options.config.bindDn,
      bindPassword: options.bindPassword,
      timeoutMs: options.config.timeoutMs,
    };
  }

  async findByHrKey(hrId: string, userName?: string): Promise<Account | undefined> {
    return this.session(async (s) => {
      const found = await this.lookup(s, hrId, userName);
      return found.kind === 'found' ? this.toAccount(s, found.entry) : undefined;
    });
  }

  async findById(accountId: string): Promise<Account | undefined> {
    return this.session(async (s) => {
      const entry = await this.byId(s, accountId);
      return entry ? this.toAccount(s, entry) : undefined;
    });
  }

  async findByUserName(userName: string): Promise<Account | undefined> {
    return this.session(async (s) => {
      const entry = (await this.byLogin(s, userName))[0];
      return entry ? this.toAccount(s, entry) : undefined;
    });
  }

  async ensureAccount(spec: AccountSpec): Promise<EnsureAccountOutcome> {
    return this.session(async (s) => {
      const found = await this.lookup(s, spec.hrId, spec.userName);
      if (found.kind === 'found') return this.adopt(s, found.entry, spec);
      if (found.kind === 'clash') throw this.clash();
      return this.create(s, spec);
    });
  }

  /**
   * AD: flips only ACCOUNTDISABLE (0x2) in `userAccountControl`, keeping every other bit. inetorgperson: sets or
   * removes the ppolicy lock. Reads back and fails (`invalid_request`) if the directory still shows the other state.
   */
  async setActive(accountId: string, active: boolean): Promise<Account> {
    return this.session(async (s) => {
      const entry = await this.byId(s, accountId);
      if (!entry) {
        throw new ConnectorError('not_found', `${this.systemId}: no account with id ${accountId}`, {
          systemId: this.systemId,
        });
      }
      const changes = this.activeChanges(entry, active);
      if (changes.length > 0) await s.modify(entry.dn, changes);
      const back = await this.byId(s, accountId);
      if (!back || this.isActive(back) !== active) {
        throw new ConnectorError(
          'invalid_request',
          `${this.systemId}: the directory accepted the change but account ${accountId} is still ${active ? 'disabled' : 'enabled'}`,
          { systemId: this.systemId },
        );
      }
      return this.toAccount(s, back);
    });
  }

  /** Deletes the entry and reads back that it is gone. An account already gone counts as deleted. */
  async delete(accountId: string): Promise<void> {
    await this.session(async (s) => {
      const entry = await this.byId(s, accountId);
      if (!entry) return;
      try {
        await s.del(entry.dn);
      } catch (err) {
        if (!(err instanceof ConnectorError && err.type === 'not_found')) throw err;
      }
      if (await this.byId(s, accountId)) {
        throw new ConnectorError(
          'invalid_request',
          `${this.systemId}: delete succeeded but account ${accountId} is still there`,
          {
            systemId: this.systemId,
          },
        );
      }
    });
  }

  async addToGroup(group: string, accountId: string): Promise<GroupMembershipOutcome> {
    return this.session(async (s) => {
      const { groupDn, groupId, userDn } = await this.membershipTargets(s, group, accountId);
      if (await this.isMember(s, groupDn, userDn)) return { groupId, outcome: 'unchanged' };
      try {
        await s.modify(groupDn, [
          new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [userDn] }) }),
        ]);
      } catch (err) {
        // Added meanwhile: OpenLDAP answers attributeOrValueExists, AD entryAlreadyExists (00000562).
        if (!(err instanceof ConnectorError && err.type === 'conflict')) throw err;
      }
      if (!(await this.isMember(s, groupDn, userDn))) {
        throw new ConnectorError(
          'invalid_request',
          `${this.systemId}: member added but group ${groupId} does not list account ${accountId}`,
          {
            systemId: this.systemId,
          },
        );
      }
      return { groupId, outcome: 'changed' };
    });
  }

  async removeFromGroup(group: string, accountId: string): Promise<GroupMembershipOutcome> {
    return this.session(async (s) => {
      const { groupDn, groupId, userDn } = await this.membershipTargets(s, group, accountId);
      if (!(await this.isMember(s, groupDn, userDn))) return { groupId, outcome: 'unchanged' };
      try {
        await s.modify(groupDn, [
          new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [userDn] }) }),
        ]);
      } catch (err) {
        // Removed meanwhile: OpenLDAP answers noSuchAttribute (16), AD unwillingToPerform (00000561); checked below.
        if (!(
          err instanceof ConnectorError &&
          err.details.status !== undefined &&
          [16, 53].includes(err.details.status)
        ))
          throw err;
      }
      if (await this.isMember(s, groupDn, userDn)) {
        throw new ConnectorError(
          'invalid_request',
          `${this.systemId}: member removed but group ${groupId} still lists account ${accountId}`,
          {
            systemId: this.systemId,
          },
        );
      }
      return { groupId, outcome: 'changed' };
    });
  }

  /** LDAP has no operation that ends sign-in sessions; what that means is in the evidence. */
  revokeSessions(_accountId: string): Promise<SessionRevocation> {
    return Promise.resolve({
      outcome: 'not_supported',
      detail:
        this.dialect === 'ad'
          ? `${this.systemId}: Active Directory has no LDAP operation that ends sessions. The disabled account gets no new ` +
            'Kerberos tickets or NTLM logons, but tickets already issued stay valid until they expire (10 hours by ' +
            'default) and cached logons on devices keep working; federated sessions (Entra ID, AD FS) must be revoked there'
          : `${this.systemId}: LDAP has no operation that ends sessions. The ppolicy lock refuses every new bind; ` +
            'sessions that applications opened from an earlier bind end when those applications expire them',
    });
  }

  /** Every account below `baseDn`, with the paged-results control (`pageSize` per page). */
  async *listAccounts(): AsyncIterable<Account> {
    const { session: s, close } = await openLdapSession(this.transport);
    try {
      const managers = new Map<string, string | undefined>();
      const pages = s.searchPaged(
        this.config.baseDn,
        { scope: 'sub', filter: this.userFilter(), attributes: this.attributes(), binary: this.binary() },
        this.config.pageSize,
      );
      for (;;) {
        let next: IteratorResult<Entry[]>;
        try {
          next = await pages.next();
        } catch (err) {
          if (err instanceof ConnectorError && err.details.status === 11) {
            throw new ConnectorError(
              'invalid_request',
              `${this.systemId}: the directory refuses pages of ${this.config.pageSize} entries (adminLimitExceeded): lower the policy's pageSize`,
              err.details,
            );
          }
          throw err;
        }
        if (next.done) return;
        const mapped: Account[] = [];
        for (const entry of next.value) mapped.push(await this.toAccount(s, entry, managers));
        yield* mapped;
      }
    } finally {
      await close();
    }
  }

  // ------------------------------------------------------------------------------------------------

  private session<T>(fn: (s: LdapSession) => Promise<T>): Promise<T> {
    return withLdapSession(this.transport, fn);
  }

  private attributes(): string[] {
    const a = [
      this.idAttribute,
      'objectClass',
      this.schema.hrKey,
      this.schema.login,
      'mail',
      'givenName',
      'sn',
      'cn',
      'displayName',
      'title',
      this.schema.department,
      'manager',
    ];
    if (this.dialect === 'ad') a.push('userPrincipalName', 'userAccountControl');
    else a.push('pwdAccountLockedTime');
    return a;
  }

  private binary(): string[] {
    return this.idAttribute === 'objectGUID' ? ['objectGUID'] : [];
  }

  private userFilter(...more: Filter[]): Filter {
    const cls = eq('objectClass', this.schema.userFilterClass);
    return more.length === 0 ? cls : new AndFilter({ filters: [cls, ...more] });
  }

  private idOf(entry: Entry): string {
    const raw = values(entry, this.idAttribute)[0];
    if (raw === undefined) {
      throw new ConnectorError(
        'invalid_request',
        `${this.systemId}: the directory returned an entry without ${this.idAttribute}`,
        {
          systemId: this.systemId,
        },
      );
    }
    if (this.idAttribute === 'objectGUID')
      return guidToString(typeof raw === 'string' ? Buffer.from(raw, 'binary') : raw);
    return (typeof raw === 'string' ? raw : raw.toString('utf8')).toLowerCase();
  }

  private userNameOf(entry: Entry): string {
    return (this.dialect === 'ad' ? text(entry, 'userPrincipalName') : undefined) ?? text(entry, 'mail') ?? '';
  }

  private isActive(entry: Entry): boolean {
    if (this.dialect === 'ad') {
      const uac = Number(text(entry, 'userAccountControl') ?? UAC_NORMAL_ACCOUNT);
      return (uac & UAC_ACCOUNTDISABLE) === 0;
    }
    return text(entry, 'pwdAccountLockedTime') === undefined;
  }

  private activeChanges(entry: Entry, active: boolean): Change[] {
    if (this.isActive(entry) === active) return [];
    if (this.dialect === 'ad') {
      const uac = Number(text(entry, 'userAccountControl') ?? UAC_NORMAL_ACCOUNT);
      const next = active ? uac & ~UAC_ACCOUNTDISABLE : uac | UAC_ACCOUNTDISABLE;
      return [replace('userAccountControl', String(next))];
    }
    return active
      ? [new Change({ operation: 'delete', modification: new Attribute({ type: 'pwdAccountLockedTime', values: [] }) })]
      : [replace('pwdAccountLockedTime', PERMANENT_LOCK)];
  }

  private async toAccount(s: LdapSession, entry: Entry, managers?: Map<string, string | undefined>): Promise<Account> {
    const account: Account = { id: this.idOf(entry), userName: this.userNameOf(entry), active: this.isActive(entry) };
    const hrId = text(entry, this.schema.hrKey);
    if (hrId) account.hrId = hrId;
    const set = (key: 'email' | 'givenName' | 'familyName' | 'title' | 'department', attribute: string) => {
      const v = text(entry, attribute);
      if (v !== undefined) account[key] = v;
    };
    set('email', 'mail');
    set('givenName', 'givenName');
    set('familyName', 'sn');
    set('title', 'title');
    set('department', this.schema.department);
    const managerDn = text(entry, 'manager');
    if (managerDn) {
      const key = normalizeDn(managerDn);
      let id = managers?.get(key);
      if (id === undefined && !managers?.has(key)) {
        id = await this.idAtDn(s, managerDn);
        managers?.set(key, id);
      }
      if (id !== undefined) account.managerId = id;
    }
    return account;
  }

  /** The id of the entry at `dn`, or undefined when there is none. */
  private async idAtDn(s: LdapSession, dn: string): Promise<string | undefined> {
    try {
      const [entry] = await s.search(dn, {
        scope: 'base',
        filter: eq('objectClass', this.schema.userFilterClass),
        attributes: [this.idAttribute],
        binary: this.binary(),
      });
      return entry ? this.idOf(entry) : undefined;
    } catch (err) {
      if (err instanceof ConnectorError && err.type === 'not_found') return undefined;
      throw err;
    }
  }

  private async byId(s: LdapSession, accountId: string): Promise<Entry | undefined> {
    let value: string | Buffer;
    if (this.idAttribute === 'objectGUID') {
      const bytes = guidToBytes(accountId);
      if (!bytes) return undefined;
      value = bytes;
    } else {
      if (!UUID_RE.test(accountId)) return undefined;
      value = accountId.toLowerCase();
    }
    const found = await s.search(this.config.baseDn, {
      scope: 'sub',
      filter: this.userFilter(eq(this.idAttribute, value)),
      attributes: this.attributes(),
      binary: this.binary(),
    });
    return found[0];
  }

  private async byLogin(s: LdapSession, userName: string): Promise<Entry[]> {
    const filter =
      this.dialect === 'ad'
        ? new OrFilter({ filters: [eq('userPrincipalName', userName), eq('mail', userName)] })
        : eq('mail', userName);
    const found = await s.search(this.config.baseDn, {
      scope: 'sub',
      filter: this.userFilter(filter),
      attributes: this.attributes(),
      binary: this.binary(),
    });
    // Prefer the account whose login is the name over one that only has it as mail.
    return found
      .filter((e) => sameCaseless(this.userNameOf(e), userName) || sameCaseless(text(e, 'mail'), userName))
      .sort(
        (a, b) =>
          Number(!sameCaseless(this.userNameOf(a), userName)) - Number(!sameCaseless(this.userNameOf(b), userName)),
      );
  }

  private async lookup(s: LdapSession, hrId: string, userName: string | undefined): Promise<Lookup> {
    const byHr = await s.search(this.config.baseDn, {
      scope: 'sub',
      filter: this.userFilter(eq(this.schema.hrKey, hrId)),
      attributes: this.attributes(),
      binary: this.binary(),
    });
    if (byHr.length > 1) {
      throw new ConnectorError(
        'conflict',
        `${this.systemId}: ${byHr.length} accounts carry the same ${this.schema.hrKey}`,
        {
          systemId: this.systemId,
        },
      );
    }
    if (byHr[0]) return { kind: 'found', entry: byHr[0] };
    if (userName === undefined) return { kind: 'none' };
    const entry = (await this.byLogin(s, userName))[0];
    if (!entry) return { kind: 'none' };
    const theirs = text(entry, this.schema.hrKey) ?? '';
    return theirs === '' || theirs === hrId ? { kind: 'found', entry } : { kind: 'clash', entry };
  }

  private clash(): ConnectorError {
    return new ConnectorError(
      'conflict',
      `${this.systemId}: the account's login belongs to another account, which has a different ${this.schema.hrKey}`,
      { systemId: this.systemId },
    );
  }

  /** The manager's DN from the manager's account id; undefined when that account is not (or no longer) there. */
  private async managerDn(s: LdapSession, managerId: string | undefined): Promise<string | undefined> {
    if (managerId === undefined) return undefined;
    return (await this.byId(s, managerId))?.dn;
  }

  /** A login name nobody holds: the derived name, else name2, name3, … within the length limit. */
  private async freeAccountName(s: LdapSession, spec: AccountSpec): Promise<string> {
    const { from, maxLength } = this.config.accountName;
    const base =
      accountNameBase(from === 'hrId' ? spec.hrId : spec.userName, maxLength) || accountNameBase(spec.hrId, maxLength);
    if (!base) {
      throw new ConnectorError('invalid_request', `${this.systemId}: no usable ${this.schema.login} can be derived`, {
        systemId: this.systemId,
      });
    }
    for (let n = 1; n <= MAX_NAME_CANDIDATES; n++) {
      const candidate = accountNameCandidate(base, n, maxLength);
      const holders = await s.search(this.config.baseDn, {
        scope: 'sub',
        filter: eq(this.schema.login, candidate),
        attributes: ['1.1'],
      });
      if (holders.length === 0) return candidate;
    }
    throw new ConnectorError(
      'conflict',
      `${this.systemId}: no free ${this.schema.login} after ${MAX_NAME_CANDIDATES} candidates`,
      {
        systemId: this.systemId,
      },
    );
  }

  private async create(s: LdapSession, spec: AccountSpec): Promise<EnsureAccountOutcome> {
    const ou = ouFor(this.config, spec);
    const login = await this.freeAccountName(s, spec);
    const display = displayNameOf(spec);
    const attrs: Record<string, string[] | string> = {
      objectClass: this.schema.userClasses,
      cn: display,
      sn: spec.familyName,
      givenName: spec.givenName,
      displayName: display,
      [this.schema.hrKey]: spec.hrId,
      [this.schema.login]: login,
    };
    const mail = spec.email ?? (spec.userName.includes('@') ? spec.userName : undefined);
    if (mail !== undefined) attrs.mail = mail;
    if (spec.title) attrs.title = spec.title;
    if (spec.department) attrs[this.schema.department] = spec.department;
    const manager = await this.managerDn(s, spec.managerId);
    if (manager) attrs.manager = manager;
    if (this.dialect === 'ad') {
      attrs.userPrincipalName = spec.userName;
      // With a password nobody knows, the person must set their own at first sign-in.
      if (this.config.initialPassword === 'random') attrs.pwdLastSet = '0';
      // Created disabled unless asked otherwise: 514 = NORMAL_ACCOUNT | ACCOUNTDISABLE. Without a password a domain
      // policy may refuse an enabled account: then it is created disabled even for `createActive`, and the
      // activation step (docs/connectors/ldap.md, Passwords) is where a refusal shows, as for any hire.
      const on = spec.active ?? (spec.createActive === true && this.config.initialPassword === 'random');
      attrs.userAccountControl = String(UAC_NORMAL_ACCOUNT | (on ? 0 : UAC_ACCOUNTDISABLE));
    } else if (!createdOn(spec)) {
      attrs.pwdAccountLockedTime = PERMANENT_LOCK;
    }
    const rdnValue = this.schema.rdn === 'uid' ? login : display;
    const dns = [`${this.schema.rdn}=${escapeRdnValue(rdnValue)},${ou}`];
    // Another "Ana Lima" in the same OU: the second one's CN carries the login name, which is unique.
    if (this.schema.rdn === 'cn') dns.push(`cn=${escapeRdnValue(`${display} (${login})`)},${ou}`);
    const password = this.config.initialPassword === 'random' ? [unicodePwd(randomPassword())] : [];
    for (const [i, dn] of dns.entries()) {
      try {
        const record = this.schema.rdn === 'cn' && i > 0 ? { ...attrs, cn: `${display} (${login})` } : attrs;
        await s.add(dn, [...toAttributes(record), ...password]);
        const entry = await this.entryAt(s, dn);
        return { account: await this.toAccount(s, entry), outcome: 'created' };
      } catch (err) {
        if (err instanceof ConnectorError && err.type === 'not_found' && err.details.status === 32) {
          throw new ConnectorError(
            'invalid_request',
            `${this.systemId}: the OU the policy maps this person to does not exist`,
            {
              ...err.details,
              systemId: this.systemId,
            },
          );
        }
        if (!(err instanceof ConnectorError && err.type === 'conflict')) throw err;
        // Created meanwhile (a retry whose first answer was lost, a concurrent run)? Adopt it.
        const again = await this.lookup(s, spec.hrId, spec.userName);
        if (again.kind === 'found') return this.adopt(s, again.entry, spec);
        if (again.kind === 'clash') throw this.clash();
      }
    }
    throw new ConnectorError('conflict', `${this.systemId}: the account's name is taken in its OU by another account`, {
      systemId: this.systemId,
    });
  }

  private async entryAt(s: LdapSession, dn: string): Promise<Entry> {
    const [entry] = await s.search(dn, {
      scope: 'base',
      filter: eq('objectClass', this.schema.userFilterClass),
      attributes: this.attributes(),
      binary: this.binary(),
    });
    if (!entry) {
      throw new ConnectorError('transient', `${this.systemId}: the account just written is not readable yet`, {
        systemId: this.systemId,
      });
    }
    return entry;
  }

  /** Brings an existing account up to date (attributes that differ only) and into the policy's OU. */
  private async adopt(s: LdapSession, entry: Entry, spec: AccountSpec): Promise<EnsureAccountOutcome> {
    const changes: Change[] = [];
    const differs = (attribute: string, want: string | undefined, caseless = false) => {
      if (want === undefined || want === '') return;
      const have = text(entry, attribute);
      if (caseless ? !sameCaseless(have, want) : have !== want) changes.push(replace(attribute, want));
    };
    differs(this.schema.hrKey, spec.hrId);
    differs('givenName', spec.givenName);
    differs('sn', spec.familyName);
    differs('displayName', displayNameOf(spec));
    differs('title', spec.title);
    differs(this.schema.department, spec.department);
    differs('mail', spec.email, true);
    if (this.dialect === 'ad') differs('userPrincipalName', spec.userName, true);
    if (spec.managerId !== undefined) {
      const manager = await this.managerDn(s, spec.managerId);
      const have = text(entry, 'manager');
      if (manager && (have === undefined || normalizeDn(have) !== normalizeDn(manager)))
        changes.push(replace('manager', manager));
    }
    if (spec.active !== undefined) changes.push(...this.activeChanges(entry, spec.active));
    if (changes.length > 0) await s.modify(entry.dn, changes);

    const moved = await this.moveIfNeeded(s, entry, spec);
    const id = this.idOf(entry);
    if (changes.length === 0 && !moved) return { account: await this.toAccount(s, entry), outcome: 'adopted' };
    const back = await this.byId(s, id);
    if (!back) {
      throw new ConnectorError('transient', `${this.systemId}: account ${id} is not readable after the update`, {
        systemId: this.systemId,
      });
    }
    return { account: await this.toAccount(s, back), outcome: 'updated' };
  }

  /** A mover: when department/location now maps to another OU, modifyDN the account there. */
  private async moveIfNeeded(s: LdapSession, entry: Entry, spec: AccountSpec): Promise<boolean> {
    if (spec.department === undefined && spec.location === undefined) return false;
    const target = ouFor(this.config, spec);
    const { rdn, parent } = splitDn(entry.dn);
    if (normalizeDn(parent) === normalizeDn(target)) return false;
    try {
      await s.modifyDN(entry.dn, `${rdn},${target}`);
    } catch (err) {
      if (!(err instanceof ConnectorError && err.type === 'conflict') || this.schema.rdn !== 'cn') throw err;
      // The same CN is taken in the target OU: the moved account's CN carries its login name.
      const login = text(entry, this.schema.login) ?? randomUUID().slice(0, 8);
      const cn = text(entry, 'cn') ?? displayNameOf(spec);
      await s.modifyDN(entry.dn, `cn=${escapeRdnValue(`${cn} (${login})`)},${target}`);
    }
    return true;
  }

  private async resolveGroup(s: LdapSession, group: string): Promise<{ dn: string; id: string }> {
    const isDn = /^[A-Za-z][A-Za-z0-9-]*=/.test(group) && group.includes(',');
    const found = isDn
      ? await s
          .search(group, { scope: 'base', filter: eq('objectClass', this.schema.groupClass), attributes: ['cn'] })
          .catch((err: unknown) => {
            if (err instanceof ConnectorError && err.type === 'not_found') return [];
            throw err;
          })
      : await s.search(this.config.groupBaseDn, {
          scope: 'sub',
          filter: new AndFilter({ filters: [eq('objectClass', this.schema.groupClass), eq('cn', group)] }),
          attributes: ['cn'],
        });
    if (found.length > 1) {
      throw new ConnectorError(
        'conflict',
        `${this.systemId}: ${found.length} groups are named ${JSON.stringify(group)}`,
        {
          systemId: this.systemId,
        },
      );
    }
    const entry = found[0];
    if (!entry) {
      throw new ConnectorError('not_found', `${this.systemId}: no group ${JSON.stringify(group)}`, {
        systemId: this.systemId,
      });
    }
    return { dn: entry.dn, id: entry.dn };
  }

  private async membershipTargets(
    s: LdapSession,
    group: string,
    accountId: string,
  ): Promise<{ groupDn: string; groupId: string; userDn: string }> {
    const g = await this.resolveGroup(s, group);
    const user = await this.byId(s, accountId);
    if (!user) {
      throw new ConnectorError('not_found', `${this.systemId}: no account with id ${accountId}`, {
        systemId: this.systemId,
      });
    }
    return { groupDn: g.dn, groupId: g.id, userDn: user.dn };
  }

  /**
   * Asks the directory whether the group lists the DN (a base search with `(member=<dn>)`) instead of reading
   * `member`: AD hands out large member lists in ranges of 1,500 values.
   */
  private async isMember(s: LdapSession, groupDn: string, userDn: string): Promise<boolean> {
    const hit = await s.search(groupDn, { scope: 'base', filter: eq('member', userDn), attributes: ['1.1'] });
    return hit.length > 0;
  }
}

/** Builds the connector from the policy's settings; the bind password comes from the environment by name. */
export function createLdapConnector(
  systemId: string,
  config: LdapConnectorConfig,
  env: NodeJS.ProcessEnv,
): IdentityConnector {
  const bindPassword = env[config.bindPasswordEnv];
  if (!bindPassword) {
    throw new Error(
      `system "${systemId}" (its LDAP bind password): environment variable ${config.bindPasswordEnv} is not set`,
    );
  }
  const tlsCa = readCa(config.tlsCaPath);
  return new LdapConnector({ systemId, config, bindPassword, ...(tlsCa !== undefined ? { tlsCa } : {}) });
}
