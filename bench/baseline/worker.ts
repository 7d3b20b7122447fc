/** The baseline's worker: raw Temporal with the SDK's defaults (bench/lib/raw-worker.ts). */
import { runRawWorker } from '../lib/raw-worker';
import * as activities from './activities';

runRawWorker({ name: 'baseline', workflowsPath: require.resolve('./workflows'), activities });
