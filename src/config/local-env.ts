/**
 * Where a local Tenure (`npm start`) keeps its state, and the secrets file it generates there. Production
 * processes never need it; the CLI reads the file as the lowest layer of its environment, so that `tenure …`
 * works next to a running `npm start` with no exported variables.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The project's root folder (where package.json is), from src/config or dist/config. */
export const PROJECT_ROOT = resolve(__dirname, '..', '..');

/** Where a local Tenure keeps its state (Temporal's SQLite file, logs, dev secrets). @default "<project>/.data" */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TENURE_DATA_DIR ?? join(PROJECT_ROOT, '.data');
}

export function devEnvFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(dataDir(env), 'dev.env');
}

/** Reads `NAME=value` lines of the local secrets file; empty when there is none. */
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
