/**
 * The raw-Temporal baseline measured in the same run: `n` trivial workflows (two no-op activities each,
 * bench/baseline/) started at once on the same dev server, against a worker process of their own.
 */
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { pool, progress } from './scale';
import { cpuSeconds } from './proc';
import { spawnTs } from './spawn';
import type { HistoryCost } from './temporal';
import { historyCost, waitForCount } from './temporal';

export interface BaselineResult {
  n: number;
  seconds: number;
  perSecond: number;
  workerCpuSeconds: number;
  /** The Temporal server's CPU seconds over the run (when its pid is known). */
  serverCpuSeconds: number;
  perRun: HistoryCost;
}

export async function runBaseline(address: string, client: Client, n: number, serverPid = -1): Promise<BaselineResult> {
  const taskQueue = `baseline-${randomBytes(4).toString('hex')}`;
  const worker = spawnTs(
    'bench/baseline/worker.ts',
    { BENCH_TEMPORAL_ADDRESS: address, BENCH_TASK_QUEUE: taskQueue },
    'baseline-worker',
  );
  try {
    await worker.waitForLine(/baseline worker ready/);
    // Warm-up: the bundle is loaded, the first tasks are slow.
    await client.workflow.execute('baselineWorkflow', { taskQueue, workflowId: `${taskQueue}-warm`, args: [0] });
    const query = `TaskQueue="${taskQueue}" AND ExecutionStatus="Completed"`;
    const cpu0 = cpuSeconds(worker.pid);
    const server0 = cpuSeconds(serverPid);
    progress(`baseline: ${n} workflows at once`);
    const t0 = Date.now();
    await pool(
      Array.from({ length: n }, (_, i) => i),
      200,
      (i) => client.workflow.start('baselineWorkflow', { taskQueue, workflowId: `${taskQueue}-${i}`, args: [i] }),
    );
    const done = await waitForCount(client, query, n + 1, { label: 'baseline', stallMs: 120_000, everyMs: 100 });
    const workerCpuSeconds = cpuSeconds(worker.pid) - cpu0;
    const serverCpuSeconds = cpuSeconds(serverPid) - server0;
    const seconds = (done - t0) / 1000;
    return {
      n,
      seconds,
      perSecond: n / seconds,
      workerCpuSeconds,
      serverCpuSeconds,
      perRun: await historyCost(client, [`${taskQueue}-0`]),
    };
  } finally {
    await worker.stop();
  }
}
