import type { Client } from '@temporalio/client';
import { WithStartWorkflowOperation } from '@temporalio/client';
import type { HrEvent } from '../domain/employee';
import { employeeWorkflowId } from '../domain/ids';
import { ENTITY_PRIORITY } from '../domain/priority';
import { employeeWorkflow } from '../workflows/employee/employee';
import type { DeliverEventResult } from '../workflows/employee/messages';
import { deliverEventUpdate } from '../workflows/employee/messages';
import { codeLevelMemo } from '../workflows/code-level';
import { EMPLOYEE_ID } from '../workflows/search-attributes';

/**
 * Delivers one HR event to the person's entity workflow with update-with-start: the entity is started if it
 * is not running, and answers accepted / duplicate / rejected synchronously.
 */
export async function deliverHrEvent(client: Client, taskQueue: string, event: HrEvent): Promise<DeliverEventResult> {
  const hrId = event.record.hrId;
  const startWorkflowOperation = new WithStartWorkflowOperation(employeeWorkflow, {
    workflowId: employeeWorkflowId(hrId),
    taskQueue,
    args: [{ hrId }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: [{ key: EMPLOYEE_ID, value: hrId }],
    // Started by this code: no patch markers for what it already has (src/workflows/code-level.ts).
    memo: codeLevelMemo(),
    // The sender waits for the entity's answer: its tasks go ahead of the runs' (src/domain/priority.ts).
    priority: { priorityKey: ENTITY_PRIORITY },
  });
  return client.workflow.executeUpdateWithStart(deliverEventUpdate, {
    args: [event],
    startWorkflowOperation,
  });
}
