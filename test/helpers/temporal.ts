import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { WorkflowBundle } from '@temporalio/worker';
import { bundleWorkflowCode, NativeConnection } from '@temporalio/worker';
import type { DevServer } from '../../src/dev/temporal-server';
import { startDevServer } from '../../src/dev/temporal-server';
import { WORKFLOWS_PATH } from '../../src/workers/worker';
import { FAILURE_CONVERTER_PATH } from '../../src/codec';

/**
 * One real Temporal dev server for the whole test run, started on free ports by the root hooks
 * (see root-hooks.ts) and stopped after the last test. Workflow code is bundled once and shared.
 */
let server: DevServer | undefined;
let bundle: Promise<WorkflowBundle> | undefined;

export async function startSharedServer(): Promise<DevServer> {
  server ??= await startDevServer({ startTimeoutMs: 120_000 });
  return server;
}

export async function stopSharedServer(): Promise<void> {
  await server?.stop();
  server = undefined;
}

export function devServer(): DevServer {
  if (!server) throw new Error('the shared Temporal dev server is not running (root hooks not loaded?)');
  return server;
}

export function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: quietLogger,
  });
  return bundle;
}

export async function connectClient(
  dataConverter?: DataConverter,
): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await Connection.connect({ address: devServer().address });
  return { client: new Client({ connection, dataConverter }), close: () => connection.close() };
}

export async function connectNative(): Promise<NativeConnection> {
  return NativeConnection.connect({ address: devServer().address });
}

const noop = (): void => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };

/** A task queue name unique to one test, so workers of different tests never share work. */
export function uniqueTaskQueue(prefix = 'test'): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * The payload key of the saved replay histories (test/workflows/histories). A test fixture, not a secret: it only
 * ever encrypted the synthetic people of scripts/record-histories.ts.
 */
export const REPLAY_CODEC_KEYS = 'replay:dGVudXJlLXJlcGxheS1oaXN0b3JpZXMtdGVzdC1rZXk=';
