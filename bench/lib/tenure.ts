/**
 * Tenure as it ships, for a benchmark: the real worker and intake entry points (src/workers/main.ts,
 * src/client/intake-main.ts, composed by src/app/compose.ts) as processes of their own, configured only by
 * environment variables and a policy file, with the audit store on PostgreSQL; SCIM stand-ins (src/dev/scim-peer.ts)
 * for the identity provider and the apps in this process; HR events signed and sent through the real intake.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { Pool } from 'pg';
import { stringify } from 'yaml';
import { WORKER_TUNING_VARIABLES } from '../../src/app/worker-tuning';
import { dataConverter, generateKey, loadKeyRing } from '../../src/codec';
import { TenureClient } from '../../src/client/tenure-client';
import { freePort } from '../../src/dev/ports';
import type { ScimPeer } from '../../src/dev/scim-peer';
import { startScimPeer } from '../../src/dev/scim-peer';
import type { EmployeeRecord } from '../../src/domain/employee';
import { AUDIT_TABLE } from '../../src/activities/audit/store';
import { createDatabase, startPostgres } from '../../test/helpers/postgres';
import type { StartedPostgres } from '../../test/helpers/postgres';
import { progress } from './scale';
import type { Child } from './spawn';
import { spawnShipped } from './spawn';
import { benchClient } from './temporal';

export interface BenchTenureOptions {
  temporalAddress: string;
  /** Apps besides the identity provider (every person gets every system). @default 1 */
  apps?: number;
  /** Policy `systems[].rateLimit` of the identity provider. */
  idpRateLimit?: { requestsPerSecond: number; concurrency?: number };
  /** The identity provider's stand-in answers 429 past this many requests a second, as a vendor's API does. */
  idpPeerLimit?: number;
  /** Worker processes on the task queue. @default 1 */
  workers?: number;
  /** More policy sections (e.g. `guard`). */
  policy?: Record<string, unknown>;
  /** More variables for the worker processes (e.g. `TENURE_WORKER_*` tuning). */
  workerVars?: Record<string, string>;
}

export interface BenchTenure {
  idp: ScimPeer;
  apps: ScimPeer[];
  peers: ScimPeer[];
  workers: Child[];
  intake: Child;
  intakeUrl: string;
  webhookSecret: string;
  taskQueue: string;
  vars: Record<string, string>;
  client: Client;
  /** A fresh signed-webhook client (one per sender, as separate HR senders are). */
  /** An HR sender; `onOverloaded` is told of each 503 `overloaded` it waits out and resends after. */
  sender(timeoutMs?: number, onOverloaded?: () => void): TenureClient;
  /** Rows in the audit store. */
  auditRows(): Promise<number>;
  /** The audit store's PostgreSQL (postmaster) process id. */
  postgresPid: number;
  /** HR key → when the person's last account write happened in any stand-in (ms since epoch). */
  lastAccountWrite(): Map<string, number>;
  /** HR key → accounts across the stand-ins (active or not). */
  accountsByPerson(): Map<string, { system: string; active: boolean; lastModified: number }[]>;
  stop(): Promise<void>;
}

let postgres: StartedPostgres | undefined;

function workerTuningFromEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of WORKER_TUNING_VARIABLES) {
    const v = process.env[name];
    if (v !== undefined && v !== '') out[name] = v;
  }
  return out;
}

/** Intake settings from this process's environment (`TENURE_INTAKE_MAX_IN_FLIGHT=50 npm run bench`), but not its port. */
function tuningFromEnv(prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(process.env)) {
    if (name.startsWith(prefix) && !/_(PORT|HOST)$/.test(name) && v !== undefined && v !== '') out[name] = v;
  }
  return out;
}

/** A database of its own on the bench's PostgreSQL (started once per bench process, stopped when it exits). */
export async function benchDatabase(): Promise<string> {
  if (!postgres) {
    progress('starting PostgreSQL for the audit store');
    postgres = await startPostgres({ fsync: process.env.BENCH_PG_FSYNC !== 'off' });
    const pg = postgres;
    process.once('beforeExit', () => void pg.stop());
  }
  return createDatabase(postgres.url, `bench_${randomBytes(4).toString('hex')}`);
}

