/** Production intake server entry point: `node dist/client/intake-main.js`. */
import { connectClient, openAudit, startIntake, startObservability } from '../app/compose';
import { loadSettings } from '../app/settings';
import { createLogger } from '../logger';

async function main(): Promise<void> {
  const log = createLogger('tenure-intake');
  const settings = loadSettings();
  const audit = await openAudit(settings);
  const { client, close } = await connectClient(settings);
  const intake = await startIntake(settings, { client, audit, logger: log });
  const observability = await startObservability(settings, 'intake', { client });
  const stop = async (): Promise<void> => {
    await intake.close();
    await observability.close();
    await close();
    await audit.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  log.info(
    { url: intake.url, temporal: settings.temporal.summary, metrics: observability.url },
    'intake server listening',
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`tenure intake: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
