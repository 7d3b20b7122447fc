/**
 * Serves one PGlite instance over the Postgres wire protocol on a local TCP port, so several processes (the
 * worker, the intake server, the `tenure audit` CLI) can share the embedded database through plain `pg`.
 *
 * PGlite is a single session. Clients are therefore given the session in turns: a connection takes it with
 * its first message and keeps it until PGlite reports ReadyForQuery with status 'I' (idle: no transaction,
 * no unfinished extended-protocol exchange), then the next waiting connection gets it. A transaction is thus
 * never interleaved with another connection's statements, nor is a Parse/Bind/Execute/Sync sequence. (The
 * `@electric-sql/pglite-socket` multiplexer interleaves at message level: measured here, concurrent
 * parameterized queries from two connections failed with "unnamed prepared statement does not exist".)
 *
 * Session state that outlives a transaction (SET, named prepared statements) is shared by all connections; `pg`
 * uses none of it for ordinary queries. Cancel requests are ignored. Only for local use.
 *
 * The session runs as whatever role it was given before serving (the embedded store: `tenure_writer`, see
 * writer-role.ts); statements that would change the role or the session authorization are refused with
 * `insufficient_privilege` (session-guard.ts), inside multi-statement strings and extended-protocol Parse messages
 * too. The startup packet's `user` and `options` change nothing: PGlite does not apply them.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { AddressInfo, Server, Socket } from 'node:net';
import { createServer } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import { guardMessages } from './session-guard';

const PROTOCOL_3 = 196608;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const MAX_STARTUP_LENGTH = 10_000;
const MAX_MESSAGE_LENGTH = 1 << 30;

const SYNC = Buffer.from([0x53, 0, 0, 0, 4]);

function simpleQuery(sql: string): Buffer {
  const body = Buffer.from(`${sql}\0`, 'utf8');
  const header = Buffer.alloc(5);
  header[0] = 0x51; // 'Q'
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

function errorResponse(severity: 'ERROR' | 'FATAL', code: string, message: string): Buffer {
  const fields = Buffer.from(`S${severity}\0V${severity}\0C${code}\0M${message}\0\0`, 'utf8');
  const header = Buffer.alloc(5);
  header[0] = 0x45; // 'E'
  header.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([header, fields]);
}

const AUTH_CLEARTEXT = Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]);

/** The status byte of the last ReadyForQuery in a stream of backend messages, if any. */
export function lastReadyStatus(out: Uint8Array): string | undefined {
  let status: string | undefined;
  let i = 0;
  while (i + 5 <= out.length) {
    const length = ((out[i + 1]! << 24) | (out[i + 2]! << 16) | (out[i + 3]! << 8) | out[i + 4]!) >>> 0;
    if (out[i] === 0x5a && length === 5 && i + 6 <= out.length) status = String.fromCharCode(out[i + 5]!);
    i += 1 + length;
  }
  return status;
}

export interface WireServerOptions {
  /** Clients must send this password (cleartext over loopback). Omit to accept any. */
  password?: string;
  /** A connection holding the session (in a transaction) that sends nothing for this long is closed. @default 30000 */
  idleInTransactionMs?: number;
  /**
   * Refuse statements that change the session's role or authorization (`SET ROLE`, `RESET ROLE`,
   * `SET SESSION AUTHORIZATION`, `RESET ALL`, …; see session-guard.ts), so a session dropped to a non-superuser
   * role stays there. @default true
   */
  guardRole?: boolean;
}

export class PgliteWireServer {
  private readonly server: Server;
  private readonly sessions = new Set<Session>();
  private holder: Session | undefined;
  private readonly waiters: { session: Session; grant: () => void }[] = [];
  private closing: Promise<void> | undefined;

  constructor(
    readonly db: PGlite,
    readonly opts: WireServerOptions = {},
  ) {
    this.server = createServer((socket) => {
      if (this.closing) {
        socket.destroy();
        return;
      }
      const session = new Session(this, socket);
      this.sessions.add(session);
      socket.once('close', () => this.sessions.delete(session));
    });
  }

  /** Listens on host:port (port 0: any free port) and returns the port. */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** Gives the session to `session` when it is free (FIFO). */
  acquire(session: Session): Promise<void> {
    if (!this.holder) {
      this.holder = session;
      return Promise.resolve();
    }
    return new Promise((grant) => this.waiters.push({ session, grant }));
  }

  release(session: Session): void {
    if (this.holder !== session) return;
    const next = this.waiters.shift();
    this.holder = next?.session;
    next?.grant();
  }

  /** Runs raw protocol bytes on PGlite; only the holder calls this. */
  exec(bytes: Uint8Array): Promise<Uint8Array> {
    return this.db.runExclusive(() => this.db.execProtocolRaw(bytes));
  }

