/**
 * Opening the audit store (DESIGN §6): Postgres through `pg` when a database URL is given; otherwise the
 * embedded default, PGlite (WASM Postgres, same SQL) in a data directory or in memory.
 *
 * An embedded data directory belongs to one process at a time (see owner.ts). `npm start` serves it with
 * `startEmbeddedAuditServer`, and every client — its own worker and intake, the `tenure audit` CLI in
 * another terminal — reaches it through `pg`. `openAuditStore({ dataDir })` finds that server by itself:
 * it connects to a running one, or opens the directory in-process when no process has it.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Pool } from 'pg';
import { pgDriver, pgliteDriver } from './driver';
import type { OwnerInfo } from './owner';
import { ownerAlive, ownerFile, readOwner, tryClaim } from './owner';
import type { SqlAuditStoreOptions } from './store';
import { SqlAuditStore, ensureSchema } from './store';
import { PgliteWireServer, randomPassword } from './wire-server';
import { becomeWriter } from './writer-role';

export type { Actor, AuditStore, EvidenceInput, EvidenceQuery, EvidenceRecord, VerifyReport } from './types';
export { GENESIS_HASH, canonicalJson, recordHash } from './canonical';
export { AUDIT_TABLE, SqlAuditStore } from './store';
export { ownerFile } from './owner';
export { WRITER_ROLE } from './writer-role';

export interface OpenAuditStoreOptions extends SqlAuditStoreOptions {
  /** Postgres connection string; wins over `dataDir`. */
  databaseUrl?: string;
  /** Embedded PGlite data directory; omitted (and no `databaseUrl`): in memory, gone on close. */
  dataDir?: string;
  /** Connections in the `pg` pool. @default 4 */
  maxConnections?: number;
  /** How long to wait for another process that has `dataDir` open in-process to let go. @default 10000 */
  waitMs?: number;
}

function pgPool(url: string, max: number): Pool {
  return new Pool({ connectionString: url, max, idleTimeoutMillis: 10_000 });
}

function describeOwner(owner: OwnerInfo): string {
  const where = owner.url ? ` at ${new URL(owner.url).host}` : '';
  return `process ${owner.pid}${owner.host ? ` on ${owner.host}` : ''} (${owner.mode === 'server' ? `serving it${where}` : 'in-process'})`;
}

