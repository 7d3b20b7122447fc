/**
 * The audit store on SQL: one table, the same statements on Postgres and on PGlite (DESIGN §6).
 *
 * Appends are serialized twice: in this process by a mutex (so concurrent appends queue here rather than
 * holding pooled connections), and across processes and connections by a transaction-scoped advisory lock
 * taken before the head of the chain is read. Appends that queue while a transaction writes are written together
 * in the next one (group commit). Reads page by keyset (`seq > last ORDER BY seq LIMIT n`), so
 * verify and export hold one page in memory, whatever the table's size.
 */
import { GENESIS_HASH, canonicalJson, recordHash } from './canonical';
import type { SqlDriver, SqlQueryable } from './driver';
import { Mutex } from './driver';
import type { AuditStore, EvidenceInput, EvidenceQuery, EvidenceRecord, VerifyReport } from './types';

export const AUDIT_TABLE = 'tenure_audit_evidence';

/** Idempotent DDL, run under the same advisory lock as appends so two processes starting together agree. */
export const SCHEMA_SQL: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS ${AUDIT_TABLE} (
    seq         bigint PRIMARY KEY CHECK (seq > 0),
    key         text NOT NULL UNIQUE,
    at          text COLLATE "C" NOT NULL,
    hr_id       text,
    system_id   text,
    actor_type  text NOT NULL,
    actor_id    text NOT NULL,
    action      text NOT NULL,
    request_id  text,
    outcome     text NOT NULL,
    detail      text,
    read_back   text,
    recorded_at text NOT NULL,
    prev_hash   text NOT NULL,
    hash        text NOT NULL
  )`,
  `CREATE INDEX IF NOT EXISTS ${AUDIT_TABLE}_hr_id_idx ON ${AUDIT_TABLE} (hr_id, seq)`,
  `CREATE INDEX IF NOT EXISTS ${AUDIT_TABLE}_at_idx ON ${AUDIT_TABLE} (at)`,
  `CREATE OR REPLACE FUNCTION ${AUDIT_TABLE}_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    RAISE EXCEPTION '${AUDIT_TABLE} is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
  END $$`,
  `DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgname = '${AUDIT_TABLE}_append_only' AND tgrelid = '${AUDIT_TABLE}'::regclass) THEN
      CREATE TRIGGER ${AUDIT_TABLE}_append_only BEFORE UPDATE OR DELETE ON ${AUDIT_TABLE}
        FOR EACH ROW EXECUTE FUNCTION ${AUDIT_TABLE}_refuse_change();
      CREATE TRIGGER ${AUDIT_TABLE}_no_truncate BEFORE TRUNCATE ON ${AUDIT_TABLE}
        FOR EACH STATEMENT EXECUTE FUNCTION ${AUDIT_TABLE}_refuse_change();
    END IF;
  END $$`,
];

/** One lock id for "the chain's head", shared by every Tenure process on the database. */
const LOCK_SQL = `SELECT pg_advisory_xact_lock(hashtextextended('${AUDIT_TABLE}', 0))`;

const COLUMNS =
  'seq, key, at, hr_id, system_id, actor_type, actor_id, action, request_id, outcome, detail, read_back, recorded_at, prev_hash, hash';

interface Row {
  seq: number | string;
  key: string;
  at: string;
  hr_id: string | null;
  system_id: string | null;
  actor_type: string;
  actor_id: string;
  action: string;
  request_id: string | null;
  outcome: string;
  detail: string | null;
  read_back: string | null;
  recorded_at: string;
  prev_hash: string;
  hash: string;
}

export interface SqlAuditStoreOptions {
  /** Rows per page when streaming and verifying. @default 500 */
  pageSize?: number;
  /** Diagnostics: called after every statement with the number of rows it returned (tests, benchmarks). */
  onQuery?: (info: { sql: string; rows: number }) => void;
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;
const ISO_DATE_OR_INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** An ISO 8601 instant in the one form the store keeps (UTC, milliseconds), so text order is time order. */
function normalizeInstant(value: string, field: string, pattern = ISO_INSTANT): string {
  const ms = pattern.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new TypeError(`${field} must be an ISO 8601 instant, got ${JSON.stringify(value)}`);
  return new Date(ms).toISOString();
}

function requireText(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${field} must be a non-empty string`);
  return value;
}

function optionalText(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new TypeError(`${field} must be a string`);
  return value;
}

/** A plain JSON object, normalized through JSON (dates become strings, undefined members go). */
function optionalObject(value: unknown, field: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new TypeError(`${field} must be a JSON object`);
  return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
}

