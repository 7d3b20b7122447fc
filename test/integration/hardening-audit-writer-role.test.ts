/**
 * Issue 16, item 4: the embedded store runs as a role that cannot disable triggers. PGlite's session is the
 * bootstrap superuser; the embedded store turns it into `tenure_writer` (SELECT and INSERT on the evidence table,
 * nothing else), and its wire server refuses every statement that would change the role or the session
 * authorization back. Attacked here as a client of `npm start`'s server would: a `pg` client with the owner file's URL.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { Client } from 'pg';
import type { EmbeddedAuditServer, EvidenceInput, SqlAuditStore } from '../../src/activities/audit';
import {
  AUDIT_TABLE,
  WRITER_ROLE,
  openAuditStore,
  ownerFile,
  startEmbeddedAuditServer,
} from '../../src/activities/audit';
import { roleChangeIn } from '../../src/activities/audit/session-guard';
import { registerAuditCommands } from '../../src/client/cli-audit';
import { Capture, sampleEvidence } from '../helpers/audit-fixtures';

const evidence = (n: number): EvidenceInput => sampleEvidence(n);

/** Statements that change the session's role or authorization, in the forms Postgres accepts. */
const ROLE_CHANGES = [
  'RESET ROLE',
  'reset role',
  'SET ROLE postgres',
  'set role none',
  'SET SESSION ROLE postgres',
  'SET LOCAL ROLE postgres',
  'SET SESSION AUTHORIZATION postgres',
  'set session authorization default',
  'SET LOCAL SESSION AUTHORIZATION postgres',
  'RESET SESSION AUTHORIZATION',
  'RESET ALL',
  "SET session_authorization = 'postgres'",
  'SET "session_authorization" TO postgres',
  'SET "role" TO postgres',
  'SET U&"\\0072ole" TO postgres',
  '/* a comment */ SET -- and another\n ROLE postgres',
  'SELECT 1; RESET ROLE',
  `SELECT 'harmless;' AS a; SET SESSION AUTHORIZATION postgres; ALTER TABLE ${AUDIT_TABLE} DISABLE TRIGGER ALL`,
  'SELECT $$;$$; reSet ROLE',
];

