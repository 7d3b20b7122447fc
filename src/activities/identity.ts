/**
 * The interface every identity system connector implements (DESIGN §6).
 * Implementations map their transport errors to `ConnectorError` with a classification.
 */

/** What Tenure asks a system to hold for one person. */
export interface AccountSpec {
  /** HR id: the key Tenure matches on (SCIM `externalId`). */
  hrId: string;
  /** Login name (SCIM `userName`), normally the work email. */
  userName: string;
  givenName: string;
  familyName: string;
  /** Work email, when known. */
  email?: string;
  title?: string;
  department?: string;
  /** The system's id for the manager's account (SCIM enterprise `manager.value`), when they have one there. */
  managerId?: string;
  /** ISO 3166-1 alpha-2 country of the person's work location (Graph `usageLocation`, needed to assign licences). */
  countryCode?: string;
  /** The HR work location's name (an LDAP connector maps department/location to an OU). */
  location?: string;
  /**
   * Whether the account is on. Left out: a new account is created off (on with `createActive`), and an existing one
   * keeps its state (the create step adopts an account someone already uses without a lookup of its own first).
   */
  active?: boolean;
  /**
   * A new account is created on, in the same write (the hire instant has passed: `createActiveAccount`); an existing
   * one keeps its state, so the activation step still switches it on. `active`, when given, wins.
   */
  createActive?: boolean;
}

/** Whether a new account for this spec is created on. */
export function createdOn(spec: AccountSpec): boolean {
  return spec.active ?? spec.createActive ?? false;
}

/** An account as a system reports it. */
export interface Account {
  /** The system's own id for the account. */
  id: string;
  hrId?: string;
  userName: string;
  active: boolean;
  /** The system's id for the manager's account (SCIM enterprise `manager.value`), when the system records one. */
  managerId?: string;
  /** Attributes as the system holds them, when it reports them (reconciliation compares them with HR). */
  email?: string;
  givenName?: string;
  familyName?: string;
  title?: string;
  department?: string;
  /** The system's own state name where it has more than on/off (Okta `STAGED`, `SUSPENDED`, `DEPROVISIONED`). */
  status?: string;
}

/**
 * Why an account is turned on or off: a system with more states than on/off uses it (Okta suspends for a leave
 * and deactivates at exit; AD and SCIM only toggle).
 */
export interface ActivationContext {
  reason: 'hire' | 'return' | 'leave' | 'exit' | 'cancel';
}

/** What a licence change did. Both are success: the licence is now as asked. */
export interface LicenceOutcome {
  /** The SKU as the policy names it (e.g. Microsoft's `skuPartNumber` "ENTERPRISEPACK"). */
  sku: string;
  /** `changed`: assigned or removed now; `unchanged`: it already was as asked (a retry). */
  outcome: 'changed' | 'unchanged';
}

/** Licences assigned to the account directly (Microsoft 365 `assignLicense`), for systems that have them. */
export interface LicenceCapable {
  assignLicence(accountId: string, sku: string): Promise<LicenceOutcome>;
  removeLicence(accountId: string, sku: string): Promise<LicenceOutcome>;
  /** The SKUs the account holds now, as the policy names them: the read-back of both calls. */
  listLicences(accountId: string): Promise<string[]>;
}

/** What a data transfer did (Google's Data Transfer API). */
export interface DataTransferOutcome {
  /** `transferred`: the system reports the transfer complete (now, or by an earlier call). */
  outcome: 'transferred';
  /** The system's id for the transfer, recorded in the evidence. */
  transferId: string;
  /** What was transferred, in words (applications), for the evidence. */
  detail: string;
}

/** Hands a leaver's data (files, calendar) to another account through the vendor's API. Idempotent. */
export interface DataTransferCapable {
  transferData(fromAccountId: string, toAccountId: string): Promise<DataTransferOutcome>;
}

export interface EnsureAccountOutcome {
  account: Account;
  /** `created`: a new account; `adopted`: one already existed (a retry, or made by someone else); `updated`: existed and was changed. */
  outcome: 'created' | 'adopted' | 'updated';
}

/** What a group-membership change did. Both are success: the membership is now as asked. */
export interface GroupMembershipOutcome {
  /** The system's id for the group. */
  groupId: string;
  /** `changed`: the membership was added/removed now; `unchanged`: it already was as asked (a retry). */
  outcome: 'changed' | 'unchanged';
}

