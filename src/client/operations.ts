import type { Client } from '@temporalio/client';
import { employeeWorkflowId } from '../domain/ids';
import { employeeStatusQuery } from '../workflows/employee/messages';
import type { OnboardingStatus } from '../workflows/onboarding/messages';
import { adoptCurrentPolicyUpdate, retryStepUpdate } from '../workflows/onboarding/messages';

/** The workflow id of the person's current (or last) event run. */
export async function currentRunId(client: Client, hrId: string): Promise<string> {
  const entity = await client.workflow.getHandle(employeeWorkflowId(hrId)).query(employeeStatusQuery);
  const id = entity.current ?? [...entity.events].reverse().find((e) => e.workflowId)?.workflowId;
  if (!id) throw new Error(`${hrId} has no run`);
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
