/**
 * The activity workers of rate-limited systems (policy `systems[].rateLimit`): one per system, in the same process
 * and on the same connection as the main worker, polling `<taskQueue>.system.<id>` (src/domain/rate-limit.ts).
 * Each runs at most the system's `concurrency` step activities at once and asks the server for at most
 * `requestsPerSecond` activities a second on that queue (a limit the server applies across every worker process);
 * within an activity each HTTP request also waits for the system's in-process pace (src/activities/rate-limit.ts),
 * since one step can make several requests.
 */
import type { NativeConnection } from '@temporalio/worker';
import { Worker } from '@temporalio/worker';
import type { TenureActivities } from '../activities';
import { setRequestPace } from '../activities/rate-limit';
import { rateLimits, systemTaskQueue } from '../domain/rate-limit';
import type { TenureSettings } from './settings';

export async function createSystemWorkers(
  s: TenureSettings,
  connection: NativeConnection,
  activities: TenureActivities,
): Promise<Worker[]> {
  const out: Worker[] = [];
  for (const [systemId, limit] of rateLimits(s.policy.policy)) {
    setRequestPace(systemId, limit.requestsPerSecond);
    out.push(
      await Worker.create({
        connection,
        namespace: s.temporal.namespace,
        taskQueue: systemTaskQueue(s.env.TENURE_TASK_QUEUE, systemId),
        activities,
        dataConverter: s.converter,
        ...(s.env.TENURE_WORKER_IDENTITY ? { identity: `${s.env.TENURE_WORKER_IDENTITY}/${systemId}` } : {}),
        maxConcurrentActivityTaskExecutions: limit.concurrency,
        maxConcurrentActivityTaskPolls: Math.min(limit.concurrency, 5),
        maxTaskQueueActivitiesPerSecond: limit.requestsPerSecond,
      }),
    );
  }
  return out;
}
