import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { ENTITY_PRIORITY, RUN_PRIORITY } from '../../src/domain/priority';
import { connectClient, uniqueTaskQueue } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';

const NAMESPACE = 'default';
const BACKLOG = 20;

/**
 * The server hands out a task queue's backlog by priority (src/domain/priority.ts, docs/scaling.md "Task priority"),
 * on the dev server Tenure starts for tests and `npm start` (src/dev/temporal-server.ts) with the dynamic config a
 * production cluster gets (deploy/dynamicconfig/tenure.yaml). Twenty tasks at a run's priority wait on a task queue
 * no worker polls, then one at an entity's priority arrives: the first poll gets the entity's. Without the priority
 * matcher, or with the queue split in partitions, the server answered first come, first served, and under a burst
 * the intake's answers waited behind every step queued before them.
 */
describe("task priority: an entity's task goes ahead of a backlog of run tasks", function () {
  this.timeout(120_000);
  let client: Client;
  let close: () => Promise<void>;
  const started: string[] = [];

  before(async () => {
    ({ client, close } = await connectClient());
  });

  after(async () => {
    await Promise.all(
      started.map((id) =>
        client.workflow
          .getHandle(id)
          .terminate('test over')
          .catch(() => undefined),
      ),
    );
    await close();
  });

  it('the first task polled is the one at the higher priority, sent last', async () => {
    const taskQueue = uniqueTaskQueue('priority');
    const start = async (id: string, priorityKey: number): Promise<void> => {
      // No worker runs this type: the test polls the task queue itself and only reads which task comes first.
      await client.workflow.start('priorityProbe', { taskQueue, workflowId: id, args: [], priority: { priorityKey } });
      started.push(id);
    };
    for (let i = 0; i < BACKLOG; i += 1) await start(`${taskQueue}-run-${i}`, RUN_PRIORITY);
    const entity = `${taskQueue}-entity`;
    await start(entity, ENTITY_PRIORITY);

    // Every task has reached the task queue before the first poll (the server moves them there asynchronously).
    await waitFor(
      async () => {
        const described = await client.workflowService.describeTaskQueue({
          namespace: NAMESPACE,
          taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
          taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
          reportStats: true,
        });
        return Number(described.stats?.approximateBacklogCount ?? 0) >= BACKLOG + 1;
      },
      60_000,
      `${BACKLOG + 1} tasks in the backlog`,
    );

    // A long poll needs a deadline; with a backlog it answers at once.
    const poll = async (): Promise<string | undefined> => {
      const task = await client.connection.withDeadline(Date.now() + 30_000, () =>
        client.workflowService.pollWorkflowTaskQueue({
          namespace: NAMESPACE,
          taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
          identity: 'task-priority-test',
        }),
      );
      return task.workflowExecution?.workflowId ?? undefined;
    };
    assert.equal(await poll(), entity);
    // Then the runs' tasks (their order among equals is the server's to choose).
    const next = await poll();
    assert.ok(next?.startsWith(`${taskQueue}-run-`), `a run's task next, not ${String(next)}`);
  });
});
