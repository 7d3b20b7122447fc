/**
 * The production shape of Temporal for tests: the real Temporal server 1.29.1 (not the dev server) on a Debian
 * PostgreSQL the test starts, its schema set up with `temporal-sql-tool`, run with the config file kept in
 * `deploy/temporal/production.yaml` and the dynamic config in `deploy/dynamicconfig/tenure.yaml`, every port free.
 * The binaries come from `scripts/ensure-temporal-server.sh` (built from the Go module proxy, cached).
 */
import type { ChildProcess } from 'node:child_process';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { PROJECT_ROOT } from '../../src/config/local-env';
import { freePortInRange } from '../../src/dev/ports';
import type { StartedPostgres } from './postgres';
import { startPostgres } from './postgres';

export interface TemporalCluster {
  address: string;
  postgres: StartedPostgres;
  /** The server's recent output, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/** The folder with temporal-server and temporal-sql-tool (building them when missing, as `npm test` does). */
export function temporalServerDir(): string {
  const dir = process.env.TEMPORAL_SERVER_DIR ?? join(PROJECT_ROOT, '.tools', 'bin');
  if (existsSync(join(dir, 'temporal-server')) && existsSync(join(dir, 'temporal-sql-tool'))) return dir;
  return execFileSync('bash', [join(PROJECT_ROOT, 'scripts', 'ensure-temporal-server.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}

function sqlTool(dir: string, pgPort: number, db: string, args: string[]): Promise<void> {
  const common = ['--plugin', 'postgres12', '--ep', '127.0.0.1', '-p', String(pgPort), '-u', 'postgres', '--db', db];
  return new Promise((resolve, reject) => {
    execFile(join(dir, 'temporal-sql-tool'), [...common, ...args], (err, _out, stderr) =>
      err ? reject(new Error(`temporal-sql-tool ${args[0]} (${db}) failed: ${stderr || err.message}`)) : resolve(),
    );
  });
}

/** Creates the two databases and applies the embedded PostgreSQL schemas, as an operator would. */
async function setupSchemas(dir: string, pgPort: number): Promise<void> {
  for (const [db, schema] of [
    ['temporal', 'postgresql/v12/temporal'],
    ['temporal_visibility', 'postgresql/v12/visibility'],
  ] as const) {
    await sqlTool(dir, pgPort, db, ['create-database']);
    await sqlTool(dir, pgPort, db, ['setup-schema', '-v', '0.0']);
    await sqlTool(dir, pgPort, db, ['update-schema', '--schema-name', schema]);
  }
}

async function answers(address: string): Promise<boolean> {
  try {
    const c = await Connection.connect({ address, connectTimeout: 2000 });
    try {
      await c.workflowService.getSystemInfo({});
      return true;
    } finally {
      await c.close();
    }
  } catch {
    return false;
  }
}

export async function startTemporalCluster(opts: { startTimeoutMs?: number } = {}): Promise<TemporalCluster> {
  const dir = temporalServerDir();
  const postgres = await startPostgres();
  let child: ChildProcess | undefined;
  let output = '';
  try {
    const pgPort = Number(new URL(postgres.url).port);
    await setupSchemas(dir, pgPort);
    const ports: Record<string, number> = {};
    for (const name of [
      'TEMPORAL_FRONTEND_PORT',
      'TEMPORAL_FRONTEND_MEMBERSHIP_PORT',
      'TEMPORAL_FRONTEND_HTTP_PORT',
      'TEMPORAL_MATCHING_PORT',
      'TEMPORAL_MATCHING_MEMBERSHIP_PORT',
      'TEMPORAL_HISTORY_PORT',
      'TEMPORAL_HISTORY_MEMBERSHIP_PORT',
      'TEMPORAL_WORKER_PORT',
      'TEMPORAL_WORKER_MEMBERSHIP_PORT',
      'TEMPORAL_METRICS_PORT',
    ]) {
      // Nothing listens on them yet, so two draws could name the same free port: draw again until distinct.
      let port = await freePortInRange();
      while (Object.values(ports).includes(port) || port === pgPort) port = await freePortInRange();
      ports[name] = port;
    }
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      POSTGRES_HOST: '127.0.0.1',
      POSTGRES_PORT: String(pgPort),
      POSTGRES_USER: 'postgres',
      TEMPORAL_DYNAMIC_CONFIG_FILE: join(PROJECT_ROOT, 'deploy', 'dynamicconfig', 'tenure.yaml'),
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    };
    child = spawn(
      join(dir, 'temporal-server'),
      ['--root', PROJECT_ROOT, '--config', 'deploy/temporal', '--env', 'production', '--allow-no-auth', 'start'],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (b: Buffer): void => {
      output = (output + b.toString()).slice(-8000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const address = `127.0.0.1:${ports.TEMPORAL_FRONTEND_PORT}`;
    const deadline = Date.now() + (opts.startTimeoutMs ?? 120_000);
    const proc = child;
    while (!(await answers(address))) {
      if (proc.exitCode !== null) throw new Error(`temporal-server exited (${proc.exitCode}):\n${output}`);
      if (Date.now() > deadline) throw new Error(`temporal-server did not answer on ${address}:\n${output}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    return {
      address,
      postgres,
      output: () => output,
      async stop() {
        if (proc.exitCode === null) {
          const exited = new Promise((r) => proc.once('exit', r));
          proc.kill('SIGTERM');
          await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
          if (proc.exitCode === null) proc.kill('SIGKILL');
        }
        await postgres.stop();
      },
    };
  } catch (err) {
    child?.kill('SIGKILL');
    await postgres.stop();
    throw err;
  }
}
