/**
 * The floor's worker (bench/lib/floor.ts): the SDK's defaults, like the baseline's (bench/lib/raw-worker.ts), plus
 * Tenure's payload codec, since a hire's personal data is never stored in the clear (`TENURE_CODEC_KEYS`), and the
 * audit database (`BENCH_DATABASE_URL`).
 */
import { dataConverter, loadKeyRing } from '../../src/codec';
import { runRawWorker } from '../lib/raw-worker';
import * as activities from './activities';

runRawWorker({
  name: 'floor',
  workflowsPath: require.resolve('./workflows'),
  activities,
  dataConverter: dataConverter(loadKeyRing(process.env)),
  onDrained: () => activities.closeFloorActivities(),
});
