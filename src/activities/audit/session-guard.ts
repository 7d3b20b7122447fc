/**
 * The embedded audit server's guard: statements that would change the session's role or authorization never reach
 * PGlite (see writer-role.ts for why the engine alone cannot refuse them). Every simple Query and every Parse is
 * lexed the way Postgres does (comments, quoted identifiers, strings, dollar quotes, several statements in one
 * string); one that holds `SET [SESSION | LOCAL] ROLE`, `RESET ROLE`, `SET [LOCAL] SESSION AUTHORIZATION`,
 * `RESET SESSION AUTHORIZATION`, `SET session_authorization …` or `RESET ALL` is replaced, whole, by a statement that
 * fails with `insufficient_privilege`, so PGlite answers the error itself and the protocol and any open transaction
 * stay as Postgres would leave them (a failed transaction, skipped messages until Sync).
 */
import { REFUSED_FUNCTION } from './writer-role';

interface Token {
  /** A bare word (lowercased), a quoted identifier (as written), a `U&"…"` identifier (`unicode`), or `;`. */
  kind: 'word' | 'quoted' | 'unicode' | 'end';
  text: string;
}

/** Tokens at the start of each statement that matter here: words, quoted identifiers and statement ends. */
function tokens(sql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = sql.length;
  const isWordStart = (c: string): boolean => /[A-Za-z_\u0080-\uffff]/.test(c);
  const isWord = (c: string): boolean => /[A-Za-z0-9_$\u0080-\uffff]/.test(c);
  while (i < n) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      while (i < n && sql[i] !== '\n') i += 1;
    } else if (c === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth += 1;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth -= 1;
          i += 2;
        } else i += 1;
      }
    } else if (c === "'" || ((c === 'E' || c === 'e') && next === "'")) {
      const escapes = c !== "'";
      i += escapes ? 2 : 1;
      while (i < n) {
        if (escapes && sql[i] === '\\') i += 2;
        else if (sql[i] === "'" && sql[i + 1] === "'") i += 2;
        else if (sql[i] === "'") break;
        else i += 1;
      }
      i += 1;
      out.push({ kind: 'word', text: '' });
    } else if (c === '"' || ((c === 'U' || c === 'u') && next === '&' && sql[i + 2] === '"')) {
      const unicode = c !== '"';
      i += unicode ? 3 : 1;
      let text = '';
      while (i < n) {
        if (sql[i] === '"' && sql[i + 1] === '"') {
          text += '"';
          i += 2;
        } else if (sql[i] === '"') break;
        else text += sql[i++];
      }
      i += 1;
      out.push({ kind: unicode ? 'unicode' : 'quoted', text });
    } else if (c === '$' && /[A-Za-z_$]/.test(next ?? '')) {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
      if (m) {
        const end = sql.indexOf(m[0], i + m[0].length);
        i = end < 0 ? n : end + m[0].length;
        out.push({ kind: 'word', text: '' });
      } else i += 1;
    } else if (c === ';') {
      out.push({ kind: 'end', text: ';' });
      i += 1;
    } else if (isWordStart(c)) {
      let j = i + 1;
      while (j < n && isWord(sql[j]!)) j += 1;
      out.push({ kind: 'word', text: sql.slice(i, j).toLowerCase() });
      i = j;
    } else {
      if (!/\s/.test(c)) out.push({ kind: 'word', text: c });
      i += 1;
    }
  }
  return out;
}

/** The name a token stands for, as Postgres would look it up (`unicode` for U&"…", which we do not decode). */
function nameOf(t: Token | undefined): string | undefined {
  if (!t || t.kind === 'end') return undefined;
  return t.kind === 'unicode' ? '\0unicode' : t.text;
}

const TARGETS = new Set(['role', 'session_authorization', '\0unicode']);

/**
 * When one statement's tokens change the role or the session authorization: how many of its leading tokens say so
 * (`SET LOCAL ROLE` → 3); otherwise 0.
 */
function changesRole(stmt: Token[]): number {
  const first = stmt[0];
  if (first?.kind !== 'word' || (first.text !== 'set' && first.text !== 'reset')) return 0;
  const at = (k: number): string | undefined => nameOf(stmt[k]);
  const isAuthorization = (k: number): boolean => at(k) === 'session' && at(k + 1) === 'authorization';
  let k = 1;
  if (first.text === 'set' && (at(k) === 'session' || at(k) === 'local') && !isAuthorization(k)) k += 1;
  if (isAuthorization(k)) return k + 2;
  if (TARGETS.has(at(k) ?? '') || (first.text === 'reset' && at(k) === 'all')) return k + 1;
  return 0;
}

/**
 * The first statement in `sql` that changes the session's role or authorization, described in a few upper-case
 * words (e.g. `RESET ROLE`), or undefined when there is none.
 */
export function roleChangeIn(sql: string): string | undefined {
  let stmt: Token[] = [];
  for (const t of [...tokens(sql), { kind: 'end', text: ';' } as Token]) {
    if (t.kind !== 'end') {
      stmt.push(t);
      continue;
    }
    const words = changesRole(stmt);
    if (words > 0) {
      return stmt
        .slice(0, words)
        .map((x) => (x.kind === 'word' ? x.text.toUpperCase() : x.kind === 'quoted' ? `"${x.text}"` : 'U&"…"'))
        .join(' ')
        .replace(/[^A-Za-z_" …]/g, '');
    }
    stmt = [];
  }
  return undefined;
}

function refusalSql(what: string): string {
  const reason =
    `${what}: the embedded audit store runs as a role that may only read and append evidence; statements that ` +
    `change the session's role or authorization are refused`;
  return `SELECT ${REFUSED_FUNCTION}('${reason.replace(/'/g, "''")}')`;
}

function message(type: number, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header[0] = type;
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

/**
 * Rewrites a batch of complete frontend messages: a Query or Parse whose SQL changes the role or the session
 * authorization is replaced by one that fails with `insufficient_privilege`. Other messages pass unchanged.
 */
export function guardMessages(batch: Buffer): Buffer {
  const parts: Buffer[] = [];
  let changed = false;
  let i = 0;
  while (i + 5 <= batch.length) {
    const type = batch[i]!;
    const length = batch.readInt32BE(i + 1);
    const whole = batch.subarray(i, i + 1 + length);
    const body = whole.subarray(5);
    let replaced: Buffer | undefined;
    if (type === 0x51) {
      // Query: sql\0
      const what = roleChangeIn(body.subarray(0, Math.max(0, body.indexOf(0))).toString('utf8'));
      if (what) replaced = message(0x51, Buffer.from(`${refusalSql(what)}\0`, 'utf8'));
    } else if (type === 0x50) {
      // Parse: name\0 sql\0 int16 count, int32 types…
      const nameEnd = body.indexOf(0);
      const sqlEnd = body.indexOf(0, nameEnd + 1);
      const what = roleChangeIn(body.subarray(nameEnd + 1, sqlEnd).toString('utf8'));
      if (what) {
        const name = body.subarray(0, nameEnd + 1);
        replaced = message(0x50, Buffer.concat([name, Buffer.from(`${refusalSql(what)}\0`, 'utf8'), Buffer.alloc(2)]));
      }
    }
    parts.push(replaced ?? whole);
    changed ||= replaced !== undefined;
    i += 1 + length;
  }
  if (i < batch.length) parts.push(batch.subarray(i));
  return changed ? Buffer.concat(parts) : batch;
}
