/**
 * A throwaway PostgreSQL server for tests and benchmarks: Debian's `postgresql` binaries, a fresh cluster in a
 * temporary directory, listening on a free port on 127.0.0.1 (unix socket in the same directory), stopped and
 * removed by `stop()`. Postgres refuses to run as root, so under root the cluster belongs to the `postgres`
 * OS user (or `nobody`) and the server runs as that user.
 */
import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Client } from 'pg';
import { freePort } from '../../src/dev/ports';

export interface StartedPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication, local only). */
  url: string;
  /** The postmaster's process id (its backends are its children). */
  pid: number;
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Durable writes (`fsync=on`). Off by default: a test cluster is thrown away anyway. */
  fsync?: boolean;
  /** How long to wait for the server to accept connections. @default 60000 */
  startTimeoutMs?: number;
}

const INSTALL_HINT =
  'PostgreSQL server binaries (initdb, postgres) were not found in /usr/lib/postgresql/*/bin, ' +
  '$TENURE_PG_BIN or PATH. Install them: apt-get install -y postgresql';

/** The folder holding initdb and postgres: $TENURE_PG_BIN, the newest /usr/lib/postgresql/N/bin, or PATH. */
export function postgresBinDir(): string {
  const candidates: string[] = [];
  if (process.env.TENURE_PG_BIN) candidates.push(process.env.TENURE_PG_BIN);
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => join(debian, v, 'bin')));
  }
  candidates.push(...(process.env.PATH ?? '').split(delimiter).filter(Boolean));
  const found = candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')));
  if (!found) throw new Error(INSTALL_HINT);
  return found;
}

/** uid/gid of the account to run Postgres as when we are root. */
function serviceAccount(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const passwd = readFileSync('/etc/passwd', 'utf8').split('\n');
  for (const name of ['postgres', 'nobody']) {
    const fields = passwd.find((line) => line.startsWith(`${name}:`))?.split(':');
    if (fields?.[2] && fields[3]) return { uid: Number(fields[2]), gid: Number(fields[3]) };
  }
  throw new Error('running as root, but there is no `postgres` or `nobody` account to run PostgreSQL as');
}

function run(file: string, args: string[], account: { uid: number; gid: number } | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { ...account, env: { ...process.env, LC_ALL: 'C' } }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${file} failed: ${stderr || err.message}`));
      else resolve();
    });
  });
}

async function canConnect(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function startPostgres(opts: StartPostgresOptions = {}): Promise<StartedPostgres> {
  const bin = postgresBinDir();
  const account = serviceAccount();
  const root = mkdtempSync(join(tmpdir(), 'tenure-pg-'));
  const data = join(root, 'data');
  const cleanup = (): void => rmSync(root, { recursive: true, force: true });
  if (account) chownSync(root, account.uid, account.gid);
  let child: ChildProcess | undefined;
  const killOnExit = (): void => {
    child?.kill('SIGKILL');
  };
  try {
    await run(
      join(bin, 'initdb'),
      ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'],
      account,
    );
    const port = await freePort();
    const settings = [
      `listen_addresses = '127.0.0.1'`,
      `port = ${port}`,
      `unix_socket_directories = '${root}'`,
      `fsync = ${opts.fsync ? 'on' : 'off'}`,
      `synchronous_commit = ${opts.fsync ? 'on' : 'off'}`,
      `full_page_writes = ${opts.fsync ? 'on' : 'off'}`,
      `max_connections = 100`,
      `shared_buffers = 64MB`,
    ];
    writeFileSync(join(data, 'postgresql.auto.conf'), `${settings.join('\n')}\n`);
    let output = '';
    child = spawn(join(bin, 'postgres'), ['-D', data], {
      ...account,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    process.once('exit', killOnExit);
    child.stdout?.on('data', (b: Buffer) => (output = (output + b.toString()).slice(-4000)));
    child.stderr?.on('data', (b: Buffer) => (output = (output + b.toString()).slice(-4000)));
    const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));

    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
    let gone = false;
    void exited.then(() => (gone = true));
    while (!(await canConnect(url))) {
      if (gone) throw new Error(`postgres exited during start-up:\n${output}`);
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections in time:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    const server = child;
    let stopping: Promise<void> | undefined;
    return {
      url,
      pid: server.pid ?? -1,
      stop() {
        stopping ??= (async () => {
          if (server.exitCode === null && server.signalCode === null) {
            server.kill('SIGINT'); // fast shutdown: disconnects clients, no waiting for them
            const timer = setTimeout(() => server.kill('SIGKILL'), 15_000);
            await exited;
            clearTimeout(timer);
          }
          process.removeListener('exit', killOnExit);
          cleanup();
        })();
        return stopping;
      },
    };
  } catch (err) {
    child?.kill('SIGKILL');
    process.removeListener('exit', killOnExit);
    cleanup();
    throw err;
  }
}

/** Creates a fresh, empty database on the server and returns its URL. */
export async function createDatabase(serverUrl: string, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