/** Validates and normalizes an input; the record's content apart from the chain fields. */
function normalizeInput(input: EvidenceInput): EvidenceInput {
  const actor = input.actor as { type?: unknown; id?: unknown } | undefined;
  if (!actor || (actor.type !== 'system' && actor.type !== 'person')) {
    throw new TypeError("actor.type must be 'system' or 'person'");
  }
  const out: EvidenceInput = {
    key: requireText(input.key, 'key'),
    at: normalizeInstant(requireText(input.at, 'at'), 'at'),
    actor: { type: actor.type, id: requireText(actor.id, 'actor.id') },
    action: requireText(input.action, 'action'),
    outcome: requireText(input.outcome, 'outcome'),
  };
  const hrId = optionalText(input.hrId, 'hrId');
  const systemId = optionalText(input.systemId, 'systemId');
  const requestId = optionalText(input.requestId, 'requestId');
  const detail = optionalObject(input.detail, 'detail');
  const readBack = optionalObject(input.readBack, 'readBack');
  if (hrId !== undefined) out.hrId = hrId;
  if (systemId !== undefined) out.systemId = systemId;
  if (requestId !== undefined) out.requestId = requestId;
  if (detail !== undefined) out.detail = detail;
  if (readBack !== undefined) out.readBack = readBack;
  return out;
}

function parseJsonColumn(text: string | null, seq: number, column: string): Record<string, unknown> | undefined {
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`audit record ${seq}: column ${column} is not valid JSON`);
  }
}

