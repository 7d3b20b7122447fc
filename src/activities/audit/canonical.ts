/**
 * The hash chain's canonical form. A record's hash is SHA-256 over the canonical JSON of everything in the
 * record except `hash` itself (so `seq`, `prevHash` and `recordedAt` are covered): object keys sorted by
 * code point at every level, no whitespace, absent optional fields omitted (never `null`).
 */
import { createHash } from 'node:crypto';
import type { EvidenceRecord } from './types';

/** `prevHash` of the first record. */
export const GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted at every level; `undefined` members are dropped, as JSON.stringify does. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value) as string | undefined;
    if (text === undefined) throw new TypeError(`not representable in JSON: ${typeof value}`);
    return text;
  }
  if (Array.isArray(value)) {
    return `[${value.map((v: unknown) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The hashed content of a record: every field but `hash`. */
export function hashedContent(record: Omit<EvidenceRecord, 'hash'>): Record<string, unknown> {
  return {
    seq: record.seq,
    key: record.key,
    at: record.at,
    hrId: record.hrId,
    systemId: record.systemId,
    actor: { type: record.actor.type, id: record.actor.id },
    action: record.action,
    requestId: record.requestId,
    outcome: record.outcome,
    detail: record.detail,
    readBack: record.readBack,
    recordedAt: record.recordedAt,
    prevHash: record.prevHash,
  };
}

/** SHA-256 (hex) of the record's canonical content, `prevHash` included. */
export function recordHash(record: Omit<EvidenceRecord, 'hash'>): string {
  return createHash('sha256')
    .update(canonicalJson(hashedContent(record)), 'utf8')
    .digest('hex');
}
