/** Production worker entry point: `node dist/workers/main.js` (or `node -r tsx/cjs src/workers/main.ts`). */
import { connectClient, installWorkerRuntime, openAudit, startObservability, startWorker } from '../app/compose';
import { loadSettings } from '../app/settings';
import { createLogger } from '../logger';
import { bundleWorkflowsInChildProcess } from './bundle';

async function main(): Promise<void> {
  const log = createLogger('tenure-worker');
  const settings = loadSettings();
  installWorkerRuntime(settings);
  const audit = await openAudit(settings);
  // Bundled in a child process, so the bundler's memory never stays in the worker (src/workers/bundle.ts).
  const worker = await startWorker(settings, audit, { workflowBundle: await bundleWorkflowsInChildProcess() });
  const { client, close } = await connectClient(settings);
  const observability = await startObservability(settings, 'worker', { client, audit, logger: log });
  const stop = (): void => void worker.shutdown();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  log.info(
    {
      taskQueue: settings.env.TENURE_TASK_QUEUE,
      policyVersion: settings.policy.version,
      temporal: settings.temporal.summary,
      metrics: observability.url,
    },
    'worker started',
  );
  await worker.running;
  await observability.close();
  await close();
  await audit.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`tenure worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
