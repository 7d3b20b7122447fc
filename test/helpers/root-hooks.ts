import type { LogEntry } from '@temporalio/worker';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startSharedServer, stopSharedServer } from './temporal';

/** Every line the Temporal SDK logged in this run (workers, workflows, activities), for tests that scan logs. */
export const sdkLogLines: LogEntry[] = [];

const PRINTED = new Set(['WARN', 'ERROR']);

/** Mocha root hooks: one Temporal dev server for the run; SDK logs kept in memory, warnings printed. */
export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    this.timeout(180_000);
    Runtime.install({
      logger: new DefaultLogger('DEBUG', (entry) => {
        sdkLogLines.push(entry);
        if (PRINTED.has(entry.level) && !process.env.TENURE_QUIET_TESTS) {
          process.stderr.write(`[sdk ${entry.level}] ${entry.message} ${JSON.stringify(entry.meta ?? {})}\n`);
        }
      }),
      telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'WARN' } } },
      shutdownSignals: [],
    });
    await startSharedServer();
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(30_000);
    await stopSharedServer();
  },
};
