import type { DataConverter } from '@temporalio/common';
import type { NativeConnection, WorkflowBundle } from '@temporalio/worker';
import { Worker } from '@temporalio/worker';
import type { TenureActivities } from '../activities';

/** Path the worker bundles workflow code from. */
export const WORKFLOWS_PATH = require.resolve('../workflows');

export interface TenureWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: TenureActivities;
  /** A pre-built bundle (tests share one); otherwise the worker bundles `WORKFLOWS_PATH`. */
  workflowBundle?: WorkflowBundle;
  /** Payload encryption (src/codec): the same converter as every client's. */
  dataConverter?: DataConverter;
  /** Worker identity shown in the Web UI. */
  identity?: string;
}

export async function createTenureWorker(o: TenureWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: o.taskQueue,
    activities: o.activities,
    ...(o.identity ? { identity: o.identity } : {}),
    ...(o.dataConverter ? { dataConverter: o.dataConverter } : {}),
    ...(o.workflowBundle ? { workflowBundle: o.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
  });
}