  /** Stops listening, closes every connection (rolling back what they left open), then resolves. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
      await Promise.all([...this.sessions].map((s) => s.destroy()));
      await stopped;
    })();
    return this.closing;
  }
}

class Session {
  private buf: Buffer = Buffer.alloc(0);
  private phase: 'startup' | 'password' | 'ready' = 'startup';
  private startupPacket: Buffer | undefined;
  private chain: Promise<void> = Promise.resolve();
  private holding = false;
  private closed = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly done: Promise<void>;

  constructor(
    private readonly server: PgliteWireServer,
    private readonly socket: Socket,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
      this.enqueue(() => this.drain());
    });
    socket.on('error', () => socket.destroy());
    this.done = new Promise((resolve) => {
      socket.once('close', () => {
        this.closed = true;
        this.clearIdleTimer();
        // Runs after whatever this connection still had queued: give the session back in a clean state.
        this.enqueue(() => this.cleanup());
        this.chain.then(resolve, resolve);
      });
    });
  }

  destroy(): Promise<void> {
    this.socket.destroy();
    return this.done;
  }

  private enqueue(step: () => Promise<void>): void {
    this.chain = this.chain.then(step).catch(() => {
      this.socket.destroy();
    });
  }

  private async drain(): Promise<void> {
    while (!this.closed) {
      if (this.phase === 'startup') {
        if (this.buf.length < 8) return;
        const length = this.buf.readInt32BE(0);
        if (length < 8 || length > MAX_STARTUP_LENGTH) return this.fatal('08P01', 'invalid startup packet');
        if (this.buf.length < length) return;
        const code = this.buf.readInt32BE(4);
        const packet = Buffer.from(this.buf.subarray(0, length));
        this.buf = this.buf.subarray(length);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          this.socket.write('N');
          continue;
        }
        if (code === CANCEL_REQUEST) {
          this.socket.destroy();
          return;
        }
        if (code !== PROTOCOL_3) return this.fatal('0A000', 'unsupported frontend protocol');
        this.startupPacket = packet;
        if (this.server.opts.password !== undefined) {
          this.phase = 'password';
          this.socket.write(AUTH_CLEARTEXT);
          continue;
        }
        await this.startSession();
        continue;
      }
      if (this.buf.length < 5) return;
      const first = this.buf.readInt32BE(1);
      if (first < 4 || first > MAX_MESSAGE_LENGTH) return this.fatal('08P01', 'invalid message length');
      if (this.buf.length < 1 + first) return;
      if (this.phase === 'password') {
        const message = this.buf.subarray(0, 1 + first);
        this.buf = this.buf.subarray(1 + first);
        if (message[0] !== 0x70 || !this.passwordMatches(message.subarray(5, message.length - 1))) {
          return this.fatal('28P01', 'password authentication failed');
        }
        await this.startSession();
        continue;
      }
      if (this.buf[0] === 0x58) {
        // Terminate: PGlite's session stays; only this connection ends.
        this.socket.end();
        return;
      }
      // Every complete message up to a Terminate goes to PGlite in one call.
      let end = 0;
      while (end + 5 <= this.buf.length && this.buf[end] !== 0x58) {
        const length = this.buf.readInt32BE(end + 1);
        if (length < 4 || end + 1 + length > this.buf.length) break;
        end += 1 + length;
      }
      const batch = Buffer.from(this.buf.subarray(0, end));
      this.buf = this.buf.subarray(end);
      await this.execute(this.server.opts.guardRole === false ? batch : guardMessages(batch));
    }
  }

  private passwordMatches(given: Buffer): boolean {
    const expected = Buffer.from(this.server.opts.password ?? '', 'utf8');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private async startSession(): Promise<void> {
    this.phase = 'ready';
    const packet = this.startupPacket;
    this.startupPacket = undefined;
    if (packet) await this.execute(packet);
  }

  private async execute(bytes: Uint8Array): Promise<void> {
    this.clearIdleTimer();
    if (!this.holding) {
      await this.server.acquire(this);
      this.holding = true;
    }
    if (this.closed) return;
    const out = await this.server.exec(bytes);
    const status = lastReadyStatus(out);
    if (out.length > 0 && !this.socket.write(out)) {
      await new Promise<void>((resolve) => {
        this.socket.once('drain', resolve);
        this.socket.once('close', resolve);
      });
    }
    if (status === 'I') {
      this.holding = false;
      this.server.release(this);
    } else {
      this.armIdleTimer();
    }
  }

  private async cleanup(): Promise<void> {
    if (!this.holding) return;
    try {
      // Finish any half-sent extended-protocol exchange, then undo an open transaction.
      await this.server.exec(SYNC);
      if (this.server.db.isInTransaction()) await this.server.exec(simpleQuery('ROLLBACK'));
    } finally {
      this.holding = false;
      this.server.release(this);
    }
  }

  private fatal(code: string, message: string): void {
    this.closed = true; // read nothing more from this connection
    this.socket.end(errorResponse('FATAL', code, message));
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private armIdleTimer(): void {
    const ms = this.server.opts.idleInTransactionMs ?? 30_000;
    if (ms <= 0) return;
    this.idleTimer = setTimeout(() => {
      this.fatal('25P03', 'terminating connection: idle while holding the embedded database');
    }, ms);
    this.idleTimer.unref();
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}

export function randomPassword(): string {
  return randomBytes(18).toString('base64url');
}
