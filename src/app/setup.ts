/**
 * `tenure setup`: makes a Temporal cluster ready for Tenure, idempotently — the namespace (where the cluster lets a
 * client register one; on Temporal Cloud it is made in the Cloud console or with tcld, and must exist) and Tenure's
 * typed search attributes (DESIGN §5), through the operator API. Safe to run at every deployment: what exists is
 * left alone, a search attribute registered with another type is an error that names it.
 */
import type { Client, Connection } from '@temporalio/client';
import { loadPolicyFile } from '../config/policy-file';
import { TASK_QUEUE } from '../domain/ids';
import { ensureSyncSchedule } from '../sync/schedule';
import { ensureReconcileSchedule } from '../reconcile/schedule';
import { msToTs } from '@temporalio/common/lib/time';
import { SearchAttributeType } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { TENURE_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

const IVT = temporal.api.enums.v1.IndexedValueType;

const INDEXED_TYPE: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  [SearchAttributeType.KEYWORD]: IVT.INDEXED_VALUE_TYPE_KEYWORD,
  [SearchAttributeType.DATETIME]: IVT.INDEXED_VALUE_TYPE_DATETIME,
  [SearchAttributeType.TEXT]: IVT.INDEXED_VALUE_TYPE_TEXT,
  [SearchAttributeType.INT]: IVT.INDEXED_VALUE_TYPE_INT,
  [SearchAttributeType.BOOL]: IVT.INDEXED_VALUE_TYPE_BOOL,
  [SearchAttributeType.DOUBLE]: IVT.INDEXED_VALUE_TYPE_DOUBLE,
  [SearchAttributeType.KEYWORD_LIST]: IVT.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

export interface SetupReport {
  namespace: { name: string; outcome: 'exists' | 'created' };
  searchAttributes: { name: string; type: string; outcome: 'exists' | 'added' }[];
}

export interface SetupOptions {
  namespace: string;
  /** Retention of closed runs when the namespace is created. @default 30 days */
  retentionDays?: number;
  /** How long to wait for a new namespace or attribute to be visible. @default 60000 */
  waitMs?: number;
}

const GRPC_NOT_FOUND = 5;
const GRPC_ALREADY_EXISTS = 6;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function grpcCode(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? Number(err.code) : undefined;
}

async function namespaceExists(connection: Connection, namespace: string): Promise<boolean> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } catch (err) {
    if (grpcCode(err) === GRPC_NOT_FOUND) return false;
    throw err;
  }
}

async function until(what: string, waitMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + waitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`tenure setup: ${what} did not become visible within ${waitMs} ms`);
    await sleep(500);
  }
}

/** Registers what is missing; returns what it found and what it did. */
export async function setupCluster(connection: Connection, o: SetupOptions): Promise<SetupReport> {
  const waitMs = o.waitMs ?? 60_000;
  let nsOutcome: 'exists' | 'created' = 'exists';
  if (!(await namespaceExists(connection, o.namespace))) {
    try {
      await connection.workflowService.registerNamespace({
        namespace: o.namespace,
        workflowExecutionRetentionPeriod: msToTs(`${o.retentionDays ?? 30} days`),
        description: 'Tenure: HR-driven access lifecycle',
      });
      nsOutcome = 'created';
    } catch (err) {
      if (grpcCode(err) !== GRPC_ALREADY_EXISTS) {
        throw new Error(
          `tenure setup: namespace "${o.namespace}" does not exist and could not be created (${(err as Error).message}); ` +
            'create it on the cluster (Temporal Cloud: the Cloud console or tcld) and run setup again',
        );
      }
    }
    await until(`namespace "${o.namespace}"`, waitMs, () => namespaceExists(connection, o.namespace));
  }

  const list = async (): Promise<Record<string, number>> => {
    const res = await connection.operatorService.listSearchAttributes({ namespace: o.namespace });
    return Object.fromEntries(Object.entries(res.customAttributes ?? {}).map(([k, v]) => [k, Number(v)]));
  };
  // A namespace just created reaches every frontend's namespace cache a few seconds later.
  let existing: Record<string, number> = {};
  await until(`namespace "${o.namespace}" in the frontend`, waitMs, async () => {
    try {
      existing = await list();
      return true;
    } catch (err) {
      if (grpcCode(err) === GRPC_NOT_FOUND) return false;
      throw err;
    }
  });
  const report: SetupReport['searchAttributes'] = [];
  const missing: Record<string, temporal.api.enums.v1.IndexedValueType> = {};
  for (const key of TENURE_SEARCH_ATTRIBUTES) {
    const wanted = INDEXED_TYPE[key.type];
    if (wanted === undefined) throw new Error(`tenure setup: no indexed type for ${key.name} (${key.type})`);
    const have = existing[key.name];
    if (have === undefined) {
      missing[key.name] = wanted;
      report.push({ name: key.name, type: key.type, outcome: 'added' });
    } else if (have !== Number(wanted)) {
      throw new Error(
        `tenure setup: search attribute ${key.name} exists with type ${IVT[have] ?? have}, Tenure needs ${key.type}; ` +
          'remove it or use another namespace',
      );
    } else {
      report.push({ name: key.name, type: key.type, outcome: 'exists' });
    }
  }
  if (Object.keys(missing).length > 0) {
    try {
      await connection.operatorService.addSearchAttributes({ namespace: o.namespace, searchAttributes: missing });
    } catch (err) {
      if (grpcCode(err) !== GRPC_ALREADY_EXISTS) throw err;
    }
    await until('the search attributes', waitMs, async () => {
      const now = await list();
      return Object.keys(missing).every((name) => now[name] !== undefined);
    });
  }
  return { namespace: { name: o.namespace, outcome: nsOutcome }, searchAttributes: report };
}

/**
 * The daily roster sync's Temporal Schedule (src/sync/schedule.ts), created or updated to the policy's cron, when
 * `TENURE_POLICY` names a policy with a `sync` section; nothing otherwise. The worker does the same at start.
 */
export async function setupSyncSchedule(
  client: Client,
  vars: NodeJS.ProcessEnv,
): Promise<{ syncSchedule?: { scheduleId: string; outcome: 'created' | 'updated' } }> {
  if (!vars.TENURE_POLICY) return {};
  const sync = loadPolicyFile(vars.TENURE_POLICY).policy.sync;
  if (!sync) return {};
  return { syncSchedule: await ensureSyncSchedule(client, vars.TENURE_TASK_QUEUE ?? TASK_QUEUE, sync) };
}

/**
 * Drift reconciliation's Temporal Schedule (src/reconcile/schedule.ts), created or updated to the policy's cron, when
 * `TENURE_POLICY` names a policy with a `reconcile` section; nothing otherwise. The worker does the same at start.
 */
export async function setupReconcileSchedule(
  client: Client,
  vars: NodeJS.ProcessEnv,
): Promise<{ reconcileSchedule?: { scheduleId: string; outcome: 'created' | 'updated' } }> {
  if (!vars.TENURE_POLICY) return {};
  const reconcile = loadPolicyFile(vars.TENURE_POLICY).policy.reconcile;
  if (!reconcile) return {};
  return { reconcileSchedule: await ensureReconcileSchedule(client, vars.TENURE_TASK_QUEUE ?? TASK_QUEUE, reconcile) };
}
