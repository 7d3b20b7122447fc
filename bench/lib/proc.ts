/** Resident memory and CPU time of a process, read from /proc (Linux). */
import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on every Linux this runs on). */
const TICKS = 100;

/** Resident set size in bytes (VmRSS), or NaN when the process is gone. */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** User + system CPU seconds the process has used so far (its own threads, not its children). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) — utime and stime are fields 14 and 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / TICKS;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU seconds of a process and its children (PostgreSQL: the postmaster and its backends): its own time, the time
 * of children that have exited and it has waited for, and the time of children still running.
 */
export function treeCpuSeconds(pid: number): number {
  let total = 0;
  try {
    const rest = statFields(pid);
    // utime, stime, cutime, cstime: fields 14–17.
    total = (Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14])) / TICKS;
  } catch {
    return Number.NaN;
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const rest = statFields(Number(entry));
      if (Number(rest[1]) === pid) total += (Number(rest[11]) + Number(rest[12])) / TICKS;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** The fields of /proc/<pid>/stat after the command name (field 3 onwards). */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

export const MiB = 1024 * 1024;

/** CPU seconds of each thread of a process, by thread id (tid = pid is the main thread). Empty when it is gone. */
export function threadCpuSeconds(pid: number): Map<number, { name: string; seconds: number }> {
  const out = new Map<number, { name: string; seconds: number }>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), { name, seconds: (Number(rest[11]) + Number(rest[12])) / TICKS });
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/**
 * A worker process's CPU seconds between two `threadCpuSeconds` readings, split: the main thread (activities, the
 * SDK's bridge to Temporal's core), the busiest other JavaScript thread (the workflow thread: Node names every JS
 * thread `node`), and every other thread (the core SDK's Rust threads, V8's compiler and garbage collector).
 */
export function workerThreadSplit(
  pid: number,
  before: Map<number, { name: string; seconds: number }>,
  after: Map<number, { name: string; seconds: number }>,
): { main: number; workflow: number; other: number } {
  const used = [...after].map(([tid, t]) => ({
    tid,
    name: t.name,
    seconds: t.seconds - (before.get(tid)?.seconds ?? 0),
  }));
  const main = used.find((t) => t.tid === pid)?.seconds ?? 0;
  const js = used.filter((t) => t.tid !== pid && t.name === 'node').sort((a, b) => b.seconds - a.seconds);
  const workflow = js[0]?.seconds ?? 0;
  const all = used.reduce((n, t) => n + t.seconds, 0);
  return { main, workflow, other: all - main - workflow };
}
