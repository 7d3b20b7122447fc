/**
 * The audit store contract (DESIGN §6): append-only, hash-chained evidence of every action and decision.
 * Records carry no personal data beyond the HR id: no names, no emails.
 */

/** Who did it: the system itself, or a person (by HR id or chat-platform user id). */
export type Actor = { type: 'system'; id: string } | { type: 'person'; id: string };

export interface EvidenceInput {
  /** Idempotency key, unique per action (e.g. workflow id + step + attempt-independent suffix). A repeat is a no-op. */
  key: string;
  /** When the action happened (ISO 8601). */
  at: string;
  /** The person the action concerns (HR id), if any. */
  hrId?: string;
  /** The system acted on (policy system id), if any. */
  systemId?: string;
  actor: Actor;
  /** What was done: ensure_account, revoke_sessions, approve, webhook_refused, … */
  action: string;
  /** Correlation id: the workflow id, the HTTP request id, the Slack action id. */
  requestId?: string;
  /** succeeded, failed, refused, approved, rejected, … */
  outcome: string;
  /** Non-personal details: account id, reason, policy version. */
  detail?: Record<string, unknown>;
  /** For revocations and verifications: what reading the system back showed. */
  readBack?: Record<string, unknown>;
}

export interface EvidenceRecord extends EvidenceInput {
  /** Position in the chain, from 1. */
  seq: number;
  /** Hash of the previous record (64 zeros for the first). */
  prevHash: string;
  /** SHA-256 over this record's canonical content and prevHash. */
  hash: string;
  /** When the store wrote it. */
  recordedAt: string;
}

export interface VerifyReport {
  ok: boolean;
  checked: number;
  /** The first broken record: changed (hash mismatch), deleted (gap in seq) or re-linked (prevHash mismatch). */
  problem?: { seq: number; key?: string; kind: 'changed' | 'deleted' | 'relinked'; message: string };
  /**
   * The last record checked (absent for an empty store). A chain cannot show that its own tail was cut off
   * or rewritten with fresh hashes: note the head somewhere else (a ticket, a signed export) to anchor it.
   */
  head?: { seq: number; hash: string };
}

export interface EvidenceQuery {
  /** Only records whose `at` is at or after this instant (ISO 8601). */
  since?: string;
  hrId?: string;
  /** Only records with `seq` up to this one: a consistent snapshot while others keep appending. */
  throughSeq?: number;
  /** Only records after this `seq` (keyset: the store starts there rather than skipping). */
  afterSeq?: number;
}

export interface AuditStore {
  /** Appends a record, or returns the existing one when `key` was already written (idempotent). */
  append(input: EvidenceInput): Promise<EvidenceRecord>;
  /** Appends many records at once (one transaction), idempotent per key; stores without it append one by one. */
  appendMany?(inputs: readonly EvidenceInput[]): Promise<EvidenceRecord[]>;
  /** Streams records in chain order without loading the table into memory. */
  stream(query?: EvidenceQuery): AsyncIterable<EvidenceRecord>;
  count(query?: EvidenceQuery): Promise<number>;
  verify(): Promise<VerifyReport>;
  close(): Promise<void>;
}
