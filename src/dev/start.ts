/**
 * `npm start`: Tenure on embedded defaults, on one machine.
 * Temporal dev server (Web UI on :8233, SQLite in .data/), two local SCIM servers the dev policy points at,
 * the worker and the intake server. Ctrl-C stops everything.
 */
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createActivities } from '../activities';
import { openAuditStore, startEmbeddedAuditServer } from '../activities/audit';
import { buildConnectors } from '../activities/connectors';
import { loadEnv } from '../config/env';
import { loadPolicyFile } from '../config/policy-file';
import { bambooWebhookConfigFromEnv } from '../client/bamboohr-webhook';
import { slackInteractivityFromEnv, startIntakeServer } from '../client/intake';
import { createLogger } from '../logger';
import { createTenureWorker } from '../workers/worker';
import { startScimPeer } from './scim-peer';
import { dataConverter, loadKeyRing } from '../codec';
import { capabilityPath } from '../client/codec-server';
import { dataDir, devEnvFile, ensureDevEnv } from './dev-env';
import { startDevServer } from './temporal-server';

const DATA_DIR = dataDir();
const DEV_ENV_FILE = devEnvFile();

async function main(): Promise<void> {
  const log = createLogger('tenure-dev');
  const devEnv = { ...ensureDevEnv(), ...process.env };
  const env = loadEnv(devEnv);
  const loaded = loadPolicyFile(env.TENURE_POLICY);
  const keyRing = loadKeyRing(devEnv);
  const converter = dataConverter(keyRing);
  const codecToken = env.TENURE_CODEC_TOKEN ?? '';
  const uiCodecEndpoint = `http://127.0.0.1:${env.TENURE_INTAKE_PORT}/codec${capabilityPath(codecToken)}`;
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(0)));
  process.once('SIGTERM', () => void stopAll().then(() => process.exit(0)));

  try {
    const peers: string[] = [];
    if (!process.env.TENURE_POLICY) {
      for (const [name, port] of [
        ['idp', 7301],
        ['wiki', 7302],
      ] as const) {
        const peer = await startScimPeer({ name, port });
        stops.push(() => peer.close());
        peers.push(`  SCIM ${name.padEnd(13)} ${peer.url}`);
      }
    }
    let auditWhere = 'Postgres (DATABASE_URL)';
    let databaseUrl = env.DATABASE_URL;
    if (!databaseUrl) {
      const embedded = await startEmbeddedAuditServer({ dataDir: join(DATA_DIR, 'audit') });
      stops.push(() => embedded.close());
      databaseUrl = embedded.databaseUrl;
      auditWhere = `embedded PGlite in ${join(DATA_DIR, 'audit')}, served on 127.0.0.1:${embedded.port}`;
    }
    const audit = await openAuditStore({ databaseUrl });
    stops.push(() => audit.close());

    const server = await startDevServer({
      port: 7233,
      uiPort: 8233,
      dbFile: join(DATA_DIR, 'temporal.db'),
      uiCodecEndpoint,
      logFile: join(DATA_DIR, 'temporal.log'),
    });
    stops.push(() => server.stop());

    const nativeConnection = await NativeConnection.connect({ address: server.address });
    const worker = await createTenureWorker({
      connection: nativeConnection,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue: env.TENURE_TASK_QUEUE,
      dataConverter: converter,
      activities: createActivities({ policy: loaded, connectors: buildConnectors(loaded.policy), audit }),
    });
    const running = worker.run();
    stops.push(async () => {
      worker.shutdown();
      await running;
      await nativeConnection.close();
    });

    const connection = await Connection.connect({ address: server.address });
    stops.push(() => connection.close());
    const intake = await startIntakeServer({
      client: new Client({ connection, namespace: env.TEMPORAL_NAMESPACE, dataConverter: converter }),
      codec: {
        codec: converter.payloadCodecs[0],
        token: codecToken,
        allowedOrigins: env.TENURE_UI_ORIGINS.split(',').map((o) => o.trim()),
      },
      taskQueue: env.TENURE_TASK_QUEUE,
      webhookSecret: env.TENURE_WEBHOOK_SECRET,
      logger: log,
      audit,
      bamboo: bambooWebhookConfigFromEnv(),
      policy: loaded,
      ...slackInteractivityFromEnv(env, loaded.policy),
      port: env.TENURE_INTAKE_PORT,
      host: env.TENURE_INTAKE_HOST,
    });
    stops.push(() => intake.close());

    process.stdout.write(
      [
        '',
        'Tenure is running:',
        `  Temporal gRPC      ${server.address}`,
        `  Temporal Web UI    ${server.uiUrl ?? '(headless)'}  (payloads decoded through the intake's /codec endpoint)`,
        `  Intake server      ${intake.url}  (POST /webhooks/hr)`,
        `  Worker             task queue "${env.TENURE_TASK_QUEUE}", policy ${loaded.path} (version ${loaded.version})`,
        ...peers,
        `  Audit store        ${auditWhere}`,
        `  Data               ${DATA_DIR}  (webhook secret in ${DEV_ENV_FILE})`,
        '',
        'Try a hire:  npm run tenure -- demo-hire      Stop: Ctrl-C',
        '',
      ].join('\n'),
    );
  } catch (err) {
    await stopAll();
    throw err;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`tenure: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
