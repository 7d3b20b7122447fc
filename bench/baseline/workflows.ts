/** The raw-Temporal baseline: a trivial workflow with two no-op activities (bench/lib/baseline.ts). */
import { proxyActivities } from '@temporalio/workflow';
import type * as activities from './activities';

const { first, second } = proxyActivities<typeof activities>({ startToCloseTimeout: '1 minute' });

export async function baselineWorkflow(n: number): Promise<number> {
  await first(n);
  return second(n);
}
