/**
 * The floor's worker (bench/lib/floor.ts): the SDK's defaults, like the baseline's, plus Tenure's payload codec, since
 * a hire's personal data is never stored in the clear (`BENCH_TEMPORAL_ADDRESS`, `BENCH_TASK_QUEUE`,
 * `BENCH_DATABASE_URL`, `TENURE_CODEC_KEYS`). Prints `floor worker ready` once it polls.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { dataConverter, loadKeyRing } from '../../src/codec';
import * as activities from './activities';

async function main(): Promise<void> {
  const address = process.env.BENCH_TEMPORAL_ADDRESS;
  const taskQueue = process.env.BENCH_TASK_QUEUE;
  if (!address || !taskQueue) throw new Error('BENCH_TEMPORAL_ADDRESS and BENCH_TASK_QUEUE are required');
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowsPath: require.resolve('./workflows'),
    activities,
    dataConverter: dataConverter(loadKeyRing(process.env)),
  });
  process.once('SIGTERM', () => worker.shutdown());
  process.once('SIGINT', () => worker.shutdown());
  const running = worker.run();
  process.stdout.write('floor worker ready\n');
  await running;
  await activities.closeFloorActivities();
  await connection.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`floor worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
