/**
 * Roster diffing: one person's roster record against what their entity last accepted, as the HR event a webhook
 * would have sent. The kind is the webhook's own derivation (`deriveBambooKind`); the diff adds only what a
 * comparison knows and a single webhook does not: nothing changed (no event), and a return from leave.
 */
import { createHash } from 'node:crypto';
import { deriveBambooKind } from '../client/bamboohr-webhook';
import type { EmployeeRecord, HrEventKind } from '../domain/employee';

/** The record's content as a stable string: keys sorted, `sourceUpdatedAt` left out (a touch is not a change). */
export function recordContent(r: EmployeeRecord): string {
  const sortKeys = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
    return Object.fromEntries(
      Object.keys(v)
        .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  };
  const { sourceUpdatedAt: _ignored, ...rest } = r;
  return JSON.stringify(sortKeys(rest));
}

/** The fields that differ (names only, never values). */
export function changedFields(previous: EmployeeRecord, next: EmployeeRecord): string[] {
  const keys = new Set([...Object.keys(previous), ...Object.keys(next)]);
  keys.delete('sourceUpdatedAt');
  return [...keys]
    .filter(
      (k) =>
        JSON.stringify((previous as Record<string, unknown>)[k]) !==
        JSON.stringify((next as Record<string, unknown>)[k]),
    )
    .sort();
}

/** Deterministic per (person, record content): a rerun over the same roster sends the same ids (duplicates). */
export function syncEventId(record: EmployeeRecord): string {
  const hash = createHash('sha256').update(record.hrId).update('\0').update(recordContent(record)).digest('hex');
  return `sync:${record.hrId}:${hash.slice(0, 32)}`;
}

export interface EntityView {
  /** The record the entity last accepted; absent for a person Tenure does not know. */
  record?: EmployeeRecord;
  /** Whether the entity accepted a hire for this person. */
  hasAcceptedHire: boolean;
}

export type DiffResult =
  { kind: HrEventKind; fields: string[] } | { kind: null; reason: 'unchanged' | 'never_known_and_terminated' };

/** What the roster record asks of the entity. */
export function diffPerson(record: EmployeeRecord, entity: EntityView): DiffResult {
  const previous = entity.record;
  if (previous === undefined && !entity.hasAcceptedHire) {
    // A leaver Tenure never provisioned: nothing to take away, no hire to send.
    if (record.status === 'terminated') return { kind: null, reason: 'never_known_and_terminated' };
    return { kind: deriveBambooKind(record, false), fields: [] };
  }
  if (previous !== undefined && recordContent(previous) === recordContent(record)) {
    return { kind: null, reason: 'unchanged' };
  }
  const fields = previous ? changedFields(previous, record) : [];
  let kind = deriveBambooKind(record, true);
  if (kind === 'leave_start' && previous?.status === 'on_leave') kind = 'change';
  if (kind === 'termination' && previous?.status === 'terminated') kind = 'change';
  if (kind === 'change' && previous?.status === 'on_leave' && record.status === 'active') kind = 'leave_end';
  return { kind, fields };
}
