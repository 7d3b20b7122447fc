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
  active: boolean;
}

/** An account as a system reports it. */
export interface Account {
  /** The system's own id for the account. */
  id: string;
  hrId?: string;
  userName: string;
  active: boolean;
}

export interface EnsureAccountOutcome {
  account: Account;
  /** `created`: a new account; `adopted`: one already existed (a retry, or made by someone else); `updated`: existed and was changed. */
  outcome: 'created' | 'adopted' | 'updated';
}

/** The connector contract for identity systems (identity provider and SCIM-capable apps). */
export interface IdentityConnector {
  readonly systemId: string;
  findByHrKey(hrId: string, userName?: string): Promise<Account | undefined>;
  /** Idempotent: looks up before creating and adopts an existing account on conflict. */
  ensureAccount(spec: AccountSpec): Promise<EnsureAccountOutcome>;
  setActive(accountId: string, active: boolean): Promise<Account>;
  delete(accountId: string): Promise<void>;
  /** Every account, paging as the system requires. */
  listAccounts(): AsyncIterable<Account>;
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
    readonly details: { systemId: string; status?: number; retryAfterMs?: number; scimType?: string } = {
      systemId: '?',
    },
  ) {
    super(message);
  }

  get retryable(): boolean {
    return this.type === 'transient' || this.type === 'rate_limited';
  }
}