/** The audit store's PostgreSQL (postmaster) process id, once `benchDatabase` has started it. */
export function benchPostgresPid(): number {
  return postgres?.pid ?? -1;
}

export async function startBenchTenure(o: BenchTenureOptions): Promise<BenchTenure> {
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const databaseUrl = await benchDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'tenure-bench-'));
    stops.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));

    const idp = await startScimPeer({
      name: 'idp',
      ...(o.idpPeerLimit ? { rateLimit: { requestsPerSecond: o.idpPeerLimit } } : {}),
    });
    stops.push(() => idp.close());
    const apps: ScimPeer[] = [];
    for (let i = 0; i < (o.apps ?? 1); i += 1) {
      const peer = await startScimPeer({ name: `app${i + 1}` });
      stops.push(() => peer.close());
      apps.push(peer);
    }
    const systems = [
      {
        id: 'idp',
        name: 'Identity provider',
        kind: 'identity-provider',
        connector: { type: 'scim', baseUrl: idp.url },
        ...(o.idpRateLimit ? { rateLimit: o.idpRateLimit } : {}),
      },
      ...apps.map((peer, i) => ({
        id: `app${i + 1}`,
        name: `App ${i + 1}`,
        kind: 'app',
        connector: { type: 'scim', baseUrl: peer.url },
        dependsOn: ['idp'],
      })),
    ];
    const policyFile = join(dir, 'policy.yaml');
    writeFileSync(
      policyFile,
      stringify({
        timing: { activationTime: '09:00', defaultTimeZone: 'UTC' },
        systems,
        birthright: [{ name: 'everyone', systems: systems.map((s) => s.id) }],
        ...o.policy,
      }),
    );
    const webhookSecret = randomBytes(24).toString('hex');
    const taskQueue = `bench-${randomBytes(4).toString('hex')}`;
    const intakePort = await freePort();
    const vars: Record<string, string> = {
      TEMPORAL_ADDRESS: o.temporalAddress,
      TEMPORAL_NAMESPACE: 'default',
      TENURE_TASK_QUEUE: taskQueue,
      TENURE_POLICY: policyFile,
      TENURE_CODEC_KEYS: `k1:${generateKey()}`,
      TENURE_WEBHOOK_SECRET: webhookSecret,
      TENURE_INTAKE_PORT: String(intakePort),
      DATABASE_URL: databaseUrl,
      TENURE_LOG_LEVEL: process.env.TENURE_LOG_LEVEL ?? 'warn',
    };
    const workers: Child[] = [];
    for (let i = 0; i < (o.workers ?? 1); i += 1) {
      const w = spawnShipped(
        'src/workers/main.ts',
        {
          ...vars,
          TENURE_LOG_LEVEL: 'info',
          TENURE_WORKER_IDENTITY: `worker-${i + 1}`,
          // Tuning experiments: `TENURE_WORKER_MAX_CACHED_WORKFLOWS=150 npm run bench` reaches the worker.
          ...workerTuningFromEnv(),
          ...o.workerVars,
        },
        `worker-${i + 1}`,
        [],
        // e.g. BENCH_WORKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the worker.
        process.env.BENCH_WORKER_NODE_ARGS?.split(' ').filter(Boolean) ?? [],
      );
      stops.push(() => w.stop());
      workers.push(w);
    }
    const intake = spawnShipped(
      'src/client/intake-main.ts',
      { ...vars, TENURE_LOG_LEVEL: 'info', ...tuningFromEnv('TENURE_INTAKE_') },
      'intake',
    );
    stops.push(() => intake.stop());
    progress('waiting for the worker and intake processes');
    for (const w of workers) await w.waitForLine(/worker started/, 300_000);
    await intake.waitForLine(/intake server listening/, 120_000);

    // Tenure's payloads and memos are encrypted: the bench reads them as the CLI does, with the worker's keys.
    const { client, close } = await benchClient(
      o.temporalAddress,
      dataConverter(loadKeyRing({ TENURE_CODEC_KEYS: vars.TENURE_CODEC_KEYS })),
    );
    stops.push(close);
    const audit = new Pool({ connectionString: databaseUrl, max: 1 });
    stops.push(() => audit.end());
    const peers = [idp, ...apps];
    const intakeUrl = `http://127.0.0.1:${intakePort}`;
    const accountsByPerson = (): Map<string, { system: string; active: boolean; lastModified: number }[]> => {
      const out = new Map<string, { system: string; active: boolean; lastModified: number }[]>();
      for (const peer of peers) {
        for (const u of peer.users()) {
          if (!u.externalId) continue;
          const list = out.get(u.externalId) ?? [];
          list.push({ system: peer.name, active: u.active, lastModified: u.lastModified });
          out.set(u.externalId, list);
        }
      }
      return out;
    };
    return {
      idp,
      apps,
      peers,
      workers,
      intake,
      intakeUrl,
      webhookSecret,
      taskQueue,
      vars,
      client,
      sender: (timeoutMs, onOverloaded) =>
        new TenureClient({
          url: intakeUrl,
          secret: webhookSecret,
          ...(timeoutMs ? { timeoutMs } : {}),
          ...(onOverloaded ? { onOverloaded } : {}),
        }),
      async auditRows() {
        const r = await audit.query<{ n: string }>(`SELECT count(*) AS n FROM ${AUDIT_TABLE}`);
        return Number(r.rows[0]?.n ?? 0);
      },
      postgresPid: benchPostgresPid(),
      lastAccountWrite() {
        const out = new Map<string, number>();
        for (const [hrId, accounts] of accountsByPerson()) {
          out.set(hrId, Math.max(...accounts.map((a) => a.lastModified)));
        }
        return out;
      },
      accountsByPerson,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export async function stopPostgres(): Promise<void> {
  await postgres?.stop();
  postgres = undefined;
}

/** A new hire, unique to this run: hired on `hireDate` (past: the run starts at once) in UTC. */
export function hireRecord(prefix: string, i: number, hireDate: string): EmployeeRecord {
  const hrId = `${prefix}${i}`;
  return {
    hrId,
    legalFirstName: 'Bench',
    legalLastName: `Person${i}`,
    personalEmail: `bench.${hrId.toLowerCase()}@personal.example`,
    workEmail: `bench.${hrId.toLowerCase()}@acme.example`,
    department: i % 3 === 0 ? 'Engineering' : i % 3 === 1 ? 'Sales' : 'Finance',
    title: 'Analyst',
    location: { name: 'Remote', countryCode: 'PT', timeZone: 'UTC' },
    employmentType: 'employee',
    status: 'pre_hire',
    hireDate,
    sourceUpdatedAt: new Date().toISOString(),
  };
}

export interface SendResult {
  hrId: string;
  eventId: string;
  sentAt: number;
  answeredAt: number;
  status: number;
  outcome: string;
  timedOut: boolean;
  /** 503 `overloaded` answers waited out (Retry-After) and resent before this answer. */
  overloaded: number;
  error?: string;
}

/**
 * Sends each event signed through the intake, `senders` at a time (each sender its own HR client); records when
 * it was sent, answered, and how. A sender that waits past its timeout (30 s, the client's default) timed out.
 */
export async function sendEvents(
  t: BenchTenure,
  events: { eventId: string; kind: 'hire' | 'termination'; record: EmployeeRecord }[],
  senders: number,
  timeoutMs?: number,
): Promise<SendResult[]> {
  const out: SendResult[] = [];
  let next = 0;
  const lanes = Array.from({ length: Math.min(senders, events.length) }, async () => {
    let overloaded = 0;
    const sender = t.sender(timeoutMs, () => {
      overloaded += 1;
    });
    for (;;) {
      const e = events[next++];
      if (!e) return;
      const sentAt = Date.now();
      overloaded = 0;
      try {
        const a = await sender.sendEvent(e);
        out.push({
          hrId: e.record.hrId,
          eventId: e.eventId,
          sentAt,
          answeredAt: Date.now(),
          status: a.status,
          outcome: a.outcome,
          timedOut: false,
          overloaded,
        });
      } catch (err) {
        const code = (err as { code?: string }).code;
        out.push({
          hrId: e.record.hrId,
          eventId: e.eventId,
          sentAt,
          answeredAt: Date.now(),
          status: 0,
          outcome: 'error',
          timedOut: code === 'ECONNABORTED' || code === 'ETIMEDOUT',
          overloaded,
          error: code ?? (err as Error).message,
        });
      }
    }
  });
  await Promise.all(lanes);
  return out;
}
