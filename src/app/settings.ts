/**
 * Everything a Tenure process reads at start: the environment (validated once), the policy file, the payload key
 * ring and the Temporal connection settings. Every entry point — worker, intake, `npm start`, the CLI — and the test
 * harness get their settings from `loadSettings`; only `src/app/compose.ts` turns them into running parts.
 */
import { existsSync } from 'node:fs';
import type { DataConverter } from '@temporalio/common';
import { loadClientConfigProfile, toClientOptions } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';
import type { KeyRing } from '../codec';
import { dataConverter, loadKeyRing } from '../codec';
import type { TenureEnv } from '../config/env';
import { loadEnv } from '../config/env';
import type { LoadedPolicy } from '../config/policy-file';
import { loadPolicyFile } from '../config/policy-file';
import type { Policy } from '../domain/policy';
import { apiConnector, connectorSecretVariables } from '../domain/connectors';
import { syncSecretVariables } from '../domain/policy-sync';
import type { WorkerTuning } from './worker-tuning';
import { workerTuning } from './worker-tuning';

/** How a process reaches Temporal: read the way Temporal's own tools read it (envconfig profile + `TEMPORAL_*`). */
export interface TemporalSettings {
  /** For `NativeConnection.connect` (worker) and `Connection.connect` (clients): address, TLS / mTLS, API key. */
  connectionOptions: NativeConnectionOptions & { address: string };
  namespace: string;
  /** What is in use, without secrets, for start-up logs. */
  summary: { address: string; namespace: string; tls: boolean; apiKey: boolean; profile?: string };
}

export interface TenureSettings {
  env: TenureEnv;
  /** The raw variables: policy-named secrets (`tokenEnv`, `apiKeyEnv`) are read from here by name. */
  vars: NodeJS.ProcessEnv;
  policy: LoadedPolicy;
  keyRing: KeyRing;
  /** Payload encryption, the same for every worker and client of the deployment. */
  converter: DataConverter;
  temporal: TemporalSettings;
  /** The worker's cache and concurrency (src/app/worker-tuning.ts), `TENURE_WORKER_*` overrides applied. */
  worker: WorkerTuning;
}

export interface LoadSettingsOptions {
  /** The environment. @default process.env */
  vars?: NodeJS.ProcessEnv;
  /** A policy already parsed (tests); otherwise the file `TENURE_POLICY` names is read. */
  policy?: LoadedPolicy;
}

/**
 * Temporal connection settings from `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS*`,
 * `TEMPORAL_GRPC_META_*`, and the profile `TEMPORAL_PROFILE` of the TOML file `TEMPORAL_CONFIG_FILE` (default
 * `~/.config/temporalio/temporal.toml`, when it exists), with the variables winning over the file.
 * An API key implies TLS, as it does for Temporal Cloud.
 */
export function temporalSettings(vars: NodeJS.ProcessEnv): TemporalSettings {
  const strings: Record<string, string> = {};
  for (const [k, v] of Object.entries(vars)) if (typeof v === 'string') strings[k] = v;
  const profile = loadClientConfigProfile({
    overrideEnvVars: strings,
    disableFile: vars.TEMPORAL_CONFIG_FILE ? false : !existsSync(defaultConfigFile(vars)),
    ...(vars.TEMPORAL_PROFILE ? { profile: vars.TEMPORAL_PROFILE } : {}),
  });
  const options = toClientOptions(profile);
  const address = options.connectionOptions.address ?? 'localhost:7233';
  const connectionOptions = { ...options.connectionOptions, address };
  if (connectionOptions.apiKey && connectionOptions.tls === undefined) connectionOptions.tls = true;
  const namespace = options.namespace ?? 'default';
  return {
    connectionOptions,
    namespace,
    summary: {
      address,
      namespace,
      tls: Boolean(connectionOptions.tls),
      apiKey: Boolean(connectionOptions.apiKey),
      ...(vars.TEMPORAL_PROFILE ? { profile: vars.TEMPORAL_PROFILE } : {}),
    },
  };
}

function defaultConfigFile(vars: NodeJS.ProcessEnv): string {
  const base = vars.XDG_CONFIG_HOME ?? `${vars.HOME ?? ''}/.config`;
  return `${base}/temporalio/temporal.toml`;
}

/** Reads and validates everything once; throws an error that names each bad variable, file or field. */
export function loadSettings(opts: LoadSettingsOptions = {}): TenureSettings {
  const vars = opts.vars ?? process.env;
  const env = loadEnv(vars);
  const policy = opts.policy ?? loadPolicyFile(env.TENURE_POLICY);
  const keyRing = loadKeyRing(vars);
  return {
    env,
    vars,
    policy,
    keyRing,
    converter: dataConverter(keyRing),
    temporal: temporalSettings(vars),
    worker: workerTuning(vars),
  };
}

/** The roles a Tenure process plays; each needs some variables the others do not. */
export type TenureRole = 'worker' | 'intake';

/** Every variable a role cannot start without (beyond those with defaults), for deployment files and their check. */
export function requiredVariables(role: TenureRole, policy: Policy): string[] {
  const common = ['TENURE_CODEC_KEYS', 'TENURE_POLICY', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE'];
  if (role === 'intake') {
    const slack = policy.slack ? ['TENURE_SLACK_SIGNING_SECRET', policy.slack.tokenEnv] : [];
    const hibob = syncSecretVariables(policy.sync, 'intake');
    return [...common, 'TENURE_WEBHOOK_SECRET', 'TENURE_CODEC_TOKEN', 'DATABASE_URL', ...slack, ...hibob];
  }
  return [...common, 'DATABASE_URL', ...policySecretVariables(policy)];
}

/** The names of every secret the policy refers to: each connector's tokens, keys and passwords, the Slack bot token, the HRIS key. */
export function policySecretVariables(policy: Policy): string[] {
  const out = new Set<string>();
  for (const sys of policy.systems) {
    const c = apiConnector(sys.connector);
    if (!c) continue;
    for (const name of connectorSecretVariables(c)) out.add(name);
  }
  if (policy.slack) out.add(policy.slack.tokenEnv);
  if (policy.hris) out.add(policy.hris.apiKeyEnv);
  for (const name of syncSecretVariables(policy.sync)) out.add(name);
  return [...out];
}
