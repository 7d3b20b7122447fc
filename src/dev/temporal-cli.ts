import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';

/** The Temporal CLI version Tenure builds and tests with (DESIGN §7). */
export const TEMPORAL_CLI_VERSION = '1.5.1';

export const PROJECT_ROOT = resolve(__dirname, '..', '..');

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where `scripts/ensure-temporal.sh` keeps a copy that survives fresh clones. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'tenure', `temporal-${TEMPORAL_CLI_VERSION}`);
}

/**
 * Finds the `temporal` binary: $TEMPORAL_CLI, the project's .tools/bin, the per-user cache, then PATH.
 * Returns undefined when there is none; `scripts/ensure-temporal.sh` builds one.
 */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = [
    env.TEMPORAL_CLI,
    join(PROJECT_ROOT, '.tools', 'bin', 'temporal'),
    join(cacheDir(env), 'temporal'),
    ...(env.PATH ?? '').split(delimiter).map((d) => join(d, 'temporal')),
  ];
  return candidates.find((c): c is string => !!c && executable(c));
}

export function requireTemporalCli(env: NodeJS.ProcessEnv = process.env): string {
  const found = findTemporalCli(env);
  if (!found) {
    throw new Error(
      'Temporal CLI not found. Run `npm run setup` (builds it with Go), or put `temporal` on PATH, or set TEMPORAL_CLI.',
    );
  }
  return found;
}
