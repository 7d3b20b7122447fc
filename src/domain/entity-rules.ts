/**
 * Pure rules of the person's entity workflow (`employee/<hrId>`): when a person's story is finished, what a finished
 * story keeps, how the entity's own exceptions are listed. No Temporal imports: property-tested in
 * test/unit/entity-rules.test.ts and used by src/workflows/employee.
 */

/** The part of an event log entry these rules read (structurally the entity's `EventLogEntry`). */
export interface LogEntry {
  eventId: string;
  kind: string;
  outcome: 'accepted' | 'duplicate' | 'rejected';
  state: 'queued' | 'running' | 'done' | 'failed' | 'rejected' | 'superseded';
  derived?: boolean;
}

/** How many event log entries a finished story keeps (its last hire, its exit, and the most recent events). */
export const COMPACT_EVENT_LOG = 20;

export const isRetentionEntry = (e: LogEntry): boolean => e.derived === true && e.eventId.endsWith('.retention');

/** Index of the last accepted hire or rehire, or -1. */
export function lastHireIndex(events: readonly LogEntry[]): number {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e && (e.kind === 'hire' || e.kind === 'rehire') && e.outcome === 'accepted') return i;
  }
  return -1;
}

/** A termination (sent or derived, not the retention deletion) completed after the last hire. */
export function hasLeft(events: readonly LogEntry[]): boolean {
  const since = lastHireIndex(events);
  return events.some(
    (e, i) =>
      i > since && e.kind === 'termination' && e.outcome === 'accepted' && e.state === 'done' && !isRetentionEntry(e),
  );
}

export interface StoryView {
  events: readonly LogEntry[];
  /** Grace-period revocations still scheduled. */
  pendingRevocations: number;
  /** A retention deletion still scheduled. */
  deletionScheduled: boolean;
  /** Runs queued or running. */
  busy: boolean;
  openExceptions: number;
}

/**
 * The person's story is finished when they have left (the exit completed), nothing is scheduled (no retention
 * deletion or grace revocation to come), nothing is queued or running and no exception is open. What is left to
 * keep is small: their last record and enough of the log to answer duplicates and to know a rehire comes next.
 */
export function storyFinished(v: StoryView): boolean {
  if (v.busy || v.deletionScheduled || v.pendingRevocations > 0 || v.openExceptions > 0) return false;
  if (!hasLeft(v.events)) return false;
  return !v.events.some((e) => e.outcome === 'accepted' && (e.state === 'queued' || e.state === 'running'));
}

/**
 * The event log a finished story keeps: the last accepted hire (so a second `hire` is still refused and a `rehire`
 * is recognised) and the most recent entries after it, at most `max` in all, in their original order.
 */
export function compactEvents<T extends LogEntry>(events: readonly T[], max = COMPACT_EVENT_LOG): T[] {
  const hire = lastHireIndex(events);
  const since = hire >= 0 ? events.slice(hire) : events.slice();
  if (since.length <= max) return since;
  const tail = since.slice(since.length - (max - 1));
  return hire >= 0 ? [since[0] as T, ...tail] : since.slice(since.length - max);
}

/** The `TenureWaitingOn` value of the entity: `operator:entity` while one of its own exceptions is open. */
export function entityWaitingOn(openExceptions: number): string | null {
  return openExceptions > 0 ? 'operator:entity' : null;
}

/** An exception id unique among `taken`: the event id, then `<eventId>#2`, `#3`, … */
export function exceptionId(eventId: string, taken: readonly string[]): string {
  if (!taken.includes(eventId)) return eventId;
  for (let n = 2; ; n++) {
    const id = `${eventId}#${n}`;
    if (!taken.includes(id)) return id;
  }
}

/** A hire that has not started, and an exit that HR dates: both as calendar dates and instants. */
export interface PreStartExitView {
  hireDate: string;
  /** The hire instant (activation). */
  hireAt: string;
  exitDate?: string;
  /** The exit instant (the exit date at `timing.exitTime`, or now for an involuntary exit without a date). */
  exitAt: string;
}

/**
 * An exit that comes before the start is a cancelled hire: its date is before the hire date, or its instant is
 * before the hire instant (an involuntary exit now, an exit hour earlier than the activation hour on the start day).
 * The waiting onboarding is then cancelled and its pre-hire work undone, so no account is ever activated; it never
 * waits behind the hire.
 */
export function exitCancelsHire(v: PreStartExitView): boolean {
  if (v.exitDate !== undefined && v.exitDate < v.hireDate) return true;
  return Date.parse(v.exitAt) < Date.parse(v.hireAt);
}
