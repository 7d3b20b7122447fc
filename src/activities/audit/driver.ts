/**
 * The two ways the audit store reaches its database, behind one tiny interface so both run the SAME SQL:
 * `pg` (a Postgres server, or the embedded PGlite served over the wire protocol) and PGlite in-process.
 */
import type { PGlite } from '@electric-sql/pglite';
import type { Pool, PoolClient } from 'pg';

export interface SqlQueryable {
  /** One statement, `$1`-style parameters; the rows as plain objects keyed by column name. */
  query<R extends object>(sql: string, params?: readonly unknown[]): Promise<R[]>;
}

export interface SqlDriver extends SqlQueryable {
  readonly kind: 'postgres' | 'pglite';
  /** Runs `fn` in one transaction on one connection: COMMIT when it resolves, ROLLBACK when it throws. */
  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Serializes async work in one process (FIFO). */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

export function pgDriver(pool: Pool, onClose?: () => Promise<void>): SqlDriver {
  // An idle pooled connection that dies (server restart) emits 'error' on the pool; the pool drops it and the
  // next query opens a new one. Without a listener the error would crash the process.
  pool.on('error', () => undefined);
  const run = async <R extends object>(
    client: Pool | PoolClient,
    sql: string,
    params?: readonly unknown[],
  ): Promise<R[]> => {
    const result = await client.query<R>(sql, params ? [...params] : undefined);
    return result.rows;
  };
  return {
    kind: 'postgres',
    query: (sql, params) => run(pool, sql, params),
    async transaction(fn) {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const value = await fn({ query: (sql, params) => run(client, sql, params) });
        await client.query('COMMIT');
        return value;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw err;
      } finally {
        client.release(broken);
      }
    },
    async close() {
      await pool.end();
      await onClose?.();
    },
  };
}

/** PGlite in this process: one connection, so every call is serialized by PGlite's own mutexes. */
export function pgliteDriver(db: PGlite, onClose?: () => Promise<void>): SqlDriver {
  return {
    kind: 'pglite',
    async query<R extends object>(sql: string, params?: readonly unknown[]) {
      return (await db.query<R>(sql, params ? [...params] : undefined)).rows;
    },
    transaction(fn) {
      return db.transaction((tx) =>
        fn({
          async query<R extends object>(sql: string, params?: readonly unknown[]) {
            return (await tx.query<R>(sql, params ? [...params] : undefined)).rows;
          },
        }),
      );
    },
    async close() {
      if (!db.closed) await db.close();
      await onClose?.();
    },
  };
}
