/**
 * The audit store (DESIGN §6) on every backend it runs on, with the same test body:
 * PGlite in-process (a data directory), PGlite served over the wire protocol (what `npm start` runs), and a
 * real PostgreSQL server started by the test. Then the CLI end to end, as a child process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { PGlite } from '@electric-sql/pglite';
import { Command } from 'commander';
import { Client, Pool } from 'pg';
import type { EmbeddedAuditServer, SqlAuditStore } from '../../src/activities/audit';
import {
  AUDIT_TABLE,
  GENESIS_HASH,
  openAuditStore,
  ownerFile,
  recordHash,
  startEmbeddedAuditServer,
} from '../../src/activities/audit';
import type { AuditStore, EvidenceInput, EvidenceRecord } from '../../src/activities/audit/types';
import type { AuditCliIo } from '../../src/client/cli-audit';
import { CSV_COLUMNS, exportEvidence, registerAuditCommands } from '../../src/client/cli-audit';
import type { StartedPostgres } from '../helpers/postgres';
import { createDatabase, startPostgres } from '../helpers/postgres';

const ROOT = resolve(__dirname, '../..');
const CLI = join(ROOT, 'src/client/cli-audit.ts');

// --- fixtures -----------------------------------------------------------------------------------------

interface QueryLog {
  sql: string;
  rows: number;
}

interface Fixture {
  /** The store under test (replaced when `sql` has to close and reopen it). */
  store: SqlAuditStore;
  /** Runs SQL by hand, around the store, as an operator with psql would. Several statements allowed. */
  sql(text: string): Promise<void>;
  /** Another store on the same database over its own connections, when the backend allows one. */
  openAnother?: () => Promise<AuditStore>;
  /** Every statement the fixture's stores ran, with the rows it returned. */
  queries: QueryLog[];
  close(): Promise<void>;
}

interface Backend {
  name: string;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  fresh(): Promise<Fixture>;
}

const tmpDirs: string[] = [];
function tmp(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tmpDirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
});

/** An initialized PGlite data directory, made once and copied per test (initdb takes seconds). */
let template: string | undefined;
async function pgliteDir(): Promise<string> {
  if (!template) {
    template = join(tmp('tenure-audit-template-'), 'audit');
    const db = await PGlite.create({ dataDir: template });
    await db.close();
  }
  const dir = join(tmp('tenure-audit-'), 'audit');
  cpSync(template, dir, { recursive: true });
  return dir;
}