/**
 * Group membership, for systems that have groups. `group` is the system's group id or the group's
 * display name (names are what a policy holds; ids are what a system returns). Both calls are idempotent.
 */
export interface GroupCapable {
  addToGroup(group: string, accountId: string): Promise<GroupMembershipOutcome>;
  removeFromGroup(group: string, accountId: string): Promise<GroupMembershipOutcome>;
}

/** What a session revocation did. `not_supported`: the system has no API for it (plain SCIM has none). */
export interface SessionRevocation {
  outcome: 'revoked' | 'not_supported';
  /** What was called, or why nothing could be: recorded in the evidence. */
  detail: string;
  /** What the system reports afterwards, where it can be read (Graph `signInSessionsValidFromDateTime`). */
  readBack?: Record<string, string | number | boolean>;
}

/** The connector contract for identity systems (identity provider and SCIM-capable apps). */
export interface IdentityConnector
  extends Partial<GroupCapable>, Partial<LicenceCapable>, Partial<DataTransferCapable> {
  readonly systemId: string;
  findByHrKey(hrId: string, userName?: string): Promise<Account | undefined>;
  /** The account with the system's own id (e.g. a manager reference), when the system can look it up. */
  findById?(accountId: string): Promise<Account | undefined>;
  /** Whoever holds this login name, whatever their HR key (for naming: is the name taken?). */
  findByUserName(userName: string): Promise<Account | undefined>;
  /** Idempotent: looks up before creating and adopts an existing account on conflict. */
  ensureAccount(spec: AccountSpec): Promise<EnsureAccountOutcome>;
  /**
   * Turns the account on or off and returns it as the system now reports it. Never reports success while
   * the account is still in the other state. A system whose deactivation removes the account (GitHub)
   * answers `active: false` for an account that is gone.
   */
  setActive(accountId: string, active: boolean, context?: ActivationContext): Promise<Account>;
  /** Idempotent: an account already gone counts as deleted. Where a system can only deactivate (Slack), that is what happens. */
  delete(accountId: string): Promise<void>;
  /** Every account, paging as the system requires. */
  listAccounts(): AsyncIterable<Account>;
  /**
   * Ends the account's sign-in sessions (and refresh tokens) through the vendor's own API; idempotent. Absent, or
   * answering `not_supported`, where the system has no such API.
   */
  revokeSessions?(accountId: string): Promise<SessionRevocation>;
}

/** True when the connector assigns licences directly. */
export function isLicenceCapable(connector: IdentityConnector): connector is IdentityConnector & LicenceCapable {
  return (
    typeof connector.assignLicence === 'function' &&
    typeof connector.removeLicence === 'function' &&
    typeof connector.listLicences === 'function'
  );
}

/** True when the connector can change group membership. */
export function isGroupCapable(connector: IdentityConnector): connector is IdentityConnector & GroupCapable {
  return typeof connector.addToGroup === 'function' && typeof connector.removeFromGroup === 'function';
}

export type ConnectorErrorType =
  /** Network failure, timeout, 5xx: try again. */
  | 'transient'
  /** 429: try again after `retryAfterMs`. */
  | 'rate_limited'
  /** 400 and other request problems: a person must fix something. */
  | 'invalid_request'
  /** 401/403: credentials or permissions. */
  | 'unauthorized'
  /** 404 on an account Tenure expected. */
  | 'not_found'
  /** 409 that could not be resolved by adopting. */
  | 'conflict';

export class ConnectorError extends Error {
  override readonly name = 'ConnectorError';
  constructor(
    readonly type: ConnectorErrorType,
    message: string,
    /**
     * Structured facts for logs and evidence. The message never quotes what a vendor answered (its error text can
     * name the person: "userName ana@acme.example already exists"): codes go here instead.
     */
    readonly details: {
      systemId: string;
      status?: number;
      retryAfterMs?: number;
      scimType?: string;
      /** The vendor's own error code: Slack's `error`, Okta's `errorCode`, Graph's `error.code`. */
      vendorCode?: string;
    } = {
      systemId: '?',
    },
  ) {
    super(message);
  }

  get retryable(): boolean {
    return this.type === 'transient' || this.type === 'rate_limited';
  }
}
