/** Production worker entry point: `node dist/workers/main.js` (or `node -r tsx/cjs src/workers/main.ts`). */
import { openAudit, startWorker } from '../app/compose';
import { loadSettings } from '../app/settings';
import { createLogger } from '../logger';

async function main(): Promise<void> {
  const log = createLogger('tenure-worker');
  const settings = loadSettings();
  const audit = await openAudit(settings);
  const worker = await startWorker(settings, audit);
  const stop = (): void => void worker.shutdown();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  log.info(
    {
      taskQueue: settings.env.TENURE_TASK_QUEUE,
      policyVersion: settings.policy.version,
      temporal: settings.temporal.summary,
    },
    'worker started',
  );
  await worker.running;
  await audit.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`tenure worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