describe('hardening: the embedded audit store runs as a role that cannot disable triggers', function () {
  this.timeout(120_000);
  let root: string;
  let dataDir: string;
  let server: EmbeddedAuditServer;
  let store: SqlAuditStore;
  let pg: Client;

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'tenure-writer-'));
    dataDir = join(root, 'audit');
    server = await startEmbeddedAuditServer({ dataDir });
    store = await openAuditStore({ dataDir });
    for (let i = 1; i <= 5; i++) await store.append(evidence(i));
    const owner = JSON.parse(readFileSync(ownerFile(dataDir), 'utf8')) as { url: string };
    pg = new Client({ connectionString: owner.url });
    await pg.connect();
  });
  afterEach(async () => {
    await pg.end().catch(() => undefined);
    await store.close();
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  async function who(): Promise<{ current_user: string; session_user: string }> {
    return (await pg.query<{ current_user: string; session_user: string }>('SELECT current_user, session_user'))
      .rows[0]!;
  }

  it('a wire client is tenure_writer: no ALTER TABLE, UPDATE, DELETE or TRUNCATE, and the chain stays intact', async () => {
    const before = await store.verify();
    assert.deepEqual(await who(), { current_user: WRITER_ROLE, session_user: WRITER_ROLE });
    const owner = await pg.query<{ owner: string }>(
      `SELECT tableowner AS owner FROM pg_tables WHERE tablename = '${AUDIT_TABLE}'`,
    );
    assert.equal(owner.rows[0]?.owner, 'postgres', 'the table is the superuser’s, not the writer’s');
    await assert.rejects(pg.query(`ALTER TABLE ${AUDIT_TABLE} DISABLE TRIGGER ALL`), /must be owner of table/);
    await assert.rejects(pg.query(`ALTER TABLE ${AUDIT_TABLE} DISABLE TRIGGER USER`), /must be owner of table/);
    await assert.rejects(pg.query(`UPDATE ${AUDIT_TABLE} SET outcome = 'failed'`), /permission denied for table/);
    await assert.rejects(pg.query(`DELETE FROM ${AUDIT_TABLE} WHERE seq > 3`), /permission denied for table/);
    await assert.rejects(pg.query(`TRUNCATE ${AUDIT_TABLE}`), /permission denied for table/);
    await assert.rejects(pg.query('SET session_replication_role = replica'), /permission denied to set parameter/);
    // The ways round the SET statements that the engine itself refuses to the writer.
    await assert.rejects(pg.query("SELECT set_config('role', 'postgres', false)"), /permission denied for function/);
    await assert.rejects(
      pg.query('DO $$ BEGIN EXECUTE $x$RESET SESSION AUTHORIZATION$x$; END $$'),
      /permission denied for language plpgsql/,
    );
    await assert.rejects(
      pg.query("CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE sql SET role = 'postgres' AS 'SELECT 1'"),
      /permission denied/,
    );
    await assert.rejects(pg.query('CREATE TABLE public.t (n int)'), /permission denied for schema public/);
    assert.deepEqual(await store.verify(), before);
  });

  it('the wire server refuses every statement that would change the role or the session authorization', async () => {
    for (const sql of ROLE_CHANGES) {
      await assert.rejects(
        pg.query(sql),
        (err: Error & { code?: string }) =>
          err.code === '42501' &&
          /statements that change the session's role or authorization are refused/.test(err.message),
        sql,
      );
      assert.equal((await who()).session_user, WRITER_ROLE, sql);
    }
    // Over the extended protocol (Parse/Bind/Execute) too, and inside a transaction, which it then fails.
    await assert.rejects(pg.query({ text: 'RESET ROLE', values: [] }), { code: '42501' });
    await pg.query('BEGIN');
    await assert.rejects(pg.query('SET LOCAL ROLE postgres'), { code: '42501' });
    await assert.rejects(pg.query('SELECT 1'), /current transaction is aborted/);
    await pg.query('ROLLBACK');
    // Still the writer; ordinary statements, parameterized ones and harmless SETs are untouched.
    assert.deepEqual(await who(), { current_user: WRITER_ROLE, session_user: WRITER_ROLE });
    assert.equal((await pg.query<{ s: string }>('SELECT $1::text AS s', ['reset role'])).rows[0]?.s, 'reset role');
    await pg.query("SET application_name = 'psql'");
    await pg.query('DISCARD ALL');
    assert.equal((await who()).session_user, WRITER_ROLE);
    await assert.rejects(pg.query(`DELETE FROM ${AUDIT_TABLE}`), /permission denied for table/);
    assert.equal((await store.verify()).ok, true);
  });

  it('normal appends and `tenure audit verify` still work', async () => {
    await Promise.all([6, 7, 8].map((i) => store.append(evidence(i))));
    const other = await openAuditStore({ databaseUrl: server.databaseUrl });
    await other.append(evidence(9));
    await other.close();
    const stdout = new Capture();
    const stderr = new Capture();
    let code = 0;
    const program = new Command('tenure').exitOverride();
    registerAuditCommands(program, {
      stdout,
      stderr,
      env: { TENURE_DATA_DIR: root },
      setExitCode: (c) => {
        code = c;
      },
    });
    await program.parseAsync(['audit', 'verify'], { from: 'user' });
    assert.equal(code, 0, stdout.text + stderr.text);
    assert.match(stdout.text, /^audit chain intact: 9 records, head seq 9/);
  });

  it('the in-process embedded store runs as tenure_writer too', async () => {
    const memory = await openAuditStore();
    try {
      await memory.append(evidence(1));
      const db = (memory as unknown as { db: { query<R>(sql: string): Promise<R[]> } }).db;
      assert.deepEqual(await db.query('SELECT current_user, session_user'), [
        { current_user: WRITER_ROLE, session_user: WRITER_ROLE },
      ]);
      await assert.rejects(db.query(`ALTER TABLE ${AUDIT_TABLE} DISABLE TRIGGER ALL`), /must be owner of table/);
      assert.equal((await memory.verify()).ok, true);
    } finally {
      await memory.close();
    }
  });

  it('the guard reads SQL as Postgres does: strings, quoted names and comments are not statements', () => {
    for (const sql of ROLE_CHANGES) assert.ok(roleChangeIn(sql), sql);
    for (const sql of [
      "SELECT 'RESET ROLE'",
      'SELECT $$; RESET ROLE$$',
      "SELECT E'\\'; RESET ROLE'",
      '-- RESET ROLE\nSELECT 1',
      '/* RESET ROLE /* nested */ ; SET ROLE x */ SELECT 1',
      'SELECT "reset" FROM t; SELECT role FROM t',
      'SET search_path = public',
      'SET application_name = role',
      'DISCARD ALL',
    ]) {
      assert.equal(roleChangeIn(sql), undefined, sql);
    }
  });
});
