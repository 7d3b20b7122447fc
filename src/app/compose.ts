/**
 * The composition root: the one place that turns settings (src/app/settings.ts) into a running Tenure — the
 * connectors, Slack, the HRIS, the manager directory, the audit store, payload encryption, the Temporal connection,
 * the worker and the intake server. `src/workers/main.ts`, `src/client/intake-main.ts`, `npm start`
 * (src/dev/start.ts), the CLI and the test harness all build Tenure through these functions; a test overrides only
 * what it must (ports, task queue, stand-in URLs in the policy, an in-memory audit store).
 */
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { WorkflowBundle } from '@temporalio/worker';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { TenureActivities } from '../activities';
import { createActivities } from '../activities';
import type { AuditStore } from '../activities/audit';
import type { SqlAuditStore } from '../activities/audit';
import { openAuditStore } from '../activities/audit';
import { checkpointConfigFromEnv, startAuditCheckpointer } from '../activities/audit/checkpoint';
import { workflowAnchor } from '../client/checkpoint-anchor';
import type { Integrations } from '../activities/connectors';
import { buildIntegrations } from '../activities/connectors';
import type { HrisConnector } from '../activities/hris-connector';
import { createSlackClient } from '../activities/slack/notifier';
import { bambooWebhookConfigFromEnv } from '../client/bamboohr-webhook';
import { hibobWebhookConfigFromPolicy } from '../client/hibob-webhook';
import type { IntakeOptions, RunningIntake } from '../client/intake';
import { startIntakeServer } from '../client/intake';
import { dataDir } from '../config/local-env';
import type { Policy } from '../domain/policy';
import type { Logger } from '../logger';
import { createLogger } from '../logger';
import { WORKFLOWS_PATH } from '../workers/worker';
import type { TenureMetrics } from '../observability';
import { defaultTenureMetrics, registerFleetGauges, sdkPrometheusOptions, startMetricsServer } from '../observability';
import type { TenureSettings } from './settings';
import { createSystemWorkers } from './system-workers';
import { applyHeapGrowth, workerOptions } from './worker-tuning';
import type { GuardActivities } from '../guard/activities';
import { createGuardActivities } from '../guard/activities';
import { createSyncActivities } from '../sync/activities';
import { ensureSyncSchedule } from '../sync/schedule';
import { createReconcileActivities } from '../reconcile/activities';
import { ensureReconcileSchedule } from '../reconcile/schedule';

/** The audit store: Postgres when `DATABASE_URL` is set, else the embedded store in the data folder. */
export async function openAudit(s: TenureSettings): Promise<SqlAuditStore> {
  return openAuditStore(
    s.env.DATABASE_URL ? { databaseUrl: s.env.DATABASE_URL } : { dataDir: join(dataDir(s.vars), 'audit') },
  );
}

export interface IntegrationOverrides {
  /** Builds the HRIS connector (tests substitute a factory); default: the policy's `hris.type`. */
  hrisFactory?: (p: NonNullable<Policy['hris']>, apiKey: string) => HrisConnector;
}

/** Every outside system the policy names, with their secrets read from the environment by name. */
export function integrations(s: TenureSettings, o: IntegrationOverrides = {}): Integrations {
  return o.hrisFactory
    ? buildIntegrations(s.policy.policy, s.vars, o.hrisFactory)
    : buildIntegrations(s.policy.policy, s.vars);
}

/** The worker's activities: every integration and the audit store (managers are looked up in the IdP). */
export function activities(s: TenureSettings, audit: AuditStore, o: IntegrationOverrides = {}): TenureActivities {
  return createActivities({ policy: s.policy, audit, ...integrations(s, o) });
}

/**
 * The mass-change guard's activities (src/guard/activities.ts): evidence, Slack notices, and the release, which
 * delivers held events through `client` (a client of the deployment, opened on first use).
 */
export function guardActivities(
  s: TenureSettings,
  audit: AuditStore,
  client: () => Promise<Client>,
  o: IntegrationOverrides = {},
): GuardActivities {
  const { connectors, slack } = integrations(s, o);
  return createGuardActivities({
    policy: s.policy,
    audit,
    connectors,
    ...(slack ? { slack } : {}),
    taskQueue: s.env.TENURE_TASK_QUEUE,
    client,
  });
}

/** A client opened on first use, and a close for whatever was opened. */
function lazyClient(s: TenureSettings): { get: () => Promise<Client>; close: () => Promise<void> } {
  let opened: Promise<{ client: Client; close: () => Promise<void> }> | undefined;
  return {
    get: async () => (await (opened ??= connectClient(s))).client,
    close: async () => {
      if (opened) await (await opened.catch(() => undefined))?.close();
    },
  };
}

/** A worker-side (native) connection with the settings' address, TLS / mTLS and API key. */
export function connectNative(s: TenureSettings): Promise<NativeConnection> {
  return NativeConnection.connect(s.temporal.connectionOptions);
}