async function runSql(url: string, text: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

const pgliteInProcess: Backend = {
  name: 'PGlite in-process',
  setUp: () => Promise.resolve(),
  tearDown: () => Promise.resolve(),
  async fresh() {
    const dataDir = await pgliteDir();
    const queries: QueryLog[] = [];
    const open = (): Promise<SqlAuditStore> => openAuditStore({ dataDir, onQuery: (q) => queries.push(q) });
    const f: Fixture = {
      store: await open(),
      queries,
      async sql(text) {
        // One process per data directory: the store lets go, the "operator" edits, the store comes back.
        await f.store.close();
        try {
          const db = await PGlite.create({ dataDir });
          try {
            await db.exec(text);
          } finally {
            await db.close();
          }
        } finally {
          f.store = await open();
        }
      },
      close: () => f.store.close(),
    };
    return f;
  },
};

/** Edits the files of a data directory nobody has open, as the superuser (what only someone with the files can do). */
async function editFiles(dataDir: string, text: string): Promise<void> {
  const db = await PGlite.create({ dataDir });
  try {
    await db.exec(text);
  } finally {
    await db.close();
  }
}

const pgliteServed: Backend = {
  name: 'PGlite served over the wire protocol',
  setUp: () => Promise.resolve(),
  tearDown: () => Promise.resolve(),
  async fresh() {
    const dataDir = await pgliteDir();
    let server = await startEmbeddedAuditServer({ dataDir });
    const queries: QueryLog[] = [];
    const others: AuditStore[] = [];
    // Found through the owner file, as the CLI finds `npm start`'s server.
    const open = (): Promise<SqlAuditStore> => openAuditStore({ dataDir, onQuery: (q) => queries.push(q) });
    const f: Fixture = {
      store: await open(),
      queries,
      async sql(text) {
        // Through the server, every session is tenure_writer: UPDATE, DELETE, TRUNCATE and ALTER TABLE are refused.
        // Statements that only a superuser may run go to the files, with the server stopped, then it comes back.
        try {
          await runSql(server.databaseUrl, text);
          return;
        } catch (err) {
          if (!/permission denied|must be owner/.test((err as Error).message)) throw err;
          if (!/DISABLE TRIGGER/.test(text)) throw err;
        }
        for (const s of [f.store, ...others.splice(0)]) await s.close();
        await server.close();
        try {
          await editFiles(dataDir, text);
        } finally {
          server = await startEmbeddedAuditServer({ dataDir });
          f.store = await open();
        }
      },
      async openAnother() {
        const other = await openAuditStore({ databaseUrl: server.databaseUrl });
        others.push(other);
        return other;
      },
      async close() {
        for (const s of [f.store, ...others]) await s.close();
        await server.close();
      },
    };
    return f;
  },
};

let postgres: StartedPostgres | undefined;
let databases = 0;
const realPostgres: Backend = {
  name: 'PostgreSQL',
  async setUp() {
    postgres = await startPostgres();
  },
  async tearDown() {
    await postgres?.stop();
    postgres = undefined;
  },
  async fresh() {
    if (!postgres) throw new Error('postgres not started');
    const url = await createDatabase(postgres.url, `audit_${++databases}`);
    const queries: QueryLog[] = [];
    const others: AuditStore[] = [];
    const store = await openAuditStore({ databaseUrl: url, onQuery: (q) => queries.push(q) });
    return {
      store,
      queries,
      sql: (text) => runSql(url, text),
      async openAnother() {
        const other = await openAuditStore({ databaseUrl: url });
        others.push(other);
        return other;
      },
      async close() {
        for (const s of [store, ...others]) await s.close();
      },
    };
  },
};

// --- helpers ------------------------------------------------------------------------------------------

function evidence(n: number | string, overrides: Partial<EvidenceInput> = {}): EvidenceInput {
  return {
    key: `employee/E1/hire/ev1/step-${n}`,
    at: '2025-03-03T09:00:00.000Z',
    hrId: 'E1',
    systemId: 'idp',
    actor: { type: 'system', id: 'tenure-worker' },
    action: 'ensure_account',
    requestId: 'employee/E1/hire/ev1',
    outcome: 'created',
    detail: { accountId: `acc-${n}`, policyVersion: 'v1' },
    readBack: { found: true, active: true },
    ...overrides,
  };
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function seed(store: AuditStore, n: number, make: (i: number) => EvidenceInput): Promise<void> {
  for (let i = 0; i < n; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, n - i) }, (_, j) => store.append(make(i + j))));
  }
}

/** Collects what is written to it. */
class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.text += chunk.toString();
    done();
  }
}

/** Runs `tenure <args>` in-process against `store` (which the command must not close). */
async function cli(store: SqlAuditStore, args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  const stdout = new Capture();
  const stderr = new Capture();
  let code = 0;
  const borrowed = {
    append: (i: EvidenceInput) => store.append(i),
    stream: (q?: Parameters<AuditStore['stream']>[0]) => store.stream(q),
    count: (q?: Parameters<AuditStore['count']>[0]) => store.count(q),
    verify: () => store.verify(),
    head: () => store.head(),
    close: () => Promise.resolve(),
  };
  const io: Partial<AuditCliIo> = {
    stdout,
    stderr,
    openStore: () => Promise.resolve(borrowed),
    setExitCode: (c) => {
      code = c;
    },
  };
  const program = new Command('tenure').exitOverride();
  registerAuditCommands(program, io);
  await program.parseAsync(args, { from: 'user' });
  return { stdout: stdout.text, stderr: stderr.text, code };
}

const DISABLE = `ALTER TABLE ${AUDIT_TABLE} DISABLE TRIGGER USER;`;
const ENABLE = `ALTER TABLE ${AUDIT_TABLE} ENABLE TRIGGER USER;`;

// --- the same tests on every backend ------------------------------------------------------------------

