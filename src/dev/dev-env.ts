import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dataDir, devEnvFile, readDevEnv } from '../config/local-env';

export { dataDir, devEnvFile, readDevEnv };

/** Dev-only secrets, generated once into the git-ignored data folder (mode 600). */
export function ensureDevEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  mkdirSync(dataDir(env), { recursive: true });
  const file = devEnvFile(env);
  const current = readDevEnv(env);
  const wanted: Record<string, () => string> = {
    TENURE_WEBHOOK_SECRET: () => randomBytes(24).toString('hex'),
    TENURE_CODEC_KEYS: () => `dev1:${randomBytes(32).toString('base64')}`,
    TENURE_CODEC_TOKEN: () => randomBytes(32).toString('base64url'),
    TENURE_SLACK_SIGNING_SECRET: () => randomBytes(24).toString('hex'),
    // The local stand-ins' credentials (config/tenure.dev.yaml names these variables).
    TENURE_DEV_SLACK_TOKEN: () => `xoxb-dev-${randomBytes(12).toString('hex')}`,
    TENURE_DEV_BAMBOOHR_KEY: () => randomBytes(20).toString('hex'),
  };
  const missing = Object.keys(wanted).filter((k) => current[k] === undefined);
  if (missing.length > 0 || !existsSync(file)) {
    const lines = Object.entries({ ...current, ...Object.fromEntries(missing.map((k) => [k, wanted[k]?.() ?? ''])) });
    writeFileSync(file, lines.map(([k, v]) => `${k}=${v}`).join('\n') + '\n', { mode: 0o600 });
  }
  return readDevEnv(env);
}
