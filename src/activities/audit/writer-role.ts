/**
 * The embedded store's sessions run as `tenure_writer`, a role that may read and append evidence and nothing else
 * (issue 16): no UPDATE, DELETE or TRUNCATE, and not the table's owner, so it cannot disable the append-only trigger.
 *
 * PGlite is a standalone (single-user) backend: its *authenticated* user is always the bootstrap superuser, whatever
 * the session later becomes. So the engine alone cannot make the drop stick, and four doors are closed here:
 *
 * - `SET SESSION AUTHORIZATION tenure_writer` (not `SET ROLE`): `session_user` becomes the writer too, so `RESET ROLE`,
 *   `SET ROLE postgres`, `RESET ALL` and `DISCARD ALL` all leave it `tenure_writer` (measured on PGlite 0.5.17);
 * - `set_config()` (which could set `role` or `session_authorization` from inside any query) is revoked from PUBLIC;
 * - USAGE on `plpgsql` is revoked from PUBLIC, TEMP on the database and CREATE on `public` too, so the writer can
 *   neither run a `DO` block nor create a function whose body or `SET` clause would change the session;
 * - what is left is a top-level `SET SESSION AUTHORIZATION <superuser>` (or `SET session_authorization = …`), which
 *   Postgres allows because the authenticated user is a superuser. The wire server (wire-server.ts) refuses every
 *   statement that changes the role or the session authorization before it reaches PGlite.
 *
 * Code in the process that holds the PGlite handle itself can still do anything: the role protects the database from
 * what arrives as SQL (the store's own statements, every wire connection), not from the process that owns the files.
 * Whoever has the data directory's files can edit them; the signed checkpoints (checkpoint.ts) catch that.
 */
import type { PGlite } from '@electric-sql/pglite';
import { AUDIT_TABLE } from './store';

/** The embedded store's role: SELECT and INSERT on the evidence table, nothing else. */
export const WRITER_ROLE = 'tenure_writer';

/** Raises `insufficient_privilege` with the given message: what the wire server runs in place of a refused statement. */
export const REFUSED_FUNCTION = 'tenure_audit_refused';

/** Idempotent, run as the superuser at every open (after the schema exists). */
export const WRITER_ROLE_SQL: readonly string[] = [
  `DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${WRITER_ROLE}') THEN
      CREATE ROLE ${WRITER_ROLE} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS;
    END IF;
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
  END $$`,
  `REVOKE ALL ON ${AUDIT_TABLE} FROM ${WRITER_ROLE}`,
  `GRANT SELECT, INSERT ON ${AUDIT_TABLE} TO ${WRITER_ROLE}`,
  `REVOKE CREATE ON SCHEMA public FROM PUBLIC`,
  `REVOKE EXECUTE ON FUNCTION pg_catalog.set_config(text, text, boolean) FROM PUBLIC`,
  `CREATE OR REPLACE FUNCTION ${REFUSED_FUNCTION}(reason text) RETURNS void LANGUAGE plpgsql AS $$
  BEGIN
    RAISE EXCEPTION '%', reason USING ERRCODE = 'insufficient_privilege';
  END $$`,
  `REVOKE USAGE ON LANGUAGE plpgsql FROM PUBLIC`,
];

/**
 * Creates the writer role and its grants (as the superuser), then turns this PGlite session into `tenure_writer` for
 * good. Call after the schema exists (SqlAuditStore's `ensureSchema`), so the table stays the superuser's.
 */
export async function becomeWriter(db: PGlite): Promise<void> {
  for (const statement of WRITER_ROLE_SQL) await db.exec(statement);
  await db.exec(`SET SESSION AUTHORIZATION ${WRITER_ROLE}`);
  const [who] = (await db.query<{ current_user: string; session_user: string }>('SELECT current_user, session_user'))
    .rows;
  if (who?.current_user !== WRITER_ROLE || who.session_user !== WRITER_ROLE) {
    throw new Error(`the embedded audit store did not switch to ${WRITER_ROLE}`);
  }
}