/** A client of the deployment's namespace, with its payload encryption. */
export async function connectClient(
  s: Pick<TenureSettings, 'temporal' | 'converter'>,
): Promise<{ client: Client; close: () => Promise<void> }> {
  const { address, tls, apiKey, metadata } = s.temporal.connectionOptions;
  const connection = await Connection.connect({
    address,
    ...(tls !== undefined ? { tls } : {}),
    ...(apiKey !== undefined && typeof apiKey === 'string' ? { apiKey } : {}),
    ...(metadata ? { metadata } : {}),
  });
  return {
    client: new Client({ connection, namespace: s.temporal.namespace, dataConverter: s.converter }),
    close: () => connection.close(),
  };
}

export interface WorkerOverrides extends IntegrationOverrides {
  /** A pre-built workflow bundle (tests share one); otherwise the worker bundles `src/workflows`. */
  workflowBundle?: WorkflowBundle;
  /** An open connection to use (and not close); otherwise one is opened from the settings. */
  connection?: NativeConnection;
}

export interface RunningWorker {
  worker: Worker;
  /** The activity workers of rate-limited systems, one per system (src/app/system-workers.ts). */
  systemWorkers: Worker[];
  /** Resolves when the worker has stopped (after `shutdown()` or a fatal error). */
  running: Promise<void>;
  /** Stops polling, lets running tasks finish, closes what this function opened. */
  shutdown(): Promise<void>;
}

