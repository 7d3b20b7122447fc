/** Production worker entry point: `node -r tsx/cjs src/workers/main.ts` (or `dist/workers/main.js`). */
import { NativeConnection } from '@temporalio/worker';
import { createActivities } from '../activities';
import { openAuditStore } from '../activities/audit';
import { join } from 'node:path';
import { dataDir } from '../dev/dev-env';
import { buildConnectors } from '../activities/connectors';
import { loadEnv } from '../config/env';
import { loadPolicyFile } from '../config/policy-file';
import { createLogger } from '../logger';
import { createTenureWorker } from './worker';
import { dataConverter, loadKeyRing } from '../codec';

async function main(): Promise<void> {
  const log = createLogger('tenure-worker');
  const env = loadEnv();
  const loaded = loadPolicyFile(env.TENURE_POLICY);
  const converter = dataConverter(loadKeyRing());
  const audit = await openAuditStore(
    env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : { dataDir: join(dataDir(), 'audit') },
  );
  const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
  const worker = await createTenureWorker({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TENURE_TASK_QUEUE,
    dataConverter: converter,
    activities: createActivities({ policy: loaded, connectors: buildConnectors(loaded.policy), audit }),
  });
  log.info({ taskQueue: env.TENURE_TASK_QUEUE, policyVersion: loaded.version }, 'worker started');
  await worker.run();
  await connection.close();
  await audit.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`tenure worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
