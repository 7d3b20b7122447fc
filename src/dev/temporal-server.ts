import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { searchAttributeFlags } from '../workflows/search-attributes';
import { freePort } from './ports';
import { requireTemporalCli } from './temporal-cli';

/**
 * Dynamic config Tenure needs, the same as deploy/dynamicconfig/tenure.yaml gives a production cluster: Updates and
 * update-with-start (harmless where already on), and task queue priority honoured (the intake's answers go ahead of
 * the runs' steps, src/domain/priority.ts): the server's priority matcher, and one partition per task queue, since a
 * partition orders only its own tasks (docs/scaling.md, "Task priority").
 */
export const DYNAMIC_CONFIG = [
  'frontend.enableUpdateWorkflowExecution=true',
  'frontend.enableExecuteMultiOperation=true',
  'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
  'matching.useNewMatcher=true',
  'matching.numTaskqueueReadPartitions=1',
  'matching.numTaskqueueWritePartitions=1',
];

export interface DevServerOptions {
  /** gRPC port; 0 picks a free one. @default 0 */
  port?: number;
  /** Web UI port; omitted means headless. */
  uiPort?: number;
  /** SQLite file for persistence; omitted means in memory. */
  dbFile?: string;
  /** Codec endpoint the Web UI calls to decode payloads. */
  uiCodecEndpoint?: string;
  /** Where the server's own log goes. @default ignored */
  logFile?: string;
  /** How long to wait for the server to answer. @default 90000 */
  startTimeoutMs?: number;
  binary?: string;
}

export interface DevServer {
  address: string;
  port: number;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `temporal server start-dev` with Tenure's search attributes and waits until it answers. */
export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const binary = opts.binary ?? requireTemporalCli();
  const port = opts.port || (await freePort());
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--http-port',
    String(await freePort()),
    '--metrics-port',
    String(await freePort()),
    '--log-level',
    'warn',
    ...searchAttributeFlags(),
    ...DYNAMIC_CONFIG.flatMap((v) => ['--dynamic-config-value', v]),
  ];
  if (opts.uiPort) args.push('--ui-port', String(opts.uiPort));
  else args.push('--headless');
  if (opts.dbFile) {
    mkdirSync(dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
  }
  if (opts.uiCodecEndpoint) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);

  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (b: Buffer): void => {
    output = (output + b.toString()).slice(-8000);
  };
  if (opts.logFile) {
    mkdirSync(dirname(opts.logFile), { recursive: true });
    const out = createWriteStream(opts.logFile, { flags: 'a' });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
  }
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: number | null | undefined;
  child.on('exit', (code) => {
    exited = code;
  });
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.on('exit', killOnExit);

  const stop = async (): Promise<void> => {
    process.off('exit', killOnExit);
    if (exited !== undefined) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  };

  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 90_000);
  for (;;) {
    if (exited !== undefined) {
      throw new Error(`temporal server start-dev exited with code ${exited}:\n${output}`);
    }
    try {
      const conn = await Connection.connect({ address, connectTimeout: 2000 });
      try {
        await conn.workflowService.describeNamespace({ namespace: 'default' });
        break;
      } finally {
        await conn.close();
      }
    } catch (err) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`temporal dev server did not answer on ${address}: ${(err as Error).message}\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  return { address, port, uiUrl: opts.uiPort ? `http://127.0.0.1:${opts.uiPort}` : undefined, process: child, stop };
}
