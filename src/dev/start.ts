/**
 * `npm start`: Tenure on embedded defaults, on one machine. The same Tenure as production (src/app/compose.ts),
 * plus what a laptop lacks: a Temporal dev server (Web UI on :8233, SQLite in .data/), an embedded audit store, and
 * a local stand-in for every outside system the policy names on this machine (SCIM servers, Slack, BambooHR).
 * Ctrl-C stops everything.
 */
import { join } from 'node:path';
import { openAuditStore, startEmbeddedAuditServer } from '../activities/audit';
import { connectClient, connectNative, startIntake, startWorker } from '../app/compose';
import { loadSettings } from '../app/settings';
import { uiCodecSettings } from '../client/codec-server';
import { identityProvider } from '../domain/policy';
import { createLogger } from '../logger';
import { dataDir, devEnvFile, ensureDevEnv } from './dev-env';
import { seedDemoManager, startLocalPeers } from './local-peers';
import { startSlackInbox } from './slack-inbox';
import { startDevServer } from './temporal-server';

const DEV_TEMPORAL_PORT = 7233;
const DEV_UI_PORT = 8233;
const DEV_SLACK_INBOX_PORT = 7311;

async function main(): Promise<void> {
  const log = createLogger('tenure-dev');
  const devEnv = ensureDevEnv();
  const vars = { ...devEnv, ...process.env, TEMPORAL_ADDRESS: `127.0.0.1:${DEV_TEMPORAL_PORT}` };
  const settings = loadSettings({ vars });
  const { env, policy } = settings;
  const DATA_DIR = dataDir(vars);
  const stops: (() => Promise<unknown>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(0)));
  process.once('SIGTERM', () => void stopAll().then(() => process.exit(0)));

  try {
    const peers = await startLocalPeers(policy.policy, vars);
    stops.push(() => peers.close());

    // The demo manager exists in the identity provider (approvals and welcomes find managers there) and in Slack.
    const idpSystem = identityProvider(policy.policy);
    if (peers.scim.has(idpSystem.id) && idpSystem.connector.type === 'scim') {
      await seedDemoManager(idpSystem.connector.baseUrl);
    }

    let auditWhere = 'Postgres (DATABASE_URL)';
    if (!env.DATABASE_URL) {
      const embedded = await startEmbeddedAuditServer({ dataDir: join(DATA_DIR, 'audit') });
      stops.push(() => embedded.close());
      settings.env.DATABASE_URL = embedded.databaseUrl;
      auditWhere = `embedded PGlite in ${join(DATA_DIR, 'audit')}, served on 127.0.0.1:${embedded.port}`;
    }
    const audit = await openAuditStore({ databaseUrl: settings.env.DATABASE_URL });
    stops.push(() => audit.close());

    const ui = uiCodecSettings(`http://127.0.0.1:${env.TENURE_INTAKE_PORT}/codec`);
    const server = await startDevServer({
      port: DEV_TEMPORAL_PORT,
      uiPort: DEV_UI_PORT,
      dbFile: join(DATA_DIR, 'temporal.db'),
      uiCodecEndpoint: ui.endpoint,
      logFile: join(DATA_DIR, 'temporal.log'),
    });
    stops.push(() => server.stop());

    const connection = await connectNative(settings);
    stops.push(() => connection.close());
    const worker = await startWorker(settings, audit, { connection });
    stops.push(() => worker.shutdown());

    const { client, close } = await connectClient(settings);
    stops.push(close);
    const intake = await startIntake(settings, { client, audit, logger: log });
    stops.push(() => intake.close());

    const lines = [...peers.describe()];
    if (peers.slack && env.TENURE_SLACK_SIGNING_SECRET) {
      const inbox = await startSlackInbox({
        slack: peers.slack,
        intakeUrl: intake.url,
        signingSecret: env.TENURE_SLACK_SIGNING_SECRET,
        port: DEV_SLACK_INBOX_PORT,
      });
      stops.push(() => inbox.close());
      lines.push(`  Slack workspace    ${inbox.url}  (messages and buttons, clicks signed as Slack signs them)`);
    }

    process.stdout.write(
      [
        '',
        'Tenure is running:',
        `  Temporal gRPC      ${server.address}`,
        `  Temporal Web UI    ${server.uiUrl ?? '(headless)'}  (payloads decoded through the intake's /codec endpoint:`,
        `                     sign in once at ${ui.loginUrl} with TENURE_CODEC_TOKEN from the secrets file, then turn on`,
        `                     "Include cross-origin credentials" in the UI's codec settings)`,
        `  Intake server      ${intake.url}  (POST /webhooks/hr, POST /slack/interactivity)`,
        `  Worker             task queue "${env.TENURE_TASK_QUEUE}", policy ${policy.path ?? env.TENURE_POLICY} (version ${policy.version})`,
        ...lines,
        `  Audit store        ${auditWhere}`,
        `  Data               ${DATA_DIR}  (secrets in ${devEnvFile(vars)})`,
        '',
        'Try a hire:  npm run demo -- hire      Stop: Ctrl-C',
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
