/**
 * The floor measured in the same run: what a hire costs on this machine, its least work done by regular activities.
 * One workflow per hire with the SDK's defaults (bench/floor/), the identity provider's account and then the app's, each
 * one activity doing one SCIM `POST /Users` to a stand-in (the same src/dev/scim-peer.ts Tenure's run calls, in this
 * process) and one audit row in PostgreSQL, payloads encrypted with Tenure's codec. Started straight from this
 * process's client, as the baseline's are: no HR sender, no intake, no plan, no lookup before a create, no evidence
 * chain. A reference for what a hire costs with regular activities: a late hire Tenure's entity carries out runs its
 * steps as local activities, one workflow task in all, and can go faster than it.
 */
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { dataConverter, generateKey, loadKeyRing } from '../../src/codec';
import { startScimPeer } from '../../src/dev/scim-peer';
import { failedQuery } from './hires';
import { cpuSeconds, treeCpuSeconds } from './proc';
import { pool, progress } from './scale';
import { spawnTs } from './spawn';
import type { HistoryCost } from './temporal';
import { benchClient, historyCost, waitForCount } from './temporal';
import { benchDatabase, benchPostgresPid } from './tenure';

export interface FloorResult {
  n: number;
  seconds: number;
  perSecond: number;
  /** CPU seconds per hire of the floor's worker, the Temporal server, PostgreSQL, and this process (the stand-ins). */
  cpuPerHire: { worker: number; server: number; postgres: number; bench: number };
  perRun: HistoryCost;
}

/** Runs `sizes[i]` floor hires at once for each size, in order, on one worker, one pair of stand-ins, one database. */
export async function runFloor(address: string, sizes: number[], serverPid = -1): Promise<FloorResult[]> {
  const taskQueue = `floor-${randomBytes(4).toString('hex')}`;
  const databaseUrl = await benchDatabase();
  const db = new Pool({ connectionString: databaseUrl, max: 1 });
  await db.query(
    'CREATE TABLE floor_audit (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), person text NOT NULL, system text NOT NULL, account text NOT NULL)',
  );
  await db.end();
  const idp = await startScimPeer({ name: 'floor-idp' });
  const app = await startScimPeer({ name: 'floor-app1' });
  const keys = `k1:${generateKey()}`;
  const { client, close } = await benchClient(address, dataConverter(loadKeyRing({ TENURE_CODEC_KEYS: keys })));
  const worker = spawnTs(
    'bench/floor/worker.ts',
    {
      BENCH_TEMPORAL_ADDRESS: address,
      BENCH_TASK_QUEUE: taskQueue,
      BENCH_DATABASE_URL: databaseUrl,
      TENURE_CODEC_KEYS: keys,
    },
    'floor-worker',
  );
  const systems = [
    { system: 'idp', url: idp.url },
    { system: 'app1', url: app.url },
  ];
  const completed = `TaskQueue="${taskQueue}" AND ExecutionStatus="Completed"`;
  const start = (id: string): Promise<unknown> =>
    client.workflow.start('floorWorkflow', { taskQueue, workflowId: id, args: [{ person: id, systems }] });
  try {
    await worker.waitForLine(/floor worker ready/);
    // Warm-up: the bundle is loaded, the first tasks are slow.
    await start(`${taskQueue}-warm`);
    let done = 1;
    await waitForCount(client, completed, done, { label: 'floor' });
    const out: FloorResult[] = [];
    for (const [wave, n] of sizes.entries()) {
      const cpu0 = {
        worker: cpuSeconds(worker.pid),
        server: cpuSeconds(serverPid),
        postgres: treeCpuSeconds(benchPostgresPid()),
        bench: cpuSeconds(process.pid),
      };
      progress(`floor: ${n} hires at once`);
      const t0 = Date.now();
      await pool(
        Array.from({ length: n }, (_, i) => i),
        200,
        (i) => start(`${taskQueue}-w${wave}-${i}`),
      );
      done += n;
      const doneAt = await waitForCount(client, completed, done, {
        failedQuery: failedQuery(taskQueue),
        label: 'floor',
        stallMs: 120_000,
        everyMs: 100,
      });
      const seconds = (doneAt - t0) / 1000;
      out.push({
        n,
        seconds,
        perSecond: n / seconds,
        cpuPerHire: {
          worker: (cpuSeconds(worker.pid) - cpu0.worker) / n,
          server: (cpuSeconds(serverPid) - cpu0.server) / n,
          postgres: (treeCpuSeconds(benchPostgresPid()) - cpu0.postgres) / n,
          bench: (cpuSeconds(process.pid) - cpu0.bench) / n,
        },
        perRun: await historyCost(client, [`${taskQueue}-w${wave}-0`]),
      });
    }
    const accounts = idp.users().length + app.users().length;
    if (accounts !== 2 * done) throw new Error(`floor: ${accounts} accounts in the stand-ins, expected ${2 * done}`);
    return out;
  } finally {
    await worker.stop();
    await close();
    await idp.close();
    await app.close();
  }
}
