import assert from 'node:assert/strict';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { EvidenceRecord } from '../../src/activities/audit/types';
import { currentRunId, personStatus, retryStep } from '../../src/client/operations';
import { employeeWorkflowId, eventWorkflowId } from '../../src/domain/ids';
import { employeeStatusQuery } from '../../src/workflows/employee/messages';
import type { OnboardingStatus } from '../../src/workflows/onboarding/messages';
import { onboardingStatusQuery } from '../../src/workflows/onboarding/messages';
import { WAITING_ON } from '../../src/workflows/search-attributes';
import { daysAgo, makeRecord } from '../helpers/records';
import { historyActivities } from '../helpers/history';
import { workflowBundle } from '../helpers/temporal';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { resultWhenStarted, waitFor } from '../helpers/wait';

/**
 * docs/decisions/0004: a hire whose instant has passed and whose plan waits on nobody is carried out by the person's
 * entity itself, with no workflow of its own, its steps local activities (one workflow and one workflow task per late
 * hire instead of two and six, issue 15). Its evidence is keyed by the run's id as before; `tenure status` shows it; a step that fails
 * hands the run over to a workflow of its own under the run's id, where the exception and the operator's retry work
 * as for any run, without doing again what the entity had done.
 */
describe('runs carried out by the entity (a late hire with nobody to wait for)', function () {
  this.timeout(120_000);
  let t: TenureHarness;

  before(async () => {
    await workflowBundle();
    t = await startTenure();
  });
  after(async () => {
    await t?.stop();
  });

  async function sendHire(hireDate: string): Promise<{ hrId: string; runId: string }> {
    const record = makeRecord({ hireDate });
    const eventId = `h-${record.hrId}`;
    const answer = await t.tenure.sendEvent({ eventId, kind: 'hire', record });
    assert.equal(answer.outcome, 'accepted', JSON.stringify(answer));
    return { hrId: record.hrId, runId: eventWorkflowId(record.hrId, 'hire', eventId) };
  }

  const evidence = async (hrId: string): Promise<EvidenceRecord[]> => {
    const out: EvidenceRecord[] = [];
    for await (const e of t.audit.stream({ hrId })) out.push(e);
    return out;
  };

  const historyOf = async (workflowId: string) =>
    (await t.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];

  it('creates the accounts from the entity, with no run workflow, the evidence under the run id, and shows it in status', async () => {
    const { hrId, runId } = await sendHire(daysAgo(2));
    const run = t.client.workflow.getHandle(runId);
    const final = await resultWhenStarted<OnboardingStatus>(run);
    assert.equal(final.stage, 'completed');
    assert.equal(final.late, true);
    assert.deepEqual(
      final.steps.map((s) => [s.id, s.state, s.outcome]),
      [
        ['create_account:idp', 'succeeded', 'created'],
        ['create_account:wiki', 'succeeded', 'created'],
        ['activate_account:idp', 'succeeded', 'activated'],
        ['activate_account:wiki', 'succeeded', 'activated'],
      ],
    );
    await assert.rejects(run.describe(), WorkflowNotFoundError, 'the run has no workflow of its own');
    assert.ok(t.idp.users().some((u) => u.externalId === hrId && u.active));
    assert.ok(t.app.users().some((u) => u.externalId === hrId && u.active));

    // The entity's history holds the run's steps, local activities in its one workflow task, and starts no child.
    const events = await historyOf(employeeWorkflowId(hrId));
    assert.deepEqual(historyActivities(events), ['createActiveAccount', 'createActiveAccount']);
    assert.equal(events.filter((e) => e.activityTaskScheduledEventAttributes).length, 0);
    assert.equal(events.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).length, 0);
    assert.equal(events.filter((e) => e.workflowTaskCompletedEventAttributes).length, 1);
    assert.equal(events.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes).length, 0);

    // Evidence as for a run of its own: keyed and requested under the run's id, once per step.
    const rows = (await evidence(hrId)).filter((e) => e.action === 'create_account' || e.action === 'activate_account');
    assert.equal(rows.length, 4);
    for (const e of rows) {
      assert.equal(e.requestId, runId, `${e.action} ${e.systemId} is the run's`);
      assert.ok(e.key.startsWith(`${runId}#`), e.key);
    }

    // `tenure status`: the run, carried out by the entity, with its status; nothing to retry there.
    const status = await personStatus(t.client, hrId);
    const view = status?.runs.find((r) => r.workflowId === runId);
    assert.equal(view?.execution, 'carried_out_by_entity');
    assert.equal(view?.state, 'done');
    assert.equal(view?.status?.stage, 'completed');
    const entity = await t.client.workflow.getHandle(employeeWorkflowId(hrId)).query(employeeStatusQuery);
    assert.equal(entity.events.find((e) => e.workflowId === runId)?.carriedOut, 'entity');
    await assert.rejects(currentRunId(t.client, hrId), /carried out by the person's entity/);
  });

  it('a hire that waits for its start date still runs as a workflow of its own', async () => {
    const { hrId, runId } = await sendHire('2031-06-02');
    await waitFor(async () => (await t.client.workflow.getHandle(runId).describe()) !== undefined, 30_000, 'run');
    const status = await t.client.workflow.getHandle(runId).query(onboardingStatusQuery);
    assert.equal(status.hrId, hrId);
    const entity = await t.client.workflow.getHandle(employeeWorkflowId(hrId)).query(employeeStatusQuery);
    assert.equal(entity.events.find((e) => e.workflowId === runId)?.carriedOut, undefined);
  });

  it('a step that fails hands the run over: in exception at once under the run id, retried by the operator, nothing done twice', async () => {
    // The app refuses the first creation (a permanent 400): the entity's attempt; the operator's retry goes through.
    t.app.faults.next(1, { method: 'POST', path: '/Users', status: 400 });
    const { hrId, runId } = await sendHire(daysAgo(2));
    const run = t.client.workflow.getHandle(runId);
    await waitFor(async () => (await run.query(onboardingStatusQuery)).exceptions.length > 0, 30_000, 'exception');
    const status = await run.query(onboardingStatusQuery);
    assert.deepEqual(status.exceptions, ['create_account:wiki']);
    const wiki = status.steps.find((s) => s.id === 'create_account:wiki');
    assert.equal(wiki?.state, 'exception');
    assert.equal(wiki?.runs, 1, 'the failed attempt was the entity’s; the run did not try again on its own');
    assert.match(wiki?.error ?? '', /400/);
    const idp = status.steps.find((s) => s.id === 'create_account:idp');
    assert.equal(idp?.state, 'succeeded');
    assert.equal(idp?.outcome, 'created');
    assert.equal(status.steps.find((s) => s.id === 'activate_account:idp')?.state, 'succeeded');
    await waitFor(
      async () => (await run.describe()).typedSearchAttributes.get(WAITING_ON) === 'operator:create_account:wiki',
      30_000,
      'TenureWaitingOn',
    );
    const entity = await t.client.workflow.getHandle(employeeWorkflowId(hrId)).query(employeeStatusQuery);
    assert.equal(entity.events.find((e) => e.workflowId === runId)?.carriedOut, 'handed_over');

    // The operator retries, as for any run; the run ends with both accounts, the identity provider's created once.
    assert.equal(await currentRunId(t.client, hrId), runId);
    await retryStep(t.client, hrId, 'create_account:wiki');
    const final = (await run.result()) as OnboardingStatus;
    assert.equal(final.stage, 'completed');
    assert.equal(final.steps.find((s) => s.id === 'create_account:wiki')?.runs, 2);
    assert.ok(t.app.users().some((u) => u.externalId === hrId && u.active));
    const idpCreates = t.idp.requests.filter(
      (r) =>
        r.method === 'POST' && r.path.endsWith('/Users') && (r.body as { externalId?: string }).externalId === hrId,
    );
    assert.equal(idpCreates.length, 1, 'the identity provider account is created once');
    const rows = await evidence(hrId);
    assert.equal(
      rows.filter((e) => e.action === 'create_account' && e.systemId === 'idp').length,
      1,
      'its evidence is written once',
    );
    assert.ok(rows.some((e) => e.action === 'create_account' && e.systemId === 'wiki' && e.outcome === 'failed'));
    assert.ok(rows.some((e) => e.action === 'create_account' && e.systemId === 'wiki' && e.outcome === 'created'));
  });
});
