import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { dataConverter, loadKeyRing } from '../../src/codec';
import type { SendEventResult } from '../../src/client/tenure-client';
import { TenureClient } from '../../src/client/tenure-client';
import type { ScimPeer } from '../../src/dev/scim-peer';
import { employeeWorkflowId, eventWorkflowId } from '../../src/domain/ids';
import { ENTITY_PRIORITY } from '../../src/domain/priority';
import { employeeStatusQuery } from '../../src/workflows/employee/messages';
import type { onboardingWorkflow } from '../../src/workflows/onboarding/onboarding';
import { entryPointSetup, spawnEntryPoint } from '../helpers/processes';
import { daysAgo, makeRecord } from '../helpers/records';
import { connectClient } from '../helpers/temporal';
import { resultWhenStarted } from '../helpers/wait';

/**
 * A burst at the intake (docs/webhook.md, "Bursts"): the real intake entry point, told to deliver at most two events
 * at once and to wait half a second for room, with no worker yet, so the two it admits stay in flight. The other
 * senders are answered 503 `overloaded` at once instead of being held until they time out, and nothing of their
 * events started; once a worker runs, the held two are accepted, the refused ones sent again are accepted too (not
 * duplicates), and every hire ends with its account. The entities run at a higher task priority than their runs.
 */
describe('intake under a burst: 503 overloaded with Retry-After, and nothing lost', function () {
  this.timeout(300_000);
  const stops: (() => Promise<unknown>)[] = [];
  let idp: ScimPeer;
  let client: Client;
  let vars: Record<string, string>;
  let url: string;
  let secret: string;

  before(async () => {
    const setup = await entryPointSetup('burst', ['idp'], stops);
    ({ vars, intakeUrl: url, webhookSecret: secret } = setup);
    idp = setup.peers.idp as ScimPeer;
    const intake = spawnEntryPoint(
      'intake',
      { ...vars, TENURE_INTAKE_MAX_IN_FLIGHT: '2', TENURE_INTAKE_MAX_WAIT_MS: '500' },
      'intake',
    );
    stops.push(() => intake.kill('SIGTERM'));
    await intake.waitForLine(/intake server listening/, 120_000);
    const c = await connectClient(dataConverter(loadKeyRing(vars)));
    stops.push(c.close);
    client = c.client;
  });

  after(async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  });

  it('answers the senders past the limit 503 overloaded at once; resent later, every hire runs once', async () => {
    const records = Array.from({ length: 5 }, () => makeRecord({ hireDate: daysAgo(2) }));
    const event = (r: (typeof records)[number]) => ({ eventId: `hire-${r.hrId}`, kind: 'hire' as const, record: r });
    // Senders that do not resend by themselves, so the first answers are visible.
    const once = new TenureClient({ url, secret, overloadRetries: 0 });
    const answers = new Map<string, SendEventResult>();
    const pending = records.map((r) =>
      once.sendEvent(event(r)).then((a) => {
        answers.set(r.hrId, a);
        return a;
      }),
    );
    // No worker yet: two are admitted and wait for their entity's answer; three are answered while they wait.
    for (let i = 0; i < 600 && answers.size < 3; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(answers.size, 3, `three answered while two are held: ${JSON.stringify([...answers.values()])}`);
    const refused = records.filter((r) => answers.has(r.hrId));
    const held = records.filter((r) => !answers.has(r.hrId));
    for (const r of refused) {
      const a = answers.get(r.hrId);
      assert.equal(a?.status, 503, JSON.stringify(a));
      assert.equal(a?.outcome, 'refused');
      if (a?.outcome === 'refused') {
        assert.equal(a.error, 'overloaded');
        assert.match(a.message, /send it again \(same eventId\) after \d+ seconds/);
      }
      // Nothing of a refused event started.
      await assert.rejects(client.workflow.getHandle(employeeWorkflowId(r.hrId)).describe(), WorkflowNotFoundError);
    }

    const worker = spawnEntryPoint('worker', vars, 'worker');
    stops.push(() => worker.kill('SIGKILL'));
    await worker.waitForLine(/worker started/, 240_000);
    for (const a of await Promise.all(pending.filter((_, i) => held.includes(records[i] as never)))) {
      assert.equal(a.status, 202, JSON.stringify(a));
    }
    // Sent again (as HR systems do after Retry-After): accepted, not duplicates: the first sends delivered nothing.
    const resend = new TenureClient({ url, secret });
    for (const r of refused) {
      const a = await resend.sendEvent(event(r));
      assert.equal(a.status, 202, JSON.stringify(a));
      assert.equal(a.outcome, 'accepted');
    }
    for (const r of records) {
      const handle = client.workflow.getHandle<typeof onboardingWorkflow>(
        eventWorkflowId(r.hrId, 'hire', `hire-${r.hrId}`),
      );
      const result = await resultWhenStarted(handle, 60_000);
      assert.equal(result.stage, 'completed', JSON.stringify(result.steps));
      const mine = idp.users().filter((u) => u.externalId === r.hrId);
      assert.equal(mine.length, 1, `one account for ${r.hrId}`);
      assert.equal(mine[0]?.active, true);
      // The entity's tasks (the intake's answers) go ahead of runs of their own (src/domain/priority.ts); these late
      // hires wait on nobody, so the entity carried them out itself (docs/decisions/0004): no run workflow.
      const entity = client.workflow.getHandle(employeeWorkflowId(r.hrId));
      assert.equal((await entity.describe()).priority?.priorityKey, ENTITY_PRIORITY);
      const log = (await entity.query(employeeStatusQuery)).events;
      assert.equal(log.find((e) => e.workflowId === handle.workflowId)?.carriedOut, 'entity');
    }
  });
});
