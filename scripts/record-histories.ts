/**
 * Records workflow histories for the replay tests (test/workflows/replay.test.ts): runs real scenarios on a
 * fresh dev server and saves each run's history as JSON. Run it when a workflow change is deployed, so the
 * next change is replayed against what production has: `node -r tsx/cjs scripts/record-histories.ts`.
 */
import { writeFileSync } from 'node:fs';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { join } from 'node:path';
import { retryStep } from '../src/client/operations';
import { eventWorkflowId, employeeWorkflowId } from '../src/domain/ids';
import { makeRecord } from '../test/helpers/records';
import { startSharedServer, stopSharedServer } from '../test/helpers/temporal';
import { startTenure } from '../test/helpers/tenure';

const OUT = join(__dirname, '..', 'test', 'workflows', 'histories');

async function main(): Promise<void> {
  await startSharedServer();
  const t = await startTenure();
  try {
    const save = async (name: string, workflowId: string): Promise<void> => {
      const history = await t.client.workflow.getHandle(workflowId).fetchHistory();
      writeFileSync(
        join(OUT, `${name}.json`),
        `{"workflowId": ${JSON.stringify(workflowId)}, "history": ${historyToJSON(history)}}\n`,
      );
    };
    // A hire that runs at once (late), then a voluntary exit already past, then the entity.
    const r = makeRecord({ hrId: 'REPLAY1', hireDate: '2025-02-03' });
    await t.tenure.sendEvent({ eventId: 'hire-1', kind: 'hire', record: r });
    const hireId = eventWorkflowId(r.hrId, 'hire', 'hire-1');
    await waitResult(t, hireId);
    await save('onboarding-late', hireId);
    await t.tenure.sendEvent({
      eventId: 'exit-1',
      kind: 'termination',
      record: { ...r, exitDate: '2025-06-30', exitKind: 'voluntary', sourceUpdatedAt: new Date().toISOString() },
    });
    const exitId = eventWorkflowId(r.hrId, 'termination', 'exit-1');
    await waitResult(t, exitId);
    await save('offboarding', exitId);
    await save('employee', employeeWorkflowId(r.hrId));

    // An exception retried by an operator.
    t.app.faults.next(1, {
      method: 'POST',
      path: '/Users',
      status: 400,
      body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', detail: 'bad' },
    });
    const r2 = makeRecord({ hrId: 'REPLAY2', hireDate: '2025-02-03' });
    await t.tenure.sendEvent({ eventId: 'hire-2', kind: 'hire', record: r2 });
    const id2 = eventWorkflowId(r2.hrId, 'hire', 'hire-2');

    for (;;) {
      try {
        await retryStep(t.client, r2.hrId, 'create_account:wiki');
        break;
      } catch {
        await new Promise((res) => setTimeout(res, 300));
      }
    }
    await waitResult(t, id2);
    await save('onboarding-exception-retry', id2);
  } finally {
    await t.stop();
    await stopSharedServer();
  }
}

async function waitResult(t: Awaited<ReturnType<typeof startTenure>>, id: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await t.client.workflow.getHandle(id).result();
      return;
    } catch {
      await new Promise((res) => setTimeout(res, 300));
    }
  }
  throw new Error(`${id} did not finish`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