/** Creates and runs Tenure's worker on the settings' task queue. */
export async function startWorker(
  s: TenureSettings,
  audit: AuditStore,
  o: WorkerOverrides = {},
): Promise<RunningWorker> {
  // Every heap of the process, the workflow thread's included, kept near what it holds (worker-tuning.ts).
  applyHeapGrowth(s.worker);
  const connection = o.connection ?? (await connectNative(s));
  const guardClient = lazyClient(s);
  let worker: Worker;
  let systemWorkers: Worker[];
  try {
    worker = await Worker.create({
      connection,
      namespace: s.temporal.namespace,
      taskQueue: s.env.TENURE_TASK_QUEUE,
      activities: {
        ...activities(s, audit, o),
        ...guardActivities(s, audit, guardClient.get, o),
        ...createSyncActivities({
          policy: s.policy,
          audit,
          taskQueue: s.env.TENURE_TASK_QUEUE,
          vars: s.vars,
          client: guardClient.get,
        }),
        ...createReconcileActivities({
          policy: s.policy,
          audit,
          ...integrations(s, o),
          taskQueue: s.env.TENURE_TASK_QUEUE,
          client: guardClient.get,
        }),
      },
      dataConverter: s.converter,
      ...(s.env.TENURE_WORKER_IDENTITY ? { identity: s.env.TENURE_WORKER_IDENTITY } : {}),
      ...(o.workflowBundle ? { workflowBundle: o.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
      // Cache and slots set on purpose (src/app/worker-tuning.ts, docs/scaling.md).
      ...workerOptions(s.worker),
    });
    systemWorkers = await createSystemWorkers(s, connection, activities(s, audit, o));
    // The daily roster sync's Temporal Schedule, created or updated to the policy's cron (src/sync/schedule.ts).
    const sync = s.policy.policy.sync;
    if (sync) await ensureSyncSchedule(await guardClient.get(), s.env.TENURE_TASK_QUEUE, sync);
    // Drift reconciliation's Temporal Schedule, likewise (src/reconcile/schedule.ts).
    const reconcile = s.policy.policy.reconcile;
    if (reconcile) await ensureReconcileSchedule(await guardClient.get(), s.env.TENURE_TASK_QUEUE, reconcile);
  } catch (err) {
    await guardClient.close();
    if (!o.connection) await connection.close();
    throw err;
  }
  const all = [worker, ...systemWorkers];
  const stopAll = (): void => {
    for (const w of all) if (w.getState() === 'RUNNING') w.shutdown();
  };
  // One worker stopping (a fatal error) stops the others: the process never runs half a worker.
  const running = Promise.allSettled(all.map((w) => w.run().finally(stopAll)))
    .then((settled) => {
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    })
    .finally(async () => {
      await guardClient.close();
      if (!o.connection) await connection.close();
    });
  return {
    worker,
    systemWorkers,
    running,
    async shutdown() {
      stopAll();
      await running.catch(() => undefined);
    },
  };
}

/** The intake's options from the settings: webhook secret, Slack interactivity, BambooHR, HiBob, the codec endpoint. */
export function intakeOptions(
  s: TenureSettings,
  deps: { client: Client; audit: AuditStore; logger: Logger },
): IntakeOptions & { port: number; host: string } {
  const { env, policy } = s;
  if (!env.TENURE_WEBHOOK_SECRET) {
    throw new Error('invalid environment:\n  - TENURE_WEBHOOK_SECRET: the intake needs the HR webhook secret');
  }
  const slackPolicy = policy.policy.slack;
  let slackInteractivity: IntakeOptions['slackInteractivity'];
  if (env.TENURE_SLACK_SIGNING_SECRET && slackPolicy) {
    const token = s.vars[slackPolicy.tokenEnv];
    if (!token) throw new Error(`slack: environment variable ${slackPolicy.tokenEnv} is not set`);
    slackInteractivity = {
      signingSecret: env.TENURE_SLACK_SIGNING_SECRET,
      slack: createSlackClient({ token, apiUrl: slackPolicy.apiUrl }),
    };
  }
  const bamboo = bambooWebhookConfigFromEnv(s.vars);
  const hibob = hibobWebhookConfigFromPolicy(policy.policy.sync, s.vars);
  const codec = s.converter.payloadCodecs?.[0];
  return {
    client: deps.client,
    taskQueue: env.TENURE_TASK_QUEUE,
    webhookSecret: env.TENURE_WEBHOOK_SECRET,
    logger: deps.logger,
    audit: deps.audit,
    policy,
    ...(slackInteractivity ? { slackInteractivity } : {}),
    ...(bamboo ? { bamboo } : {}),
    ...(hibob ? { hibob } : {}),
    ...(env.TENURE_CODEC_TOKEN && codec
      ? {
          codec: {
            codec,
            token: env.TENURE_CODEC_TOKEN,
            allowedOrigins: env.TENURE_UI_ORIGINS.split(',').map((o) => o.trim()),
          },
        }
      : {}),
    ...(env.TENURE_TRUST_PROXY ? { trustProxy: trustProxySetting(env.TENURE_TRUST_PROXY) } : {}),
    admission: {
      maxInFlight: env.TENURE_INTAKE_MAX_IN_FLIGHT,
      maxWaitMs: env.TENURE_INTAKE_MAX_WAIT_MS,
      targetLatencyMs: env.TENURE_INTAKE_TARGET_LATENCY_MS,
    },
    port: env.TENURE_INTAKE_PORT,
    host: env.TENURE_INTAKE_HOST,
  };
}

function trustProxySetting(v: string): boolean | number | string {
  if (v === 'true') return true;
  if (v === 'false') return false;
  return /^\d+$/.test(v) ? Number(v) : v;
}

/** Starts the intake HTTP server on the settings' port (0: a free one). */
export function startIntake(
  s: TenureSettings,
  deps: { client: Client; audit: AuditStore; logger?: Logger },
): Promise<RunningIntake> {
  return startIntakeServer(intakeOptions(s, { ...deps, logger: deps.logger ?? createLogger('tenure-intake') }));
}

/** Runs `fn` with a client of the deployment, closing the connection after. */
export async function withClient<T>(
  s: Pick<TenureSettings, 'temporal' | 'converter'>,
  fn: (client: Client) => Promise<T>,
): Promise<T> {
  const { client, close } = await connectClient(s);
  try {
    return await fn(client);
  } finally {
    await close();
  }
}

/**
 * The worker process's Temporal runtime, installed once before its first connection: the SDK's Prometheus exporter
 * on `TENURE_SDK_METRICS_PORT` when set (`docs/observability.md`). Only entry points call this; tests install their
 * own runtime.
 */
export function installWorkerRuntime(s: TenureSettings): void {
  const port = s.env.TENURE_SDK_METRICS_PORT;
  if (port === undefined) return;
  const host = s.env.TENURE_METRICS_HOST;
  Runtime.install({ telemetryOptions: sdkPrometheusOptions(`${host.includes(':') ? `[${host}]` : host}:${port}`) });
}

export interface Observability {
  metrics: TenureMetrics;
  /** Where `/metrics` and `/healthz` are served, when `TENURE_METRICS_PORT` is set. */
  url?: string;
  close(): Promise<void>;
}

/**
 * Tenure's own metrics for a process: the registry its activities and intake count into, served on
 * `TENURE_METRICS_PORT`; in the worker also the fleet gauges (open exceptions, waiting approvals and tasks, runs)
 * from Temporal visibility, and the periodic signed audit checkpoints when `TENURE_AUDIT_CHECKPOINT_KEY` is set.
 */
export async function startObservability(
  s: TenureSettings,
  role: 'worker' | 'intake',
  deps: { client: Client; audit?: SqlAuditStore; logger?: Logger },
): Promise<Observability> {
  const metrics = defaultTenureMetrics();
  const closers: (() => Promise<unknown> | void)[] = [];
  if (role === 'worker') {
    closers.push(registerFleetGauges(metrics, deps.client, { taskQueue: s.env.TENURE_TASK_QUEUE }));
    const checkpoints = checkpointConfigFromEnv(s.vars);
    if (checkpoints && deps.audit) {
      const cp = startAuditCheckpointer({
        store: deps.audit,
        config: checkpoints,
        anchor: workflowAnchor({ client: deps.client, taskQueue: s.env.TENURE_TASK_QUEUE }),
        ...(deps.logger ? { logger: deps.logger } : {}),
      });
      closers.push(() => cp.stop());
    }
  }
  let url: string | undefined;
  if (s.env.TENURE_METRICS_PORT !== undefined) {
    const server = await startMetricsServer({
      port: s.env.TENURE_METRICS_PORT,
      host: s.env.TENURE_METRICS_HOST,
      registry: metrics.registry,
    });
    url = server.url;
    closers.push(() => server.close());
  }
  return {
    metrics,
    ...(url ? { url } : {}),
    async close() {
      for (const c of closers.reverse()) await c();
    },
  };
}
