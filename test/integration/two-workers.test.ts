import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { stringify } from 'yaml';
import type { EmbeddedAuditServer } from '../../src/activities/audit';
import { openAuditStore, startEmbeddedAuditServer } from '../../src/activities/audit';
import { dataConverter, generateKey, loadKeyRing } from '../../src/codec';
import { TenureClient } from '../../src/client/tenure-client';
import { freePort } from '../../src/dev/ports';
import type { ScimPeer } from '../../src/dev/scim-peer';
import { startScimPeer } from '../../src/dev/scim-peer';
import { eventWorkflowId } from '../../src/domain/ids';
import type { onboardingWorkflow } from '../../src/workflows/onboarding/onboarding';
import type { TenureProcess } from '../helpers/processes';
import { spawnEntryPoint } from '../helpers/processes';
import { makeRecord } from '../helpers/records';
import { connectClient, uniqueTaskQueue, devServer } from '../helpers/temporal';
import { resultWhenStarted } from '../helpers/wait';

/**
 * Scale out by adding worker processes (docs/scaling.md): two real worker entry points (src/workers/main.ts) on one
 * task queue, sharing one audit store, both take work. Which worker ran an activity is recorded by the server in
 * the run's history (the identity on ActivityTaskStarted), so the test reads it from there; every hire still ends
 * with exactly one active account per system and its evidence, whichever worker ran which step.
 */
describe('two worker processes on one task queue', function () {
  this.timeout(300_000);
  const stops: (() => Promise<unknown>)[] = [];
  let idp: ScimPeer;
  let wiki: ScimPeer;
  let tenure: TenureClient;
  let client: Client;
  let audit: EmbeddedAuditServer;
  const workers: TenureProcess[] = [];

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tenure-two-workers-'));
    stops.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
    audit = await startEmbeddedAuditServer({ dataDir: join(dir, 'audit') });
    stops.push(() => audit.close());
    idp = await startScimPeer({ name: 'idp' });
    stops.push(() => idp.close());
    wiki = await startScimPeer({ name: 'wiki' });
    stops.push(() => wiki.close());
    const policyFile = join(dir, 'policy.yaml');
    writeFileSync(
      policyFile,
      stringify({
        timing: { activationTime: '09:00', defaultTimeZone: 'UTC' },
        systems: [
          {
            id: 'idp',
            name: 'Identity provider',
            kind: 'identity-provider',
            connector: { type: 'scim', baseUrl: idp.url },
          },
          { id: 'wiki', name: 'Wiki', kind: 'app', connector: { type: 'scim', baseUrl: wiki.url }, dependsOn: ['idp'] },
        ],
        birthright: [{ name: 'everyone', systems: ['idp', 'wiki'] }],
      }),
    );
    const intakePort = await freePort();
    const webhookSecret = randomBytes(24).toString('hex');
    const vars: Record<string, string> = {
      TEMPORAL_ADDRESS: devServer().address,
      TEMPORAL_NAMESPACE: 'default',
      TENURE_TASK_QUEUE: uniqueTaskQueue('two-workers'),
      TENURE_POLICY: policyFile,
      TENURE_CODEC_KEYS: `k1:${generateKey()}`,
      TENURE_WEBHOOK_SECRET: webhookSecret,
      TENURE_INTAKE_PORT: String(intakePort),
      DATABASE_URL: audit.databaseUrl,
    };
    for (const identity of ['worker-1', 'worker-2']) {
      const w = spawnEntryPoint('worker', { ...vars, TENURE_WORKER_IDENTITY: identity }, identity);
      stops.push(() => w.kill('SIGKILL'));
      workers.push(w);
    }
    const intake = spawnEntryPoint('intake', vars, 'intake');
    stops.push(() => intake.kill('SIGTERM'));
    for (const w of workers) await w.waitForLine(/worker started/, 240_000);
    await intake.waitForLine(/intake server listening/, 120_000);
    tenure = new TenureClient({ url: `http://127.0.0.1:${intakePort}`, secret: webhookSecret });
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
      const history = await handle.fetchHistory();
      for (const e of history.events ?? []) {
        const identity = e.activityTaskStartedEventAttributes?.identity;
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
    const store = await openAuditStore({ databaseUrl: audit.databaseUrl });
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