function busyMessage(dataDir: string, owner: OwnerInfo): string {
  return (
    `the embedded audit store ${dataDir} is open in ${describeOwner(owner)}, and an embedded (PGlite) data ` +
    `directory can be opened by one process only. Stop that process, or have it serve the store ` +
    `(startEmbeddedAuditServer, as \`npm start\` does) so others connect to it, or set DATABASE_URL to a Postgres database.`
  );
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function openPg(url: string, opts: OpenAuditStoreOptions): Promise<SqlAuditStore> {
  return SqlAuditStore.open(pgDriver(pgPool(url, opts.maxConnections ?? 4)), opts);
}

/**
 * An embedded PGlite with the schema in place (owned by the superuser) and its session turned into the
 * `tenure_writer` role for good (writer-role.ts). Closes it if that fails.
 */
async function asWriter(db: PGlite): Promise<PGlite> {
  try {
    await ensureSchema(pgliteDriver(db));
    await becomeWriter(db);
    return db;
  } catch (err) {
    if (!db.closed) await db.close().catch(() => undefined);
    throw err;
  }
}

/**
 * Opens the audit store; creates its table when missing. An embedded store (in memory or a data directory) runs
 * as `tenure_writer`: it can read and append evidence, not change, delete or un-trigger it.
 */
export async function openAuditStore(opts: OpenAuditStoreOptions = {}): Promise<SqlAuditStore> {
  if (opts.databaseUrl) return openPg(opts.databaseUrl, opts);
  if (!opts.dataDir) return SqlAuditStore.open(pgliteDriver(await asWriter(await PGlite.create())), opts);

  const dataDir = resolve(opts.dataDir);
  const deadline = Date.now() + (opts.waitMs ?? 10_000);
  for (;;) {
    const owner = readOwner(dataDir);
    if (owner && ownerAlive(owner)) {
      if (owner.mode === 'server' && owner.url) {
        try {
          return await openPg(owner.url, opts);
        } catch (err) {
          throw new Error(
            `the embedded audit store ${dataDir} is served by ${describeOwner(owner)}, but connecting failed: ` +
              `${(err as Error).message}. If that process is gone, delete ${ownerFile(dataDir)}.`,
          );
        }
      }
      if (owner.pid === process.pid || Date.now() > deadline) throw new Error(busyMessage(dataDir, owner));
      await sleep(200);
      continue;
    }
    mkdirSync(dataDir, { recursive: true });
    const claim = tryClaim(dataDir, 'direct');
    if (!claim) continue;
    try {
      const db = await asWriter(await PGlite.create({ dataDir }));
      return await SqlAuditStore.open(
        pgliteDriver(db, () => Promise.resolve(claim.release())),
        opts,
      );
    } catch (err) {
      claim.release();
      throw err;
    }
  }
}

export interface EmbeddedAuditServer {
  /** `postgres://postgres:<password>@127.0.0.1:<port>/postgres` — for `openAuditStore({ databaseUrl })`. */
  databaseUrl: string;
  port: number;
  /** Closes every client connection (rolling back open transactions), then the database. */
  close(): Promise<void>;
}

export interface EmbeddedAuditServerOptions {
  dataDir: string;
  /** Port on 127.0.0.1; 0 (the default) picks a free one — clients find it in the owner file. */
  port?: number;
  /** How long to wait for a process that has `dataDir` open in-process (a CLI run) to let go. @default 10000 */
  waitMs?: number;
  /** See PgliteWireServer. @default 30000 */
  idleInTransactionMs?: number;
}

/**
 * Opens the embedded data directory in this process and serves it on 127.0.0.1 over the Postgres wire
 * protocol (password-protected; the URL with the password is in the owner file, mode 600). Every connection
 * shares the one session, which runs as `tenure_writer`; the server refuses statements that would change that. Publishes the URL
 * in `<dataDir>.owner.json`, where `openAuditStore({ dataDir })` in any process finds it.
 */
export async function startEmbeddedAuditServer(opts: EmbeddedAuditServerOptions): Promise<EmbeddedAuditServer> {
  const dataDir = resolve(opts.dataDir);
  const deadline = Date.now() + (opts.waitMs ?? 10_000);
  mkdirSync(dataDir, { recursive: true });
  for (;;) {
    const claim = tryClaim(dataDir, 'server');
    if (!claim) {
      const owner = readOwner(dataDir);
      if (!owner || !ownerAlive(owner)) continue;
      if (owner.mode === 'server' || owner.pid === process.pid || Date.now() > deadline) {
        throw new Error(busyMessage(dataDir, owner));
      }
      await sleep(200);
      continue;
    }
    let db: PGlite | undefined;
    let server: PgliteWireServer | undefined;
    try {
      db = await asWriter(await PGlite.create({ dataDir }));
      const password = randomPassword();
      server = new PgliteWireServer(db, { password, idleInTransactionMs: opts.idleInTransactionMs });
      const port = await server.listen(opts.port ?? 0, '127.0.0.1');
      const databaseUrl = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
      claim.publish(databaseUrl);
      const [s, d] = [server, db];
      let closing: Promise<void> | undefined;
      return {
        databaseUrl,
        port,
        close() {
          closing ??= (async () => {
            try {
              await s.close();
              await d.close();
            } finally {
              claim.release();
            }
          })();
          return closing;
        },
      };
    } catch (err) {
      await server?.close().catch(() => undefined);
      if (db && !db.closed) await db.close().catch(() => undefined);
      claim.release();
      throw err;
    }
  }
}