for (const backend of [pgliteInProcess, pgliteServed, realPostgres]) {
  describe(`audit store on ${backend.name}`, function () {
    this.timeout(120_000);
    let f: Fixture;

    before(() => backend.setUp());
    after(() => backend.tearDown());
    beforeEach(async () => {
      f = await backend.fresh();
    });
    afterEach(async () => {
      await f?.close();
    });

    it('appends records as a hash chain from seq 1', async () => {
      const a = await f.store.append(evidence(1, { at: '2025-03-03T10:00:00+01:00' }));
      const b = await f.store.append(evidence(2, { hrId: undefined, systemId: undefined, readBack: undefined }));
      const c = await f.store.append(evidence(3, { actor: { type: 'person', id: 'U123' }, action: 'approve' }));
      assert.deepEqual(
        [a, b, c].map((r) => r.seq),
        [1, 2, 3],
      );
      assert.equal(a.prevHash, GENESIS_HASH);
      assert.equal(b.prevHash, a.hash);
      assert.equal(c.prevHash, b.hash);
      for (const r of [a, b, c]) {
        const { hash, ...rest } = r;
        assert.match(hash, /^[0-9a-f]{64}$/);
        assert.equal(recordHash(rest), hash, 'hash = sha256(canonical content + prevHash)');
        assert.ok(!Number.isNaN(Date.parse(r.recordedAt)));
      }
      assert.equal(a.at, '2025-03-03T09:00:00.000Z', 'instants are kept in one form: UTC, milliseconds');
      assert.equal(b.hrId, undefined);
      assert.deepEqual(await all(f.store.stream()), [a, b, c], 'what was returned is what is stored');
      assert.equal(await f.store.count(), 3);
      assert.equal(await f.store.count({ hrId: 'E1' }), 2);
    });

    it('returns the existing record for a key already written, and writes nothing', async () => {
      const first = await f.store.append(evidence(1));
      const again = await f.store.append(evidence(1, { outcome: 'failed', at: '2025-04-04T00:00:00Z' }));
      assert.deepEqual(again, first);
      assert.equal(await f.store.count(), 1);
    });

    it('refuses malformed evidence, naming the field', async () => {
      await assert.rejects(f.store.append(evidence(1, { at: 'yesterday' })), /at must be an ISO 8601 instant/);
      await assert.rejects(f.store.append(evidence(1, { key: '' })), /key must be a non-empty string/);
      await assert.rejects(
        f.store.append({ ...evidence(1), actor: { type: 'robot', id: 'x' } as unknown as EvidenceInput['actor'] }),
        /actor.type/,
      );
      assert.equal(await f.store.count(), 0);
    });

    it('keeps one unbroken chain under 50 concurrent appends from one process', async () => {
      const results = await Promise.all([
        ...Array.from({ length: 50 }, (_, i) => f.store.append(evidence(i))),
        ...Array.from({ length: 10 }, (_, i) => f.store.append(evidence(i * 5, { outcome: 'retried' }))),
      ]);
      const seqs = results.slice(0, 50).map((r) => r.seq);
      assert.deepEqual(
        [...seqs].sort((x, y) => x - y),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      for (let i = 0; i < 10; i++) assert.deepEqual(results[50 + i], results[i * 5], 'a retry returns the original');
      assert.equal(await f.store.count(), 50);
      assert.deepEqual((await f.store.verify()).checked, 50);
      assert.equal((await f.store.verify()).ok, true);
    });

    it('writes appends that arrive together in a few transactions (group commit); a refused record fails alone', async () => {
      f.queries.length = 0;
      await Promise.all(Array.from({ length: 40 }, (_, i) => f.store.append(evidence(`g${i}`))));
      const locks = f.queries.filter((q) => q.sql.includes('pg_advisory_xact_lock')).length;
      assert.ok(locks >= 1 && locks <= 4, `40 appends took ${locks} transactions`);
      assert.equal(await f.store.count(), 40);

      // PostgreSQL refuses a NUL character in text: only that record fails, the rest of its batch is written.
      const settled = await Promise.allSettled([
        ...Array.from({ length: 5 }, (_, i) => f.store.append(evidence(`h${i}`))),
        f.store.append(evidence('bad', { hrId: 'E\u0000' })),
        ...Array.from({ length: 5 }, (_, i) => f.store.append(evidence(`k${i}`))),
      ]);
      assert.deepEqual(
        settled.map((r) => r.status),
        [...Array<string>(5).fill('fulfilled'), 'rejected', ...Array<string>(5).fill('fulfilled')],
      );
      assert.equal(await f.store.count(), 50);
      assert.equal((await f.store.verify()).ok, true);
    });

    it('keeps one chain when two connections append at the same time', async function () {
      if (!f.openAnother) this.skip();
      const other = await f.openAnother();
      // Both sides also write 10 of the same keys, as two workers retrying one activity would.
      await Promise.all([
        ...Array.from({ length: 30 }, (_, i) => f.store.append(evidence(`a${i}`))),
        ...Array.from({ length: 30 }, (_, i) => other.append(evidence(`b${i}`))),
        ...Array.from({ length: 10 }, (_, i) => f.store.append(evidence(`shared${i}`))),
        ...Array.from({ length: 10 }, (_, i) => other.append(evidence(`shared${i}`))),
      ]);
      assert.equal(await other.count(), 70);
      const report = await f.store.verify();
      assert.deepEqual({ ok: report.ok, checked: report.checked }, { ok: true, checked: 70 });
    });

    it('verifies an untouched chain and reports its head', async () => {
      assert.deepEqual(await f.store.verify(), { ok: true, checked: 0 });
      await seed(f.store, 20, (i) => evidence(i));
      const last = (await all(f.store.stream())).at(-1);
      assert.deepEqual(await f.store.verify(), { ok: true, checked: 20, head: { seq: 20, hash: last?.hash } });
    });

    it('refuses UPDATE, DELETE and TRUNCATE on the evidence table', async () => {
      await f.store.append(evidence(1));
      // By the trigger, or (the embedded server's tenure_writer sessions) before it, by the role's privileges.
      const refused = (op: string): RegExp => new RegExp(`append-only: ${op} refused|permission denied for table`);
      await assert.rejects(f.sql(`UPDATE ${AUDIT_TABLE} SET outcome = 'failed'`), refused('UPDATE'));
      await assert.rejects(f.sql(`DELETE FROM ${AUDIT_TABLE}`), refused('DELETE'));
      await assert.rejects(f.sql(`TRUNCATE ${AUDIT_TABLE}`), refused('TRUNCATE'));
      assert.equal((await f.store.verify()).ok, true);
    });

    it('names the record that was changed by hand', async () => {
      await seed(f.store, 5, (i) => evidence(i + 1));
      await f.sql(`${DISABLE} UPDATE ${AUDIT_TABLE} SET outcome = 'adopted' WHERE seq = 3; ${ENABLE}`);
      const report = await f.store.verify();
      assert.equal(report.ok, false);
      assert.equal(report.checked, 2);
      const key = (await all(f.store.stream())).find((r) => r.seq === 3)?.key;
      assert.deepEqual({ ...report.problem, message: undefined }, { seq: 3, key, kind: 'changed', message: undefined });
      assert.match(report.problem?.message ?? '', /record 3 was changed/);
    });

    it('notices a change inside the JSON detail', async () => {
      await seed(f.store, 3, (i) => evidence(i + 1));
      await f.sql(
        `${DISABLE} UPDATE ${AUDIT_TABLE} SET detail = '{"accountId":"someone-else","policyVersion":"v1"}' WHERE seq = 2; ${ENABLE}`,
      );
      assert.deepEqual([(await f.store.verify()).problem?.seq, (await f.store.verify()).problem?.kind], [2, 'changed']);
    });

    it('reports a record deleted by hand as a gap in seq', async () => {
      await seed(f.store, 5, (i) => evidence(i + 1));
      await f.sql(`${DISABLE} DELETE FROM ${AUDIT_TABLE} WHERE seq = 3; ${ENABLE}`);
      const report = await f.store.verify();
      assert.equal(report.ok, false);
      assert.equal(report.problem?.seq, 3);
      assert.equal(report.problem?.kind, 'deleted');
      assert.match(report.problem?.message ?? '', /record 3 is missing/);
    });

    it('reports a record rewritten with a freshly computed hash as a broken link', async () => {
      await seed(f.store, 5, (i) => evidence(i + 1));
      const third = (await all(f.store.stream())).find((r) => r.seq === 3) as EvidenceRecord;
      const { hash: _old, ...forged } = { ...third, outcome: 'failed' };
      await f.sql(
        `${DISABLE} UPDATE ${AUDIT_TABLE} SET outcome = 'failed', hash = '${recordHash(forged)}' WHERE seq = 3; ${ENABLE}`,
      );
      const report = await f.store.verify();
      assert.deepEqual([report.problem?.seq, report.problem?.kind], [4, 'relinked']);
    });

    it('exports CSV and JSON from a date on, through `tenure audit export`', async () => {
      await f.store.append(evidence(1, { at: '2025-01-15T08:00:00Z' }));
      await f.store.append(evidence(2, { at: '2025-02-01T00:00:00Z', detail: { note: 'a, "quoted"\nline' } }));
      await f.store.append(evidence(3, { at: '2025-03-01T12:30:00Z', hrId: 'E2' }));
      const kept = (await all(f.store.stream())).slice(1);
      const dir = tmp('tenure-export-');

      const csvFile = join(dir, 'evidence.csv');
      const csv = await cli(f.store, ['audit', 'export', '--since', '2025-02-01', '--format', 'csv', '--out', csvFile]);
      assert.equal(csv.code, 0);
      assert.match(csv.stderr, /exported 2\/2/);
      assert.match(csv.stderr, new RegExp(`exported 2 records to .*evidence\\.csv; last seq 3 hash ${kept[1]?.hash}`));
      assert.ok(!existsSync(`${csvFile}.partial`));
      const text = readFileSync(csvFile, 'utf8');
      assert.ok(text.startsWith(`${CSV_COLUMNS.join(',')}\n`));
      assert.ok(text.includes(`"{""note"":""a, \\""quoted\\""\\nline""}"`), 'RFC 4180 quoting of the JSON column');
      assert.match(text, /\n3,employee\/E1\/hire\/ev1\/step-3,2025-03-01T12:30:00\.000Z,E2,idp,system,tenure-worker,/);
      assert.equal(text.split('\n').filter((l) => /^\d+,/.test(l)).length, 2);

      const jsonFile = join(dir, 'evidence.json');
      const json = await cli(f.store, [
        'audit',
        'export',
        '--since',
        '2025-02-01T00:00:00Z',
        '--format',
        'json',
        '--out',
        jsonFile,
      ]);
      assert.equal(json.code, 0);
      assert.deepEqual(JSON.parse(readFileSync(jsonFile, 'utf8')), kept);

      const nd = await cli(f.store, ['audit', 'export', '--since', '2025-03-01', '--format', 'ndjson']);
      assert.deepEqual(
        nd.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as EvidenceRecord),
        kept.slice(1),
      );
      const none = await cli(f.store, ['audit', 'export', '--since', '2030-01-01', '--format', 'json']);
      assert.deepEqual(JSON.parse(none.stdout), []);
      await assert.rejects(cli(f.store, ['audit', 'export', '--since', 'last tuesday']), /since must be an ISO 8601/);
    });

    it('streams an export of 5,000 records page by page, holding one page at a time', async () => {
      await seed(f.store, 5000, (i) => evidence(i, { hrId: `E${i % 40}` }));
      f.queries.length = 0;
      let written = 0;
      let maxAhead = 0;
      let maxBuffered = 0;
      // A slow reader with a small buffer: the export must wait for it rather than pile records up.
      const sink = new Writable({
        highWaterMark: 8 * 1024,
        write(chunk: Buffer, _enc, done) {
          maxBuffered = Math.max(maxBuffered, sink.writableLength);
          written += chunk.toString().split('\n').length - 1;
          const fetched = f.queries.filter((q) => q.sql.startsWith('SELECT seq, key')).reduce((n, q) => n + q.rows, 0);
          maxAhead = Math.max(maxAhead, fetched - written);
          setImmediate(done);
        },
      });
      const progress = new Capture();
      const result = await exportEvidence(f.store, { format: 'ndjson', out: sink, progress });
      assert.equal(result.exported, 5000);
      sink.end();
      await finished(sink);
      assert.equal(written, 5000);
      const pages = f.queries.filter((q) => q.sql.startsWith('SELECT seq, key'));
      assert.ok(pages.length >= 10, `read in pages (${pages.length} queries)`);
      assert.ok(Math.max(...pages.map((q) => q.rows)) <= 500, 'no query returns more than one page');
      assert.ok(maxAhead <= 500 + 50, `one page (+ the writer's small buffer) ahead at most (was ${maxAhead})`);
      assert.ok(maxBuffered < 8 * 1024 + 2048, `the writer's buffer stays bounded (was ${maxBuffered} bytes)`);
      assert.match(progress.text, /exported 1000\/5000\n[\s\S]*exported 5000\/5000\n$/);
    });

    it("prints a person's evidence timeline grouped by system", async () => {
      const base = { requestId: 'employee/E7/hire/ev9', hrId: 'E7' };
      await f.store.append(
        evidence('intake', {
          ...base,
          systemId: undefined,
          actor: { type: 'system', id: 'intake' },
          action: 'hr_event_received',
          outcome: 'accepted',
          readBack: undefined,
          detail: { eventId: 'ev9' },
          at: '2025-05-01T08:00:00Z',
        }),
      );
      await f.store.append(evidence('wiki', { ...base, systemId: 'wiki', at: '2025-05-02T09:05:00Z' }));
      await f.store.append(
        evidence('idp', {
          ...base,
          at: '2025-05-02T09:00:00Z',
          readBack: { found: true, accountId: 'u-1', active: true },
        }),
      );
      await f.store.append(
        evidence('approve', {
          ...base,
          systemId: 'wiki',
          actor: { type: 'person', id: 'E100' },
          action: 'approve',
          outcome: 'approved',
          readBack: undefined,
          detail: {},
          at: '2025-05-01T12:00:00Z',
        }),
      );
      await f.store.append(evidence('other', { hrId: 'E8' }));

      const { stdout, code } = await cli(f.store, ['evidence', 'E7']);
      assert.equal(code, 0);
      const lines = stdout.split('\n');
      assert.equal(lines[0], 'Evidence for E7: 4 records');
      const headers = lines.filter((l) => l.length > 0 && !l.startsWith(' ') && !l.startsWith('Evidence'));
      assert.deepEqual(
        headers,
        ['(no system: intake and decisions)', 'wiki', 'idp'],
        'groups in order of first activity',
      );
      const wiki = stdout.slice(stdout.indexOf('\nwiki\n'), stdout.indexOf('\nidp\n'));
      assert.ok(wiki.indexOf('approve → approved') < wiki.indexOf('ensure_account → created'), 'time order in a group');
      assert.match(wiki, /by person E100 · request employee\/E7\/hire\/ev9 · seq 4\n {6}not read back/);
      assert.match(stdout, /2025-05-02T09:00:00\.000Z {2}ensure_account → created\n {6}by system tenure-worker/);
      assert.match(stdout, /verified by read-back: accountId=u-1, active=true, found=true/);
      assert.ok(!stdout.includes('E8') && !stdout.includes('!'), 'only E7, and every record intact');

      const asJson = JSON.parse((await cli(f.store, ['evidence', 'E7', '--json'])).stdout) as {
        systems: { systemId: string | null; entries: { action: string; intact: boolean }[] }[];
      };
      assert.deepEqual(
        asJson.systems.map((s) => [s.systemId, s.entries.map((e) => e.action)]),
        [
          [null, ['hr_event_received']],
          ['wiki', ['approve', 'ensure_account']],
          ['idp', ['ensure_account']],
        ],
      );
      const missing = await cli(f.store, ['evidence', 'NOBODY']);
      assert.deepEqual([missing.code, missing.stderr], [1, 'no evidence recorded for NOBODY\n']);
    });
  });
}

