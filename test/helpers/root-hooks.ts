import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startSharedServer, stopSharedServer } from './temporal';

/** Mocha root hooks: one Temporal dev server for the run; SDK logs only warnings. */
export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    this.timeout(180_000);
    Runtime.install({
      logger: new DefaultLogger('WARN'),
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
