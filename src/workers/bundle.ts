/**
 * The worker's workflow bundle, built in a child process. Bundling (webpack) in the worker itself leaves 100-150 MB
 * of the bundler's heap in the worker for its whole life (docs/scaling.md: an idle worker at about 330-390 MB
 * instead of about 240 MB); built in a child that exits, the worker keeps only the bundle's code. Always built from
 * the workflow code the worker is running, so it can never be stale.
 *
 * Also a program: `node bundle.js` (forked by `bundleWorkflowsInChildProcess`) bundles and sends the code back.
 */
import { fork } from 'node:child_process';
import type { WorkflowBundle } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from '../codec';
import { WORKFLOWS_PATH } from './worker';

interface BundleMessage {
  code?: string;
  error?: string;
}

export function bundleWorkflowsInChildProcess(timeoutMs = 300_000): Promise<WorkflowBundle> {
  return new Promise((resolve, reject) => {
    // The child runs as this process runs (execArgv: e.g. `-r tsx/cjs` when started from the TypeScript sources).
    const child = fork(__filename, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    let settled = false;
    const finish = (err: Error | undefined, bundle?: WorkflowBundle): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null) child.kill();
      if (err) reject(err);
      else if (bundle) resolve(bundle);
    };
    const timer = setTimeout(() => finish(new Error(`bundling workflow code took over ${timeoutMs} ms`)), timeoutMs);
    child.once('message', (m: BundleMessage) => {
      if (typeof m.code === 'string') finish(undefined, { code: m.code });
      else finish(new Error(`bundling workflow code failed: ${m.error ?? 'no code'}`));
    });
    child.once('error', (err) => finish(err));
    child.once('exit', (code) => finish(new Error(`the workflow bundler exited (${code}) without a bundle`)));
  });
}

async function bundleAndSend(): Promise<void> {
  const { bundleWorkflowCode } = await import('@temporalio/worker');
  const noop = (): void => undefined;
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop },
  });
  await new Promise<void>((resolve, reject) =>
    process.send?.({ code } satisfies BundleMessage, (err: Error | null) => (err ? reject(err) : resolve())),
  );
}

if (require.main === module && process.send) {
  bundleAndSend()
    .then(() => process.disconnect())
    .catch((err: unknown) => {
      process.send?.({ error: err instanceof Error ? err.message : String(err) } satisfies BundleMessage);
      process.exitCode = 1;
    });
}
