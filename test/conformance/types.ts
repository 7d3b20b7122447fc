import type { IdentityConnector } from '../../src/activities/identity';

/** How the next create (or write) request to the peer misbehaves. */
export type ConformanceFault =
  /** The peer does the write, then answers later than the connector's timeout (the client sees a timeout). */
  | 'timeout_after_write'
  /** The peer answers 429 with the vendor's rate-limit headers (Retry-After or X-Rate-Limit-Reset) once. */
  | 'rate_limited'
  /** The peer answers a 5xx in the vendor's error body once. */
  | 'server_error';

/** An account put into the peer by hand (as an admin or another tool would), not through the connector. */
export interface SeedAccount {
  /** The HR key; absent: an account nobody linked to HR (found by email only). */
  hrId?: string;
  userName: string;
  givenName: string;
  familyName: string;
  active: boolean;
}

/** One connector against its peer (a real server or an honest stand-in), as the conformance suite drives it. */
export interface ConformanceTarget {
  /** e.g. "scim", "ldap (slapd, AD schema)", "graph", "google", "okta". */
  name: string;
  connector: IdentityConnector;
  /** Names of groups that exist in the peer (at least two); empty: the system has no groups. */
  groups: string[];
  /** A licence SKU the peer has seats of, when the connector assigns licences directly. */
  licence?: string;
  /** What `revokeSessions` answers for an active account. */
  sessions: 'revoked' | 'not_supported';
  /** After `delete`, the account is gone, or (Slack, GitHub-like systems) only inactive. */
  afterDelete: 'gone' | 'inactive';
  /** False for a read-only connector (a manual system's read connector): only reads are exercised. */
  writes: boolean;
  /**
   * `AccountSpec.createActive` creates a new account off all the same (AD without an initial password: a domain
   * policy may refuse an enabled account without one, so the activation step switches it on and shows a refusal).
   */
  createActiveOff?: true;
  /** The peer's page size for listing; the suite seeds more accounts than this to force paging. */
  pageSize: number;
  /** Puts an account into the peer directly; returns the peer's id for it. */
  seed(account: SeedAccount): Promise<string>;
  /** Ground truth from the peer itself (not through the connector): how many accounts match. */
  count(match: { hrId?: string; userName?: string }): Promise<number>;
  /** Makes the next create request misbehave. */
  fault(kind: ConformanceFault): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a fresh peer and connector for one describe block. `undefined`: the connector is not built yet. */
export type ConformanceFactory = () => Promise<ConformanceTarget>;
