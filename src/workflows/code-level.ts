/**
 * Code levels: which patches an execution was started with, so that a new execution pays nothing for them.
 *
 * `patched(id)` records a marker in every execution that takes the new path, and the SDK adds a
 * `TemporalChangeVersion` search-attribute upsert with it: two history events and a visibility write per patch per
 * run, forever, for a hire that was never on the old path (six events and three visibility writes per hire with
 * the patches of 2026-12). An execution started by code that already has a patch cannot have taken the old path, so it
 * does not need the marker: every Tenure start (the intake's update-with-start, continue-as-new, a child run) sets the
 * memo `tenureCodeLevel` to `CODE_LEVEL`, and `hasPatch` is true without a marker for every patch of that level or
 * below. An execution without the memo (started before code levels) asks `patched()` as before.
 *
 * Workers of two levels side by side (a rolling deploy) stay safe: a worker older than the level an execution was
 * started at refuses it (`enterAtCodeLevel`, first thing in every workflow function, so also when it replays it): its
 * workflow task fails, nothing is recorded, and a newer worker takes the task. A newer worker runs an older level's
 * execution with `patched()` for the patches that level lacks, as Temporal always did.
 *
 * Workers from before code levels do not know the memo, so they must not run beside this code: upgrading from a
 * release before code levels, stop the old workers before starting the new ones (`docker compose up -d` does; a
 * paused worker loses nothing, tasks wait on the server). If one did run a level-1 execution, the markers it recorded
 * for the patches it had still replay (while replaying `hasPatch` calls `patched()`, which matches a marker the
 * history has and adds nothing when it has none), but a patch it lacked would not.
 *
 * Adding a patch: give it the next level here (`CODE_LEVEL + 1`), raise `CODE_LEVEL`, and call `hasPatch` (or
 * `startedWith`, for a change only executions started with it take).
 * Executions started at an older level record the new patch's marker as `patched()` always did.
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
  'tenure-stage-at-start': 2,
  'tenure-inline-runs': 3,
};

/** The level of this code: the highest in `PATCH_LEVELS`. */
export const CODE_LEVEL = 3;

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

/**
 * Refuses an execution started by newer code: called first in every workflow function that starts at a code level.
 * A plain error fails the workflow task, not the workflow, and a newer worker takes the task.
 */
export function enterAtCodeLevel(): void {
  const level = startedAtLevel(workflowInfo().memo);
  if (level > CODE_LEVEL) {
    throw new Error(
      `started at code level ${level}; this worker is at level ${CODE_LEVEL}: a newer worker must run it`,
    );
  }
}

/**
 * Whether this execution was started at a level that includes patch `id`, never recording a marker: for a change
 * only new executions take (one in flight, started before it, keeps the old path to its end).
 */
export function startedWith(id: string): boolean {
  return levelIncludes(startedAtLevel(workflowInfo().memo), id);
}

/** `patched(id)`, without the marker for an execution started by code that already had the patch. */
export function hasPatch(id: string): boolean {
  const info = workflowInfo();
  if (!levelIncludes(startedAtLevel(info.memo), id)) return patched(id);
  // A worker from before code levels may have run this part and recorded the marker: match it.
  if (info.unsafe.isReplaying) patched(id);
  return true;
}
