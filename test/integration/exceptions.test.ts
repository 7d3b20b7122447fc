import assert from 'node:assert/strict';
import type { WorkflowUpdateFailedError } from '@temporalio/client';
import { adoptCurrentPolicy, retryStep } from '../../src/client/operations';
import { eventWorkflowId } from '../../src/domain/ids';
import { onboardingStatusQuery } from '../../src/workflows/onboarding/messages';
import type { onboardingWorkflow } from '../../src/workflows/onboarding/onboarding';
import { WAITING_ON } from '../../src/workflows/search-attributes';
import { makeRecord } from '../helpers/records';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { waitFor } from '../helpers/wait';

/** A permanent failure is an open exception an operator retries; it blocks only what depends on it. */
describe('exceptions: a 400 from an app becomes an exception an operator retries', function () {
  this.timeout(120_000);
  let t: TenureHarness;

  before(async () => {
    t = await startTenure();
  });
  after(async () => {
    await t?.stop();
  });

  it('keeps the identity provider going, shows the exception, and completes after `tenure retry`', async () => {
    // The app refuses account creation with a 400 until somebody fixes it.
    t.app.faults.next(1, {
      method: 'POST',
      path: '/Users',
      status: 400,
      body: {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
        status: '400',
        scimType: 'invalidValue',
        detail: 'title too long',
      },
    });
    const record = makeRecord({ hireDate: '2026-01-05' }); // already past: runs at once, flagged late
    const eventId = `evt-${record.hrId}`;
    const answer = await t.tenure.sendEvent({ eventId, kind: 'hire', record });
    assert.equal(answer.outcome, 'accepted', JSON.stringify(answer));
    const handle = t.client.workflow.getHandle<typeof onboardingWorkflow>(
      eventWorkflowId(record.hrId, 'hire', eventId),
    );

    await waitFor(async () => (await handle.query(onboardingStatusQuery)).exceptions.length > 0, 30_000, 'exception');
    await waitFor(
      async () =>
        (await handle.query(onboardingStatusQuery)).steps.find((s) => s.id === 'activate_account:idp')?.state ===
        'succeeded',
      30_000,
      'IdP activation despite the app exception',
    );
    const status = await handle.query(onboardingStatusQuery);
    assert.equal(status.late, true);
    assert.deepEqual(status.exceptions, ['create_account:wiki']);
    const wiki = status.steps.find((s) => s.id === 'create_account:wiki');
    assert.equal(wiki?.state, 'exception');
    assert.match(wiki?.error ?? '', /400|title too long|invalidValue/);
    assert.equal(status.steps.find((s) => s.id === 'activate_account:wiki')?.state, 'pending');
    await waitFor(
      async () => (await handle.describe()).typedSearchAttributes.get(WAITING_ON) === 'operator:create_account:wiki',
    );
    let found = false;
    for await (const wf of t.client.workflow.list({
      query: `TenureWaitingOn = "operator:create_account:wiki" AND TenureEmployeeId = "${record.hrId}"`,
    })) {
      found = found || wf.workflowId === handle.workflowId;
    }
    assert.ok(found, 'operators find runs waiting on them by search attribute');

    // Retrying a step that is not in exception is refused with a reason; the run is unchanged.
    await assert.rejects(retryStep(t.client, record.hrId, 'create_account:idp'), (err: WorkflowUpdateFailedError) =>
      /not in exception/.test(String(err.cause?.message)),
    );
    // A running plan keeps its policy version.
    await assert.rejects(adoptCurrentPolicy(t.client, record.hrId), (err: WorkflowUpdateFailedError) =>
      /keeps the policy it started with/.test(String(err.cause?.message)),
    );

    // The cause is fixed (the fault was one-shot); the operator retries.
    await retryStep(t.client, record.hrId, 'create_account:wiki');
    const final = await handle.result();
    assert.equal(final.stage, 'completed');
    assert.deepEqual(final.exceptions, []);
    assert.equal(final.steps.find((s) => s.id === 'create_account:wiki')?.runs, 2);
    assert.ok(t.app.users().some((u) => u.externalId === record.hrId && u.active));
    assert.equal((await handle.describe()).typedSearchAttributes.get(WAITING_ON), undefined);

    const evidence = [];
    for await (const e of t.audit.stream({ hrId: record.hrId })) evidence.push(e);
    assert.ok(evidence.some((e) => e.action === 'create_account' && e.systemId === 'wiki' && e.outcome === 'failed'));
    assert.ok(evidence.some((e) => e.action === 'create_account' && e.systemId === 'wiki' && e.outcome === 'created'));
  });
});
