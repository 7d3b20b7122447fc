/**
 * Programs of this repository as child processes, their output kept: Tenure's entry points as they ship (compiled
 * to JavaScript, as the Dockerfile runs them with `node dist/...`), and the bench's own TypeScript programs
 * (`node -r tsx/cjs <file>`).
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
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

/** A TypeScript program of this repository, run from its source with tsx. */
export function spawnTs(
  file: string,
  env: Record<string, string | undefined>,
  name: string,
  args: string[] = [],
  nodeArgs: string[] = [],
  /** Lines kept (the oldest half is dropped past it); a long-lived worker's log need not stay whole. */
  maxLines = 2000,
): Child {
  return spawnNode([...nodeArgs, '-r', 'tsx/cjs', join(ROOT, file), ...args], env, name, maxLines);
}

let buildDir: string | undefined;

/**
 * Where Tenure is compiled for the benches: `BENCH_BUILD_DIR` when set (scripts/bench.sh builds once for all
 * benches), else `.bench-build/` compiled once by this process (`tsc -p tsconfig.build.json`, as `npm run build`).
 */
export function shippedBuild(): string {
  if (buildDir) return buildDir;
  const given = process.env.BENCH_BUILD_DIR;
  if (given && existsSync(join(given, 'workers', 'main.js'))) return (buildDir = given);
  const dir = join(ROOT, '.bench-build');
  execFileSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', dir],
    {
      cwd: ROOT,
      stdio: 'inherit',
    },
  );
  return (buildDir = dir);
}

/**
 * One of Tenure's entry points (`src/workers/main.ts`, `src/client/intake-main.ts`, `src/client/cli.ts`) as it ships:
 * the compiled JavaScript, without tsx (whose compiler costs a process about 30 MB). `BENCH_FROM_SOURCE=1` runs
 * the TypeScript sources instead.
 */
export function spawnShipped(...program: Parameters<typeof spawnTs>): Child {
  if (process.env.BENCH_FROM_SOURCE === '1') return spawnTs(...program);
  const [file, env, name, args = [], nodeArgs = [], maxLines = 2000] = program;
  const compiled = join(shippedBuild(), file.replace(/^src\//, '').replace(/\.ts$/, '.js'));
  return spawnNode([...nodeArgs, compiled, ...args], env, name, maxLines);
}

function spawnNode(argv: string[], env: Record<string, string | undefined>, name: string, maxLines: number): Child {
  const child = spawn(process.execPath, argv, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  let exitCode: number | string | undefined;
  // `BENCH_LOG_DIR=/tmp/x` keeps each child's whole output in <dir>/<name>.log (e.g. with
  // BENCH_WORKER_NODE_ARGS=--trace-gc, which names each thread's heap by its isolate).
  const logDir = process.env.BENCH_LOG_DIR;
  const log = logDir ? createWriteStream(join(logDir, `${name}.log`), { flags: 'a' }) : undefined;
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      exitCode = code ?? signal ?? 'unknown';
      log?.end();
      process.off('exit', kill);
      resolve(exitCode);
    }),
  );
  const onData = (b: Buffer): void => {
    log?.write(b);
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
