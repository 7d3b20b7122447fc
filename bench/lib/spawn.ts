/** A TypeScript program of this repository as a child process (`node -r tsx/cjs <file>`), its output kept. */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');

export interface Child {
  name: string;
  child: ChildProcess;
  pid: number;
  lines: string[];
  /** The exit code (or signal) once it has exited. */
  exited: Promise<number | string>;
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

export function spawnTs(
  file: string,
  env: Record<string, string | undefined>,
  name: string,
  args: string[] = [],
  nodeArgs: string[] = [],
  /** Lines kept (the oldest half is dropped past it); a long-lived worker's log need not stay whole. */
  maxLines = 2000,
): Child {
  const child = spawn(process.execPath, [...nodeArgs, '-r', 'tsx/cjs', join(ROOT, file), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  let exitCode: number | string | undefined;
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      exitCode = code ?? signal ?? 'unknown';
      process.off('exit', kill);
      resolve(exitCode);
    }),
  );
  const onData = (b: Buffer): void => {
    partial += b.toString();
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const l of parts) {
      lines.push(l);
      if (lines.length > maxLines) lines.splice(0, Math.floor(maxLines / 2));
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const kill = (): void => {
    child.kill('SIGKILL');
  };
  process.on('exit', kill);
  return {
    name,
    child,
    pid: child.pid ?? -1,
    lines,
    exited,
    async waitForLine(pattern, timeoutMs = 180_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = lines.find((l) => pattern.test(l));
        if (hit) return hit;
        if (exitCode !== undefined) throw new Error(`${name} exited (${exitCode}):\n${lines.slice(-30).join('\n')}`);
        if (Date.now() > deadline)
          throw new Error(`${name}: no line matching ${pattern}:\n${lines.slice(-30).join('\n')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      process.off('exit', kill);
      if (exitCode !== undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(kill, 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