// --- one process per embedded data directory, and the CLI beside a running server --------------------

function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['-r', 'tsx/cjs', CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

describe('audit store: the embedded data directory and the CLI', function () {
  this.timeout(180_000);

  it('refuses a second in-process open of a data directory, naming the fix', async () => {
    const dataDir = await pgliteDir();
    const store = await openAuditStore({ dataDir });
    try {
      await assert.rejects(
        openAuditStore({ dataDir }),
        (err: Error) =>
          /open in process \d+ .*in-process/.test(err.message) &&
          err.message.includes('startEmbeddedAuditServer') &&
          err.message.includes('DATABASE_URL'),
      );
      await assert.rejects(startEmbeddedAuditServer({ dataDir, waitMs: 0 }), /can be opened by one process only/);
    } finally {
      await store.close();
    }
    assert.ok(!existsSync(ownerFile(dataDir)), 'closing the store gives the directory back');
  });

  it('the embedded server keeps connections from interleaving, and rolls back what a client leaves open', async () => {
    const server = await startEmbeddedAuditServer({ dataDir: await pgliteDir(), idleInTransactionMs: 500 });
    const pools = [
      new Pool({ connectionString: server.databaseUrl, max: 4 }),
      new Pool({ connectionString: server.databaseUrl, max: 4 }),
    ];
    try {
      // Parameterized queries (Parse/Bind/Execute/Sync) and transactions from two pools at once. The session is
      // tenure_writer, which may create nothing: the rows go to the evidence table (n is their seq).
      const t = `${AUDIT_TABLE} (seq, key, at, actor_type, actor_id, action, outcome, recorded_at, prev_hash, hash)`;
      const row = "($1::bigint, 'k' || $1::bigint::text, '', 'system', 'test', 'a', 'o', '', '', '')";
      const answers = await Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          const pool = pools[i % 2]!;
          if (i % 10 === 0) {
            const c = await pool.connect();
            try {
              await c.query('BEGIN');
              await c.query(`INSERT INTO ${t} VALUES ${row}`, [i + 1]);
              await new Promise((r) => setTimeout(r, 2));
              await c.query('COMMIT');
            } finally {
              c.release();
            }
            return i;
          }
          const r = await pool.query<{ n: number; s: string }>('SELECT $1::int AS n, $2::text AS s', [i, `v${i}`]);
          assert.equal(r.rows[0]?.s, `v${i}`);
          return r.rows[0]?.n;
        }),
      );
      assert.deepEqual(
        answers,
        Array.from({ length: 200 }, (_, i) => i),
      );

      // A client that disconnects inside a transaction: rolled back, and the others carry on.
      const quitter = new Client({ connectionString: server.databaseUrl });
      await quitter.connect();
      await quitter.query('BEGIN');
      await quitter.query(`INSERT INTO ${t} VALUES ${row}`, [1001]);
      await quitter.end();
      // A client that goes quiet inside a transaction: closed after idleInTransactionMs, rolled back.
      const sleeper = new Client({ connectionString: server.databaseUrl });
      sleeper.on('error', () => undefined);
      await sleeper.connect();
      await sleeper.query('BEGIN');
      await sleeper.query(`INSERT INTO ${t} VALUES ${row}`, [1002]);
      const count = await pools[1]!.query<{ n: string }>(
        `SELECT count(*) AS n, min(seq)::int AS low, max(seq)::int AS high FROM ${AUDIT_TABLE}`,
      );
      assert.deepEqual(count.rows[0], { n: '20', low: 1, high: 191 });
      await assert.rejects(sleeper.query('SELECT 1'));
      await sleeper.end().catch(() => undefined);

      const wrong = new Client({ connectionString: server.databaseUrl.replace(/:[^:@/]+@/, ':wrong@') });
      await assert.rejects(wrong.connect(), /password authentication failed/);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
      await server.close();
    }
  });

  it('`tenure audit verify`, `export` and `evidence` work while `npm start` serves the embedded store', async () => {
    const dataRoot = tmp('tenure-data-');
    const dataDir = join(dataRoot, 'audit');
    let server: EmbeddedAuditServer | undefined = await startEmbeddedAuditServer({ dataDir });
    try {
      const env = { TENURE_DATA_DIR: dataRoot };
      // The "worker" appends through the server while the CLI runs in another process.
      const worker = await openAuditStore({ databaseUrl: server.databaseUrl });
      await seed(worker, 30, (i) =>
        evidence(i, { hrId: i < 3 ? 'E42' : `E${i}`, at: `2025-06-${String(1 + i).padStart(2, '0')}T10:00:00Z` }),
      );
      const appending = seed(worker, 20, (i) => evidence(`late${i}`));

      const ok = await runCli(['audit', 'verify'], env);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /^audit chain intact: \d+ records, head seq \d+ hash [0-9a-f]{64}\n$/);
      await appending;

      const timeline = await runCli(['evidence', 'E42'], env);
      assert.equal(timeline.code, 0, timeline.stderr);
      assert.match(timeline.stdout, /^Evidence for E42: 3 records\n\nidp\n/);

      const exported = await runCli(['audit', 'export', '--since', '2025-06-28', '--format', 'json'], env);
      assert.equal(exported.code, 0, exported.stderr);
      const records = JSON.parse(exported.stdout) as EvidenceRecord[];
      assert.deepEqual(
        records.map((r) => r.at),
        ['2025-06-28T10:00:00.000Z', '2025-06-29T10:00:00.000Z', '2025-06-30T10:00:00.000Z'],
      );
      assert.match(exported.stderr, /exported 3\/3/);

      // Through the server the edit is refused (the session is tenure_writer); with the files it is not.
      const edit = `${DISABLE} UPDATE ${AUDIT_TABLE} SET actor_id = 'mallory' WHERE seq = 7; ${ENABLE}`;
      await assert.rejects(runSql(server.databaseUrl, edit), /must be owner of table/);
      await worker.close();
      await server.close();
      await editFiles(dataDir, edit);
      server = await startEmbeddedAuditServer({ dataDir });
      const reader = await openAuditStore({ databaseUrl: server.databaseUrl });
      const broken = await runCli(['audit', 'verify'], env);
      assert.equal(broken.code, 1);
      const key7 = (await all(reader.stream())).find((r) => r.seq === 7)?.key ?? '';
      assert.ok(key7.length > 0);
      assert.ok(
        broken.stdout.startsWith(`audit chain BROKEN at seq 7 (key ${key7}): changed — record 7 was changed`),
        broken.stdout,
      );
      await reader.close();

      // With the server stopped, the CLI opens the directory itself.
      await server.close();
      server = undefined;
      const offline = await runCli(['audit', 'verify', '--json'], env);
      assert.equal(offline.code, 1, offline.stderr);
      assert.deepEqual((JSON.parse(offline.stdout) as { problem: { seq: number } }).problem.seq, 7);
      assert.ok(!existsSync(ownerFile(dataDir)));
    } finally {
      await server?.close();
    }
  });

  it('`tenure audit verify` uses DATABASE_URL when it is set, and says where to look when no store exists', async () => {
    const pg = await startPostgres();
    try {
      const url = await createDatabase(pg.url, 'cli_audit');
      const store = await openAuditStore({ databaseUrl: url });
      await seed(store, 3, (i) => evidence(i));
      await store.close();
      // Production advice (ADR 0001): Tenure's role may read and append, nothing else.
      await runSql(
        url,
        `CREATE ROLE tenure_app LOGIN; GRANT SELECT, INSERT ON ${AUDIT_TABLE} TO tenure_app;` +
          ` GRANT USAGE ON SCHEMA public TO tenure_app;`,
      );
      const appUrl = url.replace('postgres@', 'tenure_app@');
      const app = await openAuditStore({ databaseUrl: appUrl });
      await seed(app, 2, (i) => evidence(`app${i}`));
      await app.close();
      await assert.rejects(runSql(appUrl, `${DISABLE}`), /must be owner of table/);
      await assert.rejects(runSql(appUrl, `DELETE FROM ${AUDIT_TABLE}`), /permission denied/);
      const nowhere = tmp('tenure-nodata-');
      const ok = await runCli(['audit', 'verify'], { DATABASE_URL: url, TENURE_DATA_DIR: nowhere });
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /^audit chain intact: 5 records/);
      const missing = await runCli(['audit', 'verify'], { TENURE_DATA_DIR: nowhere });
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /no audit store at .*audit yet \(`npm start` creates it\); set DATABASE_URL/);
    } finally {
      await pg.stop();
    }
  });
});
