import type { WorkflowClient } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { employeeWorkflowId } from '../../src/domain/ids';
import { parseRunWorkflowId } from '../../src/observability/runs';
import { employeeStatusQuery } from '../../src/workflows/employee/messages';

/** Polls `check` until it returns true; errors count as "not yet". */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (
      await Promise.resolve()
        .then(check)
        .catch(() => false)
    )
      return;
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The result of a run that may not have started yet (children start when their parent gets to them). A run the
 * person's entity carries out itself (docs/decisions/0004) has no workflow of its own: its result is the final status
 * the entity keeps for it, as `tenure status` shows it. A run handed over to a workflow of its own is that workflow's.
 */
export async function resultWhenStarted<T>(
  handle: { workflowId: string; client: WorkflowClient; describe(): Promise<unknown>; result(): Promise<T> },
  startWithinMs = 30_000,
): Promise<T> {
  let carriedOut: T | undefined;
  await waitFor(
    async () => {
      try {
        await handle.describe();
        return true;
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
      carriedOut = await carriedOutByEntity<T>(handle.client, handle.workflowId);
      return carriedOut !== undefined;
    },
    startWithinMs,
    'workflow started',
  );
  return carriedOut ?? handle.result();
}

/** The final status of a run its entity carried out, or `undefined` while it runs (or when it was not one). */
async function carriedOutByEntity<T>(client: WorkflowClient, workflowId: string): Promise<T | undefined> {
  const run = parseRunWorkflowId(workflowId);
  if (!run) return undefined;
  const entity = await client.getHandle(employeeWorkflowId(run.hrId)).query(employeeStatusQuery);
  const status = entity.inlineRuns?.[workflowId];
  return status?.finishedAt ? (status as T) : undefined;
}
