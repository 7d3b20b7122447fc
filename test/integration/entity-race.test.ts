import assert from 'node:assert/strict';
import type { EmployeeRecord } from '../../src/domain/employee';
import { employeeWorkflowId, eventWorkflowId } from '../../src/domain/ids';
import { employeeStatusQuery } from '../../src/workflows/employee/messages';
import type { OnboardingStatus } from '../../src/workflows/onboarding/messages';
import { onboardingStatusQuery } from '../../src/workflows/onboarding/messages';
import { WAITING_ON } from '../../src/workflows/search-attributes';
import { makeRecord } from '../helpers/records';
import { workflowBundle } from '../helpers/temporal';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { resultWhenStarted, waitFor } from '../helpers/wait';

/** The entity serializes its handlers: concurrent deliveries cannot both pass a check made before an await. */
describe('entity: concurrent deliveries to one person never race', function () {
  this.timeout(180_000);
  let t: TenureHarness;

  before(async () => {
    await workflowBundle();
    t = await startTenure();
  });
  after(async () => {
    await t?.stop();
  });

  const entity = (hrId: string) => t.client.workflow.getHandle(employeeWorkflowId(hrId));

  async function runsOf(hrId: string, kind: string): Promise<string[]> {
    const ids: string[] = [];
    for await (const wf of t.client.workflow.list({
      query: `TenureEmployeeId = "${hrId}" AND TenureEventKind = "${kind}"`,
    })) {
      ids.push(wf.workflowId);
    }
    return ids;
  }

  it('two hires delivered together: exactly one is accepted, exactly one onboarding runs', async () => {
    // Several people at once, so the two deliveries of each land in the entity's first workflow task together.
    const people = Array.from({ length: 4 }, () => makeRecord({ hireDate: '2031-03-03' }));
    await Promise.all(
      people.map(async (record) => {
        const answers = await Promise.all(
          ['a', 'b', 'c'].map((n) => t.tenure.sendEvent({ eventId: `hire-${n}-${record.hrId}`, kind: 'hire', record })),
        );
        const outcomes = answers.map((x) => x.outcome).sort();
        assert.deepEqual(outcomes, ['accepted', 'refused', 'refused'], JSON.stringify(answers));
        for (const refused of answers.filter((x) => x.outcome === 'refused')) {
          assert.equal(refused.status, 409);
          assert.match('message' in refused ? refused.message : '', /already has an accepted hire/);
        }
      }),
    );
    for (const record of people) {
      await waitFor(async () => (await runsOf(record.hrId, 'hire')).length >= 1, 30_000, 'onboarding visible');
      assert.equal((await runsOf(record.hrId, 'hire')).length, 1, `one onboarding for ${record.hrId}`);
      const s = await entity(record.hrId).query(employeeStatusQuery);
      assert.equal(s.events.filter((e) => e.kind === 'hire' && e.outcome === 'accepted').length, 1);
    }
  });

  it('an older change delivered with a newer one never overwrites it: the newest record wins', async () => {
    const people = Array.from({ length: 4 }, () => makeRecord({ hireDate: '2031-03-03' }));
    for (const record of people) {
      const a = await t.tenure.sendEvent({ eventId: `hire-${record.hrId}`, kind: 'hire', record });
      assert.equal(a.outcome, 'accepted', JSON.stringify(a));
    }
    await Promise.all(
      people.map(async (record) => {
        const older: EmployeeRecord = {
          ...record,
          title: 'Staff Engineer',
          sourceUpdatedAt: new Date(Date.now() + 1_000).toISOString(),
        };
        const newer: EmployeeRecord = {
          ...record,
          title: 'Principal Engineer',
          sourceUpdatedAt: new Date(Date.now() + 2_000).toISOString(),
        };
        // The newer one is sent first, so without the lock both pass the stale check and the older one lands last.
        const answers = await Promise.all([
          t.tenure.sendEvent({ eventId: `new-${record.hrId}`, kind: 'change', record: newer }),
          t.tenure.sendEvent({ eventId: `old-${record.hrId}`, kind: 'change', record: older }),
        ]);
        const s = await entity(record.hrId).query(employeeStatusQuery);
        assert.equal(s.record?.title, 'Principal Engineer', JSON.stringify(answers));
        assert.equal(s.lastSourceUpdatedAt, newer.sourceUpdatedAt);
      }),
    );
  });

  it('a moved hire date after activation is refused with a reason, not acknowledged', async () => {
    const record = makeRecord({ hireDate: '2026-01-05' }); // past: the run activates at once
    const eventId = `hire-${record.hrId}`;
    assert.equal((await t.tenure.sendEvent({ eventId, kind: 'hire', record })).outcome, 'accepted');
    const run = t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'hire', eventId));
    assert.equal((await resultWhenStarted<OnboardingStatus>(run, 60_000)).stage, 'completed');
    const moved = { ...record, hireDate: '2031-05-05', sourceUpdatedAt: new Date().toISOString() };
    const a = await t.tenure.sendEvent({ eventId: `move-${record.hrId}`, kind: 'change', record: moved });
    assert.equal(a.status, 409, JSON.stringify(a));
    assert.match('message' in a ? a.message : '', /already took effect/);
  });

  it("a superseded run's cancellation is no exception: nothing waits on an operator afterwards", async () => {
    t.app.faults.next(1, {
      method: 'POST',
      path: '/Users',
      status: 400,
      body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', detail: 'refused' },
    });
    const record = makeRecord({ hireDate: '2026-01-05' });
    const eventId = `hire-${record.hrId}`;
    assert.equal((await t.tenure.sendEvent({ eventId, kind: 'hire', record })).outcome, 'accepted');
    const run = t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'hire', eventId));
    await waitFor(
      async () => (await run.describe()).typedSearchAttributes.get(WAITING_ON) === 'operator:create_account:wiki',
      60_000,
      'the exception is open',
    );
    // The exit supersedes the onboarding in exception: it is cancelled.
    const exit = await t.tenure.sendEvent({
      eventId: `exit-${record.hrId}`,
      kind: 'termination',
      record: { ...record, exitKind: 'involuntary', sourceUpdatedAt: new Date().toISOString() },
    });
    assert.equal(exit.outcome, 'accepted', JSON.stringify(exit));
    await waitFor(async () => (await run.describe()).status.name === 'CANCELLED', 60_000, 'onboarding cancelled');
    assert.equal((await run.describe()).typedSearchAttributes.get(WAITING_ON), undefined);
    const waiting: string[] = [];
    for await (const wf of t.client.workflow.list({
      query: `TenureEmployeeId = "${record.hrId}" AND TenureWaitingOn STARTS_WITH "operator:"`,
    })) {
      waiting.push(wf.workflowId);
    }
    assert.deepEqual(waiting, []);
    const steps = (await run.query(onboardingStatusQuery)).exceptions;
    assert.deepEqual(steps, []);
  });
});
