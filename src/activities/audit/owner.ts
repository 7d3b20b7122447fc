/**
 * Who has an embedded (PGlite) data directory open. PGlite is a single-process database with no lock of its
 * own: two processes opening the same directory would corrupt it. So the process that opens it writes an
 * owner file next to it — `<dataDir>.owner.json`, mode 600 — saying which process holds it and, when that
 * process serves it over the Postgres wire protocol, the URL to reach it. Everyone else reads that file
 * first: connect to the URL, wait for a short-lived owner to finish, or refuse with a message naming the fix.
 */
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

export interface OwnerInfo {
  pid: number;
  host: string;
  /** 'server': the owner serves the directory at `url`; 'direct': it uses it in-process only. */
  mode: 'server' | 'direct';
  /** Present once a server listens. Contains the server's password: the file is private (mode 600). */
  url?: string;
  startedAt: string;
}

export function ownerFile(dataDir: string): string {
  const dir = resolve(dataDir);
  return join(dirname(dir), `${basename(dir)}.owner.json`);
}

export function readOwner(dataDir: string): OwnerInfo | undefined {
  let text: string;
  try {
    text = readFileSync(ownerFile(dataDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as OwnerInfo;
  } catch {
    // Not written by Tenure (files are linked into place whole): treat as stale.
    return { pid: 0, host: hostname(), mode: 'direct', startedAt: '' };
  }
}

/** False only when the owner is certainly gone (same host, no such process). */
export function ownerAlive(owner: OwnerInfo): boolean {
  if (owner.host !== hostname()) return true;
  if (!Number.isInteger(owner.pid) || owner.pid <= 0) return false;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A held claim on a data directory. */
export interface OwnerClaim {
  readonly file: string;
  /** Publishes the URL clients should use (server mode). */
  publish(url: string): void;
  release(): void;
}

/**
 * Claims the directory for this process, atomically. Returns undefined when someone else holds it;
 * removes the file of an owner that is certainly gone and tries again.
 */
export function tryClaim(dataDir: string, mode: OwnerInfo['mode']): OwnerClaim | undefined {
  const file = ownerFile(dataDir);
  for (let attempt = 0; attempt < 3; attempt++) {
    const info: OwnerInfo = { pid: process.pid, host: hostname(), mode, startedAt: new Date().toISOString() };
    // Written in full to a private file first, then linked into place: link() fails if the owner file exists,
    // and a reader never sees it half-written.
    const tmp = `${file}.${process.pid}.${attempt}.tmp`;
    writeFileSync(tmp, JSON.stringify(info), { mode: 0o600 });
    try {
      linkSync(tmp, file);
      return claim(file, info);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(tmp);
    }
    const owner = readOwner(dataDir);
    if (owner && ownerAlive(owner)) return undefined;
    try {
      unlinkSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return undefined;
}

function claim(file: string, info: OwnerInfo): OwnerClaim {
  let released = false;
  // A process that exits without closing its store still leaves no owner file behind (a killed one does;
  // the next opener sees its pid is gone and takes over).
  const onExit = (): void => self.release();
  process.once('exit', onExit);
  const self: OwnerClaim = {
    file,
    publish(url: string) {
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ ...info, url }), { mode: 0o600 });
      renameSync(tmp, file);
    },
    release() {
      if (released) return;
      released = true;
      process.removeListener('exit', onExit);
      try {
        const current = JSON.parse(readFileSync(file, 'utf8')) as OwnerInfo;
        if (current.pid === info.pid && current.startedAt === info.startedAt) unlinkSync(file);
      } catch {
        // Already gone.
      }
    },
  };
  return self;
}
