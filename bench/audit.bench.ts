/**
 * Audit store benchmark: appends/s (one at a time, and 50 at a time from one process), verify and export
 * time for N records, on every backend, reported against PostgreSQL measured in the same run.
 *
 *   node -r tsx/cjs bench/audit.bench.ts            # N = 2000
 *   AUDIT_BENCH_N=5000 node -r tsx/cjs bench/audit.bench.ts
 *
 * Nothing is asserted: numbers depend on the machine. The ratios are what docs/decisions/0001 discusses.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { SqlAuditStore } from '../src/activities/audit';
import { openAuditStore, startEmbeddedAuditServer } from '../src/activities/audit';
import type { EvidenceInput } from '../src/activities/audit/types';
import { exportEvidence } from '../src/client/cli-audit';
import { createDatabase, startPostgres } from '../test/helpers/postgres';

const N = Number(process.env.AUDIT_BENCH_N ?? 2000);
const BATCH = 50;

interface Result {
  backend: string;
  sequentialPerSec: number;
  concurrentPerSec: number;
  verifyMs: number;
  exportMs: number;
}

interface Target {
  name: string;
  open(): Promise<{ store: SqlAuditStore; close: () => Promise<void> }>;
}

function input(run: string, i: number): EvidenceInput {
  return {
    key: `bench/${run}/${i}`,
    at: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString(),
    hrId: `E${i % 200}`,
    systemId: i % 2 ? 'idp' : 'wiki',
    actor: { type: 'system', id: 'tenure-worker' },
    action: 'ensure_account',
    requestId: `employee/E${i % 200}/hire/ev-${i}`,
    outcome: 'created',
    detail: { accountId: `acc-${i}`, policyVersion: 'bench' },
    readBack: { found: true, accountId: `acc-${i}`, active: true },
  };
}

const nullSink = (): Writable =>
  new Writable({
    write(_chunk, _enc, done) {
      done();
    },
  });

async function measure(target: Target): Promise<Result> {
  const { store, close } = await target.open();
  try {
    // Warm-up: schema, connections, JIT.
    for (let i = 0; i < 50; i++) await store.append(input('warm', i));

    let t = performance.now();
    for (let i = 0; i < N; i++) await store.append(input('seq', i));
    const sequentialPerSec = N / ((performance.now() - t) / 1000);

    t = performance.now();
    for (let i = 0; i < N; i += BATCH) {
      await Promise.all(Array.from({ length: Math.min(BATCH, N - i) }, (_, j) => store.append(input('conc', i + j))));
    }
    const concurrentPerSec = N / ((performance.now() - t) / 1000);

    t = performance.now();
    const report = await store.verify();
    const verifyMs = performance.now() - t;
    if (!report.ok || report.checked !== 2 * N + 50)
      throw new Error(`${target.name}: verify ${JSON.stringify(report)}`);

    t = performance.now();
    const exported = await exportEvidence(store, { format: 'ndjson', out: nullSink() });
    const exportMs = performance.now() - t;
    if (exported.exported !== 2 * N + 50) throw new Error(`${target.name}: exported ${exported.exported}`);

    return { backend: target.name, sequentialPerSec, concurrentPerSec, verifyMs, exportMs };
  } finally {
    await close();
  }
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'tenure-audit-bench-'));
  const durable = await startPostgres({ fsync: true });
  const fast = await startPostgres({ fsync: false });
  try {
    const targets: Target[] = [
      {
        name: 'PostgreSQL 15, fsync on (baseline)',
        open: async () => {
          const store = await openAuditStore({ databaseUrl: await createDatabase(durable.url, 'bench') });
          return { store, close: () => store.close() };
        },
      },
      {
        name: 'PostgreSQL 15, fsync off',
        open: async () => {
          const store = await openAuditStore({ databaseUrl: await createDatabase(fast.url, 'bench') });
          return { store, close: () => store.close() };
        },
      },
      {
        name: 'PGlite in-process (data dir)',
        open: async () => {
          const store = await openAuditStore({ dataDir: join(work, 'inproc') });
          return { store, close: () => store.close() };
        },
      },
      {
        name: 'PGlite served, pg over localhost',
        open: async () => {
          const server = await startEmbeddedAuditServer({ dataDir: join(work, 'served') });
          const store = await openAuditStore({ databaseUrl: server.databaseUrl });
          return {
            store,
            close: async () => {
              await store.close();
              await server.close();
            },
          };
        },
      },
      {
        name: 'PGlite in-process (memory)',
        open: async () => {
          const store = await openAuditStore();
          return { store, close: () => store.close() };
        },
      },
    ];
    const results: Result[] = [];
    for (const target of targets) {
      process.stderr.write(`measuring ${target.name}…\n`);
      results.push(await measure(target));
    }
    const base = results[0]!;
    const ratio = (x: number, b: number): string => `${(x / b).toFixed(2)}×`;
    const rows = results.map((r) => [
      r.backend,
      `${r.sequentialPerSec.toFixed(0)}/s (${ratio(r.sequentialPerSec, base.sequentialPerSec)})`,
      `${r.concurrentPerSec.toFixed(0)}/s (${ratio(r.concurrentPerSec, base.concurrentPerSec)})`,
      `${r.verifyMs.toFixed(0)} ms (${ratio(r.verifyMs, base.verifyMs)})`,
      `${r.exportMs.toFixed(0)} ms (${ratio(r.exportMs, base.exportMs)})`,
    ]);
    const header = [
      'backend',
      `appends, one at a time`,
      `appends, ${BATCH} at a time`,
      `verify ${2 * N + 50}`,
      `export ${2 * N + 50} (ndjson)`,
    ];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |\n`;
    process.stdout.write(`\nAudit store, N = ${N} per append phase; ratios against the first row (same run)\n\n`);
    process.stdout.write(line(header));
    process.stdout.write(line(widths.map((w) => '-'.repeat(w))));
    for (const r of rows) process.stdout.write(line(r));
  } finally {
    await durable.stop();
    await fast.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
