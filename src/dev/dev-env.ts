import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './temporal-cli';

/** Where `npm start` keeps its state (Temporal's SQLite file, logs, dev secrets). @default "<project>/.data" */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TENURE_DATA_DIR ?? join(PROJECT_ROOT, '.data');
}

export function devEnvFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(dataDir(env), 'dev.env');
}

/** Reads `NAME=value` lines of the dev secrets file; empty when there is none. */
export function readDevEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const file = devEnvFile(env);
  if (!existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) out[m[1]] = m[2];
  }
  return out;
}

/** Dev-only secrets, generated once into the git-ignored data folder (mode 600). */
export function ensureDevEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  mkdirSync(dataDir(env), { recursive: true });
  const file = devEnvFile(env);
  const current = readDevEnv(env);
  const wanted: Record<string, () => string> = {
    TENURE_WEBHOOK_SECRET: () => randomBytes(24).toString('hex'),
    TENURE_CODEC_KEYS: () => `dev1:${randomBytes(32).toString('base64')}`,
    TENURE_CODEC_TOKEN: () => randomBytes(32).toString('base64url'),
  };
  const missing = Object.keys(wanted).filter((k) => current[k] === undefined);
  if (missing.length > 0 || !existsSync(file)) {
    const lines = Object.entries({ ...current, ...Object.fromEntries(missing.map((k) => [k, wanted[k]?.() ?? ''])) });
    writeFileSync(file, lines.map(([k, v]) => `${k}=${v}`).join('\n') + '\n', { mode: 0o600 });
  }
  return readDevEnv(env);
}
