import assert from 'node:assert/strict';
import { eventWorkflowId } from '../../src/domain/ids';
import { onboardingStatusQuery } from '../../src/workflows/onboarding/messages';
import type { onboardingWorkflow } from '../../src/workflows/onboarding/onboarding';
import { makeRecord } from '../helpers/records';
import { buttonsFor, clickAs } from '../helpers/slack-clicks';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { waitFor, resultWhenStarted } from '../helpers/wait';

const SCIM_400 = {
  method: 'POST',
  path: '/Users',
  status: 400,
  body: {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
    status: '400',
    scimType: 'invalidValue',
    detail: 'title too long',
  },
} as const;

/**
 * An open exception has an owner: the system's owners get a fix-and-retry task in Slack (with the task SLA's
 * reminders and escalation), their Done retries the step; and nobody fixing it does not hold the person forever.
 */
describe('exceptions have owners: a fix-and-retry task in Slack, and a give-up time', function () {
  this.timeout(180_000);
  let t: TenureHarness;
  const owner = { id: 'UWENDY', email: 'wendy.wiki@acme.example', name: 'wendy' };

  before(async () => {
    t = await startTenure({
      slack: true,
      policy: (p) => ({
        ...p,
        people: {
          teams: { 'wiki-team': [owner.email] },
          fallbackApprovers: ['it-oncall@acme.example'],
          exceptions: { giveUpAfter: '8s' },
        },
        systems: p.systems.map((s) => (s.id === 'wiki' ? { ...s, owner: 'wiki-team' } : s)),
      }),
    });
    t.slack?.addUser(owner);
    t.slack?.addUser({ id: 'UONCALL', email: 'it-oncall@acme.example', name: 'oncall' });
  });
  after(async () => {
    await t?.stop();
  });

  it("the wiki's owners are asked in Slack; their Done retries the step and the hire completes", async () => {
    t.app.faults.next(1, SCIM_400);
    const record = makeRecord({ hireDate: '2026-01-05' });
    const eventId = `owner-${record.hrId}`;
    assert.equal((await t.tenure.sendEvent({ eventId, kind: 'hire', record })).outcome, 'accepted');
    const handle = t.client.workflow.getHandle<typeof onboardingWorkflow>(
      eventWorkflowId(record.hrId, 'hire', eventId),
    );

    await waitFor(
      () => buttonsFor(t.slack, owner.id).some((m) => /Fix a failed step/.test(JSON.stringify(m.blocks))),
      30_000,
      'the owner task in Slack',
    );
    const status = await handle.query(onboardingStatusQuery);
    const step = status.steps.find((s) => s.id === 'create_account:wiki');
    assert.equal(step?.state, 'exception');
    assert.deepEqual(step?.exceptionOwners, [owner.id]);
    assert.ok(step?.exceptionTask && step.abandonAt);

    const message = buttonsFor(t.slack, owner.id).find((m) => /Fix a failed step/.test(JSON.stringify(m.blocks)));
    assert.ok(message);
    const click = await clickAs(t, message, owner.id, 'done');
    assert.equal(click.status, 200, click.body);

    const done = await handle.result();
    assert.equal(done.steps.find((s) => s.id === 'create_account:wiki')?.state, 'succeeded');
    assert.equal(done.steps.find((s) => s.id === 'activate_account:wiki')?.state, 'succeeded');
    assert.deepEqual(done.exceptions, []);
    const mine = t.app.users().filter((u) => u.externalId === record.hrId);
    assert.equal(mine.length, 1);
    assert.equal(mine[0]?.active, true);
    const actions: string[] = [];
    for await (const e of t.audit.stream({ hrId: record.hrId })) actions.push(`${e.action}:${e.outcome}`);
    assert.ok(actions.includes('exception_opened:owner_task'), actions.join(','));
  });

  it('an exception nobody fixes is abandoned with evidence, its dependents skipped, and the run ends', async () => {
    t.app.faults.next(20, SCIM_400);
    const record = makeRecord({ hireDate: '2026-01-05' });
    const eventId = `abandon-${record.hrId}`;
    assert.equal((await t.tenure.sendEvent({ eventId, kind: 'hire', record })).outcome, 'accepted');
    const handle = t.client.workflow.getHandle<typeof onboardingWorkflow>(
      eventWorkflowId(record.hrId, 'hire', eventId),
    );
    // The entity tries the hire itself and hands it over when the app refuses: the run of its own waits for the owners.
    const done = await resultWhenStarted(handle);
    t.app.faults.clear();
    const byId = Object.fromEntries(done.steps.map((s) => [s.id, s]));
    assert.equal(byId['create_account:wiki']?.state, 'skipped');
    assert.match(byId['create_account:wiki']?.outcome ?? '', /abandoned/);
    assert.equal(byId['activate_account:wiki']?.state, 'skipped');
    assert.equal(byId['activate_account:idp']?.state, 'succeeded');
    assert.deepEqual(done.exceptions, []);
    const actions: string[] = [];
    for await (const e of t.audit.stream({ hrId: record.hrId })) actions.push(e.action);
    assert.ok(actions.includes('exception_abandoned'), actions.join(','));

    // The person is not held: a later change is accepted and runs.
    const change = await t.tenure.sendEvent({
      eventId: `${eventId}-title`,
      kind: 'change',
      record: { ...record, status: 'active', title: 'Staff Engineer', sourceUpdatedAt: new Date().toISOString() },
    });
    assert.equal(change.outcome, 'accepted', JSON.stringify(change));
  });
});
