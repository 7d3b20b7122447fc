/** Production intake server entry point. */
import { Client, Connection } from '@temporalio/client';
import { loadEnv } from '../config/env';
import { loadPolicyFile } from '../config/policy-file';
import { createLogger } from '../logger';
import { bambooWebhookConfigFromEnv } from './bamboohr-webhook';
import { slackInteractivityFromEnv, startIntakeServer } from './intake';
import { dataConverter, loadKeyRing } from '../codec';
import { openAuditStore } from '../activities/audit';
import { join } from 'node:path';
import { dataDir } from '../dev/dev-env';

async function main(): Promise<void> {
  const log = createLogger('tenure-intake');
  const env = loadEnv();
  const audit = await openAuditStore(
    env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : { dataDir: join(dataDir(), 'audit') },
  );
  const converter = dataConverter(loadKeyRing());
  const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
  const client = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE, dataConverter: converter });
  const intake = await startIntakeServer({
    client,
    taskQueue: env.TENURE_TASK_QUEUE,
    webhookSecret: env.TENURE_WEBHOOK_SECRET,
    logger: log,
    audit,
    bamboo: bambooWebhookConfigFromEnv(),
    policy: loadPolicyFile(env.TENURE_POLICY),
    ...slackInteractivityFromEnv(env, loadPolicyFile(env.TENURE_POLICY).policy),
    ...(env.TENURE_CODEC_TOKEN
      ? {
          codec: {
            codec: converter.payloadCodecs[0],
            token: env.TENURE_CODEC_TOKEN,
            allowedOrigins: env.TENURE_UI_ORIGINS.split(',').map((o) => o.trim()),
          },
        }
      : {}),
    port: env.TENURE_INTAKE_PORT,
    host: env.TENURE_INTAKE_HOST,
  });
  log.info({ url: intake.url }, 'intake server listening');
}

main().catch((err: unknown) => {
  process.stderr.write(`tenure intake: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
