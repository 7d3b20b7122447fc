import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { openAuditStore } from '../../src/activities/audit';
import { dataConverter, loadKeyRing } from '../../src/codec';
import { TenureClient } from '../../src/client/tenure-client';
import type { ScimPeer } from '../../src/dev/scim-peer';
import { employeeWorkflowId, eventWorkflowId } from '../../src/domain/ids';
import type { onboardingWorkflow } from '../../src/workflows/onboarding/onboarding';
import type { TenureProcess } from '../helpers/processes';
import { entryPointSetup, spawnEntryPoint } from '../helpers/processes';
import { makeRecord } from '../helpers/records';
import { connectClient } from '../helpers/temporal';
import { resultWhenStarted } from '../helpers/wait';

/**
 * Scale out by adding worker processes (docs/scaling.md): two real worker entry points (src/workers/main.ts) on one
 * task queue, sharing one audit store, both take work. Which worker ran a step is recorded by the server in the
 * history (the identity on ActivityTaskStarted; for a hire its entity carries out, whose steps are local activities,
 * on the entity's WorkflowTaskStarted), so the test reads it from there; every hire still ends
 * with exactly one active account per system and its evidence, whichever worker ran which step.
 */
describe('two worker processes on one task queue', function () {
  this.timeout(300_000);
  const stops: (() => Promise<unknown>)[] = [];
  let idp: ScimPeer;
  let wiki: ScimPeer;
  let tenure: TenureClient;
  let client: Client;
  let databaseUrl: string;
  const workers: TenureProcess[] = [];

  before(async () => {
    const setup = await entryPointSetup('two-workers', ['idp', 'wiki'], stops);
    const { vars, intakeUrl, webhookSecret } = setup;
    idp = setup.peers.idp as ScimPeer;
    wiki = setup.peers.wiki as ScimPeer;
    databaseUrl = setup.databaseUrl;
    for (const identity of ['worker-1', 'worker-2']) {
      const w = spawnEntryPoint('worker', { ...vars, TENURE_WORKER_IDENTITY: identity }, identity);
      stops.push(() => w.kill('SIGKILL'));
      workers.push(w);
    }
    const intake = spawnEntryPoint('intake', vars, 'intake');
    stops.push(() => intake.kill('SIGTERM'));
    for (const w of workers) await w.waitForLine(/worker started/, 240_000);
    await intake.waitForLine(/intake server listening/, 120_000);
    tenure = new TenureClient({ url: intakeUrl, secret: webhookSecret });
    const c = await connectClient(dataConverter(loadKeyRing(vars)));
    stops.push(c.close);
    client = c.client;
  });

  after(async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  });

  it('both workers run steps of the same hires, and every hire ends with one active account per system', async () => {
    const records = Array.from({ length: 16 }, () => makeRecord({ hireDate: '2025-01-06' }));
    const answers = await Promise.all(
      records.map((record) => tenure.sendEvent({ eventId: `hire-${record.hrId}`, kind: 'hire', record })),
    );
    for (const a of answers) assert.equal(a.status, 202, JSON.stringify(a));

    const identities = new Map<string, number>();
    for (const record of records) {
      const handle = client.workflow.getHandle<typeof onboardingWorkflow>(
        eventWorkflowId(record.hrId, 'hire', `hire-${record.hrId}`),
      );
      const result = await resultWhenStarted(handle, 60_000);
      assert.equal(result.stage, 'completed', JSON.stringify(result.steps));
      // Due and waiting on nobody, the hire is carried out by the person's entity, its steps local activities in the
      // entity's workflow task: the worker that took that task ran them.
      const history = await client.workflow.getHandle(employeeWorkflowId(record.hrId)).fetchHistory();
      for (const e of history.events ?? []) {
        const identity =
          e.activityTaskStartedEventAttributes?.identity ?? e.workflowTaskStartedEventAttributes?.identity;
        if (identity) identities.set(identity, (identities.get(identity) ?? 0) + 1);
      }
    }
    assert.deepEqual(
      [...identities.keys()].sort(),
      ['worker-1', 'worker-2'],
      `activities ran on: ${JSON.stringify([...identities])}`,
    );

    // Whichever worker ran which step: one active account per person per system, never a second one.
    for (const peer of [idp, wiki]) {
      for (const record of records) {
        const mine = peer.users().filter((u) => u.externalId === record.hrId);
        assert.equal(mine.length, 1, `${peer.name}: one account for ${record.hrId}`);
        assert.equal(mine[0]?.active, true, `${peer.name}: ${record.hrId} active`);
      }
    }
    // Both processes wrote to the one audit store: each account's creation is there once.
    const store = await openAuditStore({ databaseUrl });
    try {
      for (const record of records) {
        const created: string[] = [];
        for await (const e of store.stream({ hrId: record.hrId })) {
          if (e.action === 'create_account') created.push(e.systemId ?? '');
        }
        assert.deepEqual(created.sort(), ['idp', 'wiki'], record.hrId);
      }
    } finally {
      await store.close();
    }
  });
});
