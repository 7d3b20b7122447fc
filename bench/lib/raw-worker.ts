/**
 * A raw-Temporal worker process for a bench's reference workload (bench/baseline/, bench/floor/): the SDK's defaults,
 * on `BENCH_TEMPORAL_ADDRESS` and `BENCH_TASK_QUEUE`, like Tenure's worker a process of its own. Prints
 * `<name> worker ready` once it polls; SIGTERM or SIGINT drains it.
 */
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';

export interface RawWorkerOptions {
  name: string;
  workflowsPath: string;
  activities: object;
  dataConverter?: DataConverter;
  /** Called once the worker has drained (e.g. to close a pool the activities hold). */
  onDrained?: () => Promise<void>;
}

export function runRawWorker(o: RawWorkerOptions): void {
  const main = async (): Promise<void> => {
    const address = process.env.BENCH_TEMPORAL_ADDRESS;
    const taskQueue = process.env.BENCH_TASK_QUEUE;
    if (!address || !taskQueue) throw new Error('BENCH_TEMPORAL_ADDRESS and BENCH_TASK_QUEUE are required');
    const connection = await NativeConnection.connect({ address });
    const worker = await Worker.create({
      connection,
      taskQueue,
      workflowsPath: o.workflowsPath,
      activities: o.activities,
      ...(o.dataConverter ? { dataConverter: o.dataConverter } : {}),
    });
    process.once('SIGTERM', () => worker.shutdown());
    process.once('SIGINT', () => worker.shutdown());
    const running = worker.run();
    process.stdout.write(`${o.name} worker ready\n`);
    await running;
    await o.onDrained?.();
    await connection.close();
  };
  main().catch((err: unknown) => {
    process.stderr.write(`${o.name} worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
