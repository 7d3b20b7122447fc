/**
 * Code levels: which patches an execution was started with, so that a new execution pays nothing for them.
 *
 * `patched(id)` records a marker in every execution that takes the new path, and the SDK adds a
 * `TemporalChangeVersion` search-attribute upsert with it: two history events and a visibility write per patch per
 * run, forever, for a hire that was never on the old path (six events and three visibility writes per hire with
 * today's patches). An execution started by code that already has a patch cannot have taken the old path, so it does
 * not need the marker: every Tenure start (the intake's update-with-start, continue-as-new, a child run) sets the
 * memo `tenureCodeLevel` to `CODE_LEVEL`, and `hasPatch` is true without a marker for every patch of that level or
 * below. An execution without the memo (started before code levels) asks `patched()` as before.
 *
 * One case needs care: an execution started with a level but first run by a worker that predates code levels (a
 * rolling deploy). That worker called `patched()` and recorded markers; a later worker replaying it must match
 * them, so while replaying `hasPatch` calls `patched()` too. During replay `patched()` never adds a command: it
 * matches a marker when the history has one and is a no-op when it has none. The replay tests hold both cases.
 *
 * The other way round, a worker older than the level an execution was started at refuses it at its first patched
 * decision (the code before that is the same at every level): its workflow task fails and a newer worker takes it.
 * A worker from before code levels knows no level; it has every level-1 patch, so level 1 is safe with it, and a
 * deploy must not mix it with level 2 or later.
 *
 * Adding a patch: give it the next level here (`CODE_LEVEL + 1`), raise `CODE_LEVEL`, and call `hasPatch`.
 * Executions started at the older level record the new patch's marker as `patched()` always did.
 */
import { patched, workflowInfo } from '@temporalio/workflow';

/** The memo key an execution's code level is kept under. */
export const CODE_LEVEL_MEMO = 'tenureCodeLevel';

/** Every patch and the first code level whose starts include it. */
export const PATCH_LEVELS: Readonly<Record<string, number>> = {
  'tenure-scheduled-runs': 1,
  'tenure-serial-entity': 1,
  'tenure-pre-start-exit': 1,
  'tenure-reconcile-repair': 1,
  'tenure-run-priority': 1,
  'tenure-system-queues': 1,
  'tenure-exception-owner': 1,
  'tenure-adopt-timing': 1,
  'tenure-cancelled-not-exception': 1,
  'tenure-fold-activation': 1,
  'tenure-approver-eligibility': 1,
};

/** The level of this code: the highest in `PATCH_LEVELS`. */
export const CODE_LEVEL = 1;

/** The memo every start by this code sets (merged into any memo of the start's own). */
export function codeLevelMemo(): Record<string, number> {
  return { [CODE_LEVEL_MEMO]: CODE_LEVEL };
}

/** The code level an execution was started with (0: before code levels, or a start that did not say). */
export function startedAtLevel(memo: Record<string, unknown> | undefined): number {
  const v = memo?.[CODE_LEVEL_MEMO];
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : 0;
}

/**
 * Whether a start at `level` includes patch `id` (an unknown patch never is: it asks `patched()`).
 * Exported for tests; workflow code calls `hasPatch`.
 */
export function levelIncludes(level: number, id: string): boolean {
  const needed = PATCH_LEVELS[id];
  return needed !== undefined && level >= needed;
}

/** `patched(id)`, without the marker for an execution started by code that already had the patch. */
export function hasPatch(id: string): boolean {
  const info = workflowInfo();
  const level = startedAtLevel(info.memo);
  if (level > CODE_LEVEL) {
    // Started by newer code (a rolling deploy): this worker lacks some of its patches and would take their old
    // paths without a marker. A plain error fails the workflow task, not the workflow: a newer worker takes it.
    throw new Error(
      `started at code level ${level}; this worker is at level ${CODE_LEVEL}: a newer worker must run it`,
    );
  }
  if (!levelIncludes(level, id)) return patched(id);
  // A worker from before code levels may have run this part first and recorded the marker: match it.
  if (info.unsafe.isReplaying) patched(id);
  return true;
}
