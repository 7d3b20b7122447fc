/**
 * Tenure's real entry points as separate processes (`src/workers/main.ts`, `src/client/intake-main.ts`), run the
 * way a deployment runs them: configured by environment variables only. Output is kept for assertions and for
 * failure messages.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startEmbeddedAuditServer } from '../../src/activities/audit';
import { generateKey } from '../../src/codec';
import { PROJECT_ROOT } from '../../src/config/local-env';
import { freePort } from '../../src/dev/ports';
import type { ScimPeer } from '../../src/dev/scim-peer';
import { startScimPeer } from '../../src/dev/scim-peer';
import { devServer, uniqueTaskQueue } from './temporal';

export const ENTRY_POINTS = {
  worker: join(PROJECT_ROOT, 'src', 'workers', 'main.ts'),
  intake: join(PROJECT_ROOT, 'src', 'client', 'intake-main.ts'),
  cli: join(PROJECT_ROOT, 'src', 'client', 'cli.ts'),
  /** `npm start`'s program. */
  dev: join(PROJECT_ROOT, 'src', 'dev', 'start.ts'),
} as const;

export interface TenureProcess {
  name: string;
  child: ChildProcess;
  /** Every line it wrote (stdout and stderr). */
  lines: string[];
  /** Resolves with the first line matching `pattern`; rejects if the process exits first or after `timeoutMs`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (or signal) once it has exited. */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Runs an entry point with exactly these variables (plus PATH and HOME), as its own process. */
export function spawnEntryPoint(
  entry: keyof typeof ENTRY_POINTS,
  env: Record<string, string | undefined>,
  name: string = entry,
  args: string[] = [],
): TenureProcess {
  const child = spawn(process.execPath, ['-r', 'tsx/cjs', ENTRY_POINTS[entry], ...args], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TENURE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (l: string) => void }[] = [];
  let partial = '';
  const onData = (b: Buffer): void => {
    partial += b.toString();
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.pattern.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return {
    name,
    child,
    lines,
    exited,
    waitForLine(pattern, timeoutMs = 120_000) {
      const seen = lines.find((l) => pattern.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(`${name}: no line matching ${pattern} in ${timeoutMs} ms:\n${lines.slice(-30).join('\n')}`),
            ),
          timeoutMs,
        );
        waiters.push({
          pattern,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`${name} exited (${code}) before ${pattern}:\n${lines.slice(-30).join('\n')}`));
        });
      });
    },
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** What `entryPointSetup` made: the variables every process gets, and how to reach and sign for the intake. */
export interface EntryPointSetup {
  vars: Record<string, string>;
  intakeUrl: string;
  webhookSecret: string;
  /** The SCIM stand-ins, by system id (the first is the identity provider). */
  peers: Record<string, ScimPeer>;
  /** The shared audit store's URL. */
  databaseUrl: string;
}

/**
 * What a deployment of entry-point processes needs before any starts: a temporary folder, an embedded audit store,
 * one SCIM stand-in per system id (the first the identity provider, the others apps that depend on it; all
 * birthright), a policy file naming them, and the variables every process gets (a unique task queue, fresh keys
 * and secret, a free intake port). Everything it started is stopped by the functions it pushes on `stops`.
 */
export async function entryPointSetup(
  name: string,
  systemIds: readonly string[],
  stops: (() => Promise<unknown>)[],
): Promise<EntryPointSetup> {
  const dir = mkdtempSync(join(tmpdir(), `tenure-${name}-`));
  stops.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
  const audit = await startEmbeddedAuditServer({ dataDir: join(dir, 'audit') });
  stops.push(() => audit.close());
  const peers: Record<string, ScimPeer> = {};
  for (const id of systemIds) {
    const peer = await startScimPeer({ name: id });
    stops.push(() => peer.close());
    peers[id] = peer;
  }
  const [idpId] = systemIds;
  const policyFile = join(dir, 'policy.yaml');
  writeFileSync(
    policyFile,
    stringify({
      timing: { activationTime: '09:00', defaultTimeZone: 'UTC' },
      systems: systemIds.map((id) => ({
        id,
        name: id === idpId ? 'Identity provider' : id,
        kind: id === idpId ? 'identity-provider' : 'app',
        connector: { type: 'scim', baseUrl: peers[id]?.url },
        ...(id === idpId ? {} : { dependsOn: [idpId] }),
      })),
      birthright: [{ name: 'everyone', systems: [...systemIds] }],
    }),
  );
  const port = await freePort();
  const webhookSecret = randomBytes(24).toString('hex');
  return {
    vars: {
      TEMPORAL_ADDRESS: devServer().address,
      TEMPORAL_NAMESPACE: 'default',
      TENURE_TASK_QUEUE: uniqueTaskQueue(name),
      TENURE_POLICY: policyFile,
      TENURE_CODEC_KEYS: `k1:${generateKey()}`,
      TENURE_WEBHOOK_SECRET: webhookSecret,
      TENURE_INTAKE_PORT: String(port),
      DATABASE_URL: audit.databaseUrl,
    },
    intakeUrl: `http://127.0.0.1:${port}`,
    webhookSecret,
    peers,
    databaseUrl: audit.databaseUrl,
  };
}
