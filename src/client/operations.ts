import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { employeeWorkflowId } from '../domain/ids';
import type { EmployeeStatus } from '../workflows/employee/messages';
import { employeeStatusQuery, resolveEntityExceptionUpdate } from '../workflows/employee/messages';
import type { OnboardingStatus } from '../workflows/onboarding/messages';
import { adoptCurrentPolicyUpdate, onboardingStatusQuery, retryStepUpdate } from '../workflows/onboarding/messages';

/** The workflow id of the person's current (or last) event run. */
export async function currentRunId(client: Client, hrId: string): Promise<string> {
  const entity = await client.workflow.getHandle(employeeWorkflowId(hrId)).query(employeeStatusQuery);
  const id = entity.current ?? [...entity.events].reverse().find((e) => e.workflowId)?.workflowId;
  if (!id) throw new Error(`${hrId} has no run`);
  if (entity.events.some((e) => e.workflowId === id && e.carriedOut === 'entity')) {
    throw new Error(
      `${hrId}'s run ${id} is carried out by the person's entity and waits on nobody: ` +
        'a step that fails hands it to a run of its own, which can then be retried',
    );
  }
  return id;
}

/** Operator: run a step in exception again, after fixing its cause. */
export async function retryStep(client: Client, hrId: string, stepId: string): Promise<OnboardingStatus> {
  const id = await currentRunId(client, hrId);
  return client.workflow.getHandle(id).executeUpdate(retryStepUpdate, { args: [{ stepId }] });
}

/** Operator: move a waiting run to the policy the workers run now. */
export async function adoptCurrentPolicy(client: Client, hrId: string): Promise<OnboardingStatus> {
  const id = await currentRunId(client, hrId);
  return client.workflow.getHandle(id).executeUpdate(adoptCurrentPolicyUpdate, { args: [] });
}

/** One run of a person as `tenure status` shows it: the entity's view of it and the run's own, when it exists. */
export interface RunView {
  workflowId: string;
  eventId: string;
  kind: string;
  /** The entity's view: queued, running, done, failed or superseded. */
  state: string;
  /**
   * Temporal's view: RUNNING, COMPLETED, CANCELLED, …, `not_started` while the entity still queues it, or
   * `carried_out_by_entity` for a run with no workflow of its own (docs/decisions/0004): its activities are in the
   * entity's history, its status is the entity's (while the entity has it: the last few since it continued as new).
   */
  execution: string;
  /** The run's status (its query while it runs, its result once completed). */
  status?: OnboardingStatus;
  /** Why the status could not be read. */
  error?: string;
}

/** `tenure status`: the entity, its queue and every run it knows of, each as the entity and Temporal see it. */
export interface PersonStatus {
  hrId: string;
  entity: EmployeeStatus & { workflowId: string; execution: string };
  runs: RunView[];
  /** The current run, else the newest one that has started. */
  run?: OnboardingStatus;
}

/** Everything Tenure knows of a person; `undefined` when there is no entity workflow for them. */
export async function personStatus(client: Client, hrId: string): Promise<PersonStatus | undefined> {
  const handle = client.workflow.getHandle(employeeWorkflowId(hrId));
  let execution: string;
  try {
    execution = (await handle.describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
  const entity = await handle.query(employeeStatusQuery);
  const seen = new Set<string>();
  const runs: RunView[] = [];
  for (const e of entity.events) {
    if (!e.workflowId || seen.has(e.workflowId) || e.outcome !== 'accepted') continue;
    seen.add(e.workflowId);
    const base = { eventId: e.eventId, kind: e.kind, state: e.state };
    if (e.carriedOut === 'entity') {
      const status = entity.inlineRuns?.[e.workflowId];
      runs.push({
        workflowId: e.workflowId,
        ...base,
        execution: 'carried_out_by_entity',
        ...(status ? { status } : {}),
      });
      continue;
    }
    runs.push(await runView(client, e.workflowId, base));
  }
  const current = runs.find((r) => r.workflowId === entity.current);
  const started = [...runs].reverse().find((r) => r.status !== undefined);
  const run = current?.status ?? started?.status;
  return {
    hrId,
    entity: { ...entity, workflowId: employeeWorkflowId(hrId), execution },
    runs,
    ...(run ? { run } : {}),
  };
}

async function runView(client: Client, workflowId: string, base: Omit<RunView, 'workflowId' | 'execution'>) {
  const h = client.workflow.getHandle(workflowId);
  let execution: string;
  try {
    execution = (await h.describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { workflowId, ...base, execution: 'not_started' };
    throw err;
  }
  try {
    // A closed run is not queried (that needs a worker to replay it): its result is its final status.
    const status =
      execution === 'RUNNING'
        ? await h.query(onboardingStatusQuery)
        : execution === 'COMPLETED'
          ? ((await h.result()) as OnboardingStatus)
          : undefined;
    return { workflowId, ...base, execution, ...(status ? { status } : {}) };
  } catch (err) {
    return { workflowId, ...base, execution, error: err instanceof Error ? err.message : String(err) };
  }
}

/** Operator: retry or dismiss an open exception of the person's entity (a run that could not start or finish). */
export async function resolveEntityException(
  client: Client,
  hrId: string,
  id: string,
  action: 'retry' | 'dismiss',
  by: string,
): Promise<EmployeeStatus> {
  return client.workflow
    .getHandle(employeeWorkflowId(hrId))
    .executeUpdate(resolveEntityExceptionUpdate, { args: [{ id, action, by }] });
}