export function rowToRecord(row: Row): EvidenceRecord {
  const seq = Number(row.seq);
  const record: EvidenceRecord = {
    seq,
    key: row.key,
    at: row.at,
    actor: { type: row.actor_type as 'system' | 'person', id: row.actor_id },
    action: row.action,
    outcome: row.outcome,
    recordedAt: row.recorded_at,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
  if (row.hr_id !== null) record.hrId = row.hr_id;
  if (row.system_id !== null) record.systemId = row.system_id;
  if (row.request_id !== null) record.requestId = row.request_id;
  const detail = parseJsonColumn(row.detail, seq, 'detail');
  const readBack = parseJsonColumn(row.read_back, seq, 'read_back');
  if (detail !== undefined) record.detail = detail;
  if (readBack !== undefined) record.readBack = readBack;
  return record;
}

function recordParams(r: EvidenceRecord): unknown[] {
  return [
    r.seq,
    r.key,
    r.at,
    r.hrId ?? null,
    r.systemId ?? null,
    r.actor.type,
    r.actor.id,
    r.action,
    r.requestId ?? null,
    r.outcome,
    r.detail === undefined ? null : canonicalJson(r.detail),
    r.readBack === undefined ? null : canonicalJson(r.readBack),
    r.recordedAt,
    r.prevHash,
    r.hash,
  ];
}

/** WHERE clause and parameters for a query, with keyset pagination after `afterSeq`. */
function whereClause(query: EvidenceQuery, afterSeq?: number): { where: string; params: unknown[] } {
  const conditions: string[] = [];
  const params: unknown[] = [];
  const after = afterSeq ?? query.afterSeq;
  if (after !== undefined) {
    params.push(after);
    conditions.push(`seq > $${params.length}`);
  }
  if (query.since !== undefined) {
    params.push(normalizeInstant(query.since, 'since', ISO_DATE_OR_INSTANT));
    conditions.push(`at >= $${params.length}`);
  }
  if (query.hrId !== undefined) {
    params.push(query.hrId);
    conditions.push(`hr_id = $${params.length}`);
  }
  if (query.throughSeq !== undefined) {
    params.push(query.throughSeq);
    conditions.push(`seq <= $${params.length}`);
  }
  return { where: conditions.length ? `WHERE ${conditions.join(' AND ')}` : '', params };
}

const SCHEMA_PRESENT_SQL = `SELECT to_regclass('${AUDIT_TABLE}') IS NOT NULL
  AND EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = '${AUDIT_TABLE}_append_only') AS present`;

/**
 * Creates the table, indexes and trigger when they are missing. When they exist it changes nothing, so a
 * production role with only SELECT and INSERT on the table (which cannot disable the trigger) can open the store.
 */
export async function ensureSchema(db: SqlDriver): Promise<void> {
  const [state] = await db.query<{ present: boolean }>(SCHEMA_PRESENT_SQL);
  if (state?.present) return;
  await db.transaction(async (tx) => {
    await tx.query(LOCK_SQL);
    for (const statement of SCHEMA_SQL) await tx.query(statement);
  });
}

/** Most records one group commit writes (the rest wait for the next). */
const MAX_GROUP_COMMIT = 500;

interface PendingAppend {
  content: EvidenceInput;
  resolve: (record: EvidenceRecord) => void;
  reject: (err: unknown) => void;
}

export class SqlAuditStore implements AuditStore {
  private readonly appendMutex = new Mutex();
  /** Appends waiting for the next group commit, and the writing of them while it runs. */
  private readonly pending: PendingAppend[] = [];
  private flushing: Promise<void> | undefined;
  private readonly pageSize: number;
  private closed = false;

  private constructor(
    private readonly db: SqlDriver,
    private readonly opts: SqlAuditStoreOptions,
  ) {
    this.pageSize = opts.pageSize ?? 500;
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1)
      throw new RangeError('pageSize must be a positive integer');
  }

  /** Creates the schema when missing, then returns the store. Closes `db` if that fails. */
  static async open(db: SqlDriver, opts: SqlAuditStoreOptions = {}): Promise<SqlAuditStore> {
    try {
      await ensureSchema(db);
      return new SqlAuditStore(db, opts);
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
  }

  /** Which engine answers: 'postgres' (through `pg`, a server or the embedded wire server) or 'pglite'. */
  get backend(): SqlDriver['kind'] {
    return this.db.kind;
  }

  private async q<R extends object>(on: SqlQueryable, sql: string, params?: readonly unknown[]): Promise<R[]> {
    const rows = await on.query<R>(sql, params);
    this.opts.onQuery?.({ sql, rows: rows.length });
    return rows;
  }

  /**
   * Appends one record, idempotent per key. Appends that arrive while a transaction is writing are written together
   * in the next one (group commit): one lock, one chain extension and one INSERT for all of them, so a burst costs
   * the database a handful of statements per batch instead of seven per record. Nothing waits for a batch to fill:
   * an append that finds no write in progress starts one at once.
   */
  async append(input: EvidenceInput): Promise<EvidenceRecord> {
    this.assertOpen();
    const content = normalizeInput(input);
    return new Promise<EvidenceRecord>((resolve, reject) => {
      this.pending.push({ content, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  /** Writes what is pending, batch after batch, until nothing is. */
  private async flush(): Promise<void> {
    try {
      // Let the appends of this turn of the event loop join the first batch.
      await Promise.resolve();
      while (this.pending.length > 0) await this.writeBatch(this.pending.splice(0, MAX_GROUP_COMMIT));
    } finally {
      // In the same turn as the last check of `pending`: an append after it starts the next flush.
      this.flushing = undefined;
    }
  }

  private async writeBatch(batch: PendingAppend[]): Promise<void> {
    try {
      const records = await this.writeLocked(batch.map((b) => b.content));
      batch.forEach((b, i) => b.resolve(records[i] as EvidenceRecord));
    } catch (err) {
      if (batch.length === 1) {
        batch[0]?.reject(err);
        return;
      }
      // Whatever the database refused fails alone: each record of the batch is written on its own.
      for (const b of batch) {
        try {
          const [record] = await this.writeLocked([b.content]);
          b.resolve(record as EvidenceRecord);
        } catch (one) {
          b.reject(one);
        }
      }
    }
  }

  /**
   * Appends many records in one transaction (one lock, one chain extension): what a reconciliation writes for its
   * findings. Idempotent per key like `append`; answers the records in input order.
   */
  async appendMany(inputs: readonly EvidenceInput[]): Promise<EvidenceRecord[]> {
    this.assertOpen();
    const contents = inputs.map(normalizeInput);
    if (contents.length === 0) return [];
    return this.writeLocked(contents);
  }

  /** `writeMany` behind this process's mutex (one transaction at a time holds a pooled connection). */
  private writeLocked(contents: readonly EvidenceInput[]): Promise<EvidenceRecord[]> {
    return this.appendMutex.run(() => this.writeMany(contents));
  }

  /** One transaction: the lock, the chain's head, the keys already written, then one multi-row INSERT. */
  private writeMany(contents: readonly EvidenceInput[]): Promise<EvidenceRecord[]> {
    return this.db.transaction(async (tx) => {
      await this.q(tx, LOCK_SQL);
      const head = await this.q<{ seq: number | string; hash: string }>(
        tx,
        `SELECT seq, hash FROM ${AUDIT_TABLE} ORDER BY seq DESC LIMIT 1`,
      );
      let seq = head[0] ? Number(head[0].seq) : 0;
      let prevHash = head[0]?.hash ?? GENESIS_HASH;
      // The keys already written, in one query rather than one per record.
      const written = new Map<string, EvidenceRecord>(
        (
          await this.q<Row>(tx, `SELECT ${COLUMNS} FROM ${AUDIT_TABLE} WHERE key = ANY($1::text[])`, [
            contents.map((c) => c.key),
          ])
        ).map((row) => [row.key, rowToRecord(row)]),
      );
      const out: EvidenceRecord[] = [];
      const rows: EvidenceRecord[] = [];
      for (const content of contents) {
        const existing = written.get(content.key);
        if (existing) {
          out.push(existing);
          continue;
        }
        const unhashed: Omit<EvidenceRecord, 'hash'> = {
          ...content,
          seq: ++seq,
          prevHash,
          recordedAt: new Date().toISOString(),
        };
        const record: EvidenceRecord = { ...unhashed, hash: recordHash(unhashed) };
        prevHash = record.hash;
        written.set(record.key, record);
        rows.push(record);
        out.push(record);
      }
      // Multi-row INSERTs of up to 200 records (15 parameters each, far below Postgres's 65,535).
      for (let i = 0; i < rows.length; i += 200) {
        const chunk = rows.slice(i, i + 200);
        const values = chunk.map(
          (_, r) => `(${Array.from({ length: 15 }, (_x, c) => `$${r * 15 + c + 1}`).join(', ')})`,
        );
        await this.q(
          tx,
          `INSERT INTO ${AUDIT_TABLE} (${COLUMNS}) VALUES ${values.join(', ')}`,
          chunk.flatMap((record) => recordParams(record)),
        );
      }
      return out;
    });
  }

  async *stream(query: EvidenceQuery = {}): AsyncIterable<EvidenceRecord> {
    this.assertOpen();
    let after = query.afterSeq ?? 0;
    for (;;) {
      const { where, params } = whereClause(query, after);
      params.push(this.pageSize);
      const rows = await this.q<Row>(
        this.db,
        `SELECT ${COLUMNS} FROM ${AUDIT_TABLE} ${where} ORDER BY seq LIMIT $${params.length}`,
        params,
      );
      for (const row of rows) {
        const record = rowToRecord(row);
        after = record.seq;
        yield record;
      }
      if (rows.length < this.pageSize) return;
    }
  }

  async count(query: EvidenceQuery = {}): Promise<number> {
    this.assertOpen();
    const { where, params } = whereClause(query);
    const rows = await this.q<{ n: number | string }>(
      this.db,
      `SELECT count(*) AS n FROM ${AUDIT_TABLE} ${where}`,
      params,
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** The last record's seq and hash, or undefined for an empty store. */
  async head(): Promise<{ seq: number; hash: string } | undefined> {
    this.assertOpen();
    const rows = await this.q<{ seq: number | string; hash: string }>(
      this.db,
      `SELECT seq, hash FROM ${AUDIT_TABLE} ORDER BY seq DESC LIMIT 1`,
    );
    return rows[0] ? { seq: Number(rows[0].seq), hash: rows[0].hash } : undefined;
  }

  /** Walks the chain page by page: every seq present, every hash recomputed, every link checked. */
  async verify(): Promise<VerifyReport> {
    this.assertOpen();
    let expectedSeq = 1;
    let prevHash = GENESIS_HASH;
    let checked = 0;
    let head: VerifyReport['head'];
    const broken = (problem: NonNullable<VerifyReport['problem']>): VerifyReport =>
      head ? { ok: false, checked, problem, head } : { ok: false, checked, problem };
    for (;;) {
      const rows = await this.q<Row>(
        this.db,
        `SELECT ${COLUMNS} FROM ${AUDIT_TABLE} WHERE seq > $1 ORDER BY seq LIMIT $2`,
        [expectedSeq - 1, this.pageSize],
      );
      for (const row of rows) {
        const seq = Number(row.seq);
        if (seq !== expectedSeq) {
          const missing =
            seq - 1 === expectedSeq ? `record ${expectedSeq} is` : `records ${expectedSeq}–${seq - 1} are`;
          return broken({
            seq: expectedSeq,
            kind: 'deleted',
            message: `${missing} missing: the chain jumps to ${seq}`,
          });
        }
        let actual: string | undefined;
        try {
          const { hash: _stored, ...unhashed } = rowToRecord(row);
          actual = recordHash(unhashed);
        } catch {
          actual = undefined;
        }
        if (actual !== row.hash) {
          return broken({
            seq,
            key: row.key,
            kind: 'changed',
            message: `record ${seq} was changed after it was written: its content no longer matches its hash`,
          });
        }
        if (row.prev_hash !== prevHash) {
          return broken({
            seq,
            key: row.key,
            kind: 'relinked',
            message: `record ${seq} does not link to record ${seq - 1}: one of them was rewritten with a fresh hash`,
          });
        }
        checked += 1;
        prevHash = row.hash;
        expectedSeq = seq + 1;
        head = { seq, hash: row.hash };
      }
      if (rows.length < this.pageSize) return head ? { ok: true, checked, head } : { ok: true, checked };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Let queued appends finish before the connection goes.
    while (this.flushing) await this.flushing;
    await this.appendMutex.run(() => Promise.resolve());
    await this.db.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the audit store is closed');
  }
}
