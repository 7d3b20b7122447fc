/**
 * The floor: one workflow per hire, the identity provider's account first and then the app's (SSO-first order),
 * each one activity (bench/floor/activities.ts). What a hire costs Temporal at the least, whatever Tenure's design.
 */
import { proxyActivities } from '@temporalio/workflow';
import type * as activities from './activities';

const { createFloorAccount } = proxyActivities<typeof activities>({ startToCloseTimeout: '1 minute' });

export interface FloorHire {
  person: string;
  systems: { system: string; url: string }[];
}

export async function floorWorkflow(hire: FloorHire): Promise<string[]> {
  const ids: string[] = [];
  for (const s of hire.systems) ids.push(await createFloorAccount({ ...s, person: hire.person }));
  return ids;
}
