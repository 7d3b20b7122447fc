import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import type { EvidenceRecord } from '../../src/activities/audit';
import { manualTaskWorkflowId } from '../../src/domain/approval';
import type { EmployeeRecord } from '../../src/domain/employee';
import { STAGE, WAITING_ON } from '../../src/workflows/search-attributes';
import type { ManualTaskInput, SlackMessageRef } from '../../src/workflows/task/messages';
import { taskStatusQuery } from '../../src/workflows/task/messages';
import { manualTaskWorkflow } from '../../src/workflows/task/task';
import type { PeopleHarness } from '../helpers/people';
import { ephemerals, PEOPLE, startPeople } from '../helpers/people';
import { runPeopleCli } from '../helpers/people-cli';
import { makeRecord } from '../helpers/records';
import { waitFor } from '../helpers/wait';

const { owner, fallback, intruder } = PEOPLE;

/**
 * Manual tasks end to end (issue 7): an app with no API (a SCIM peer stands in as the app Tenure can only *read*),
 * the task workflow on the real dev server, Done clicks through the real interactivity endpoint and
 * `tenure task complete` in-process, with verification by reading the app before the task closes.
 */
describe('manual tasks: done from Slack or the CLI, verified by reading the app', function () {
  this.timeout(120_000);
  let t: PeopleHarness;
  let n = 0;

  before(async () => {
    t = await startPeople();
  });
  after(async () => {
    await t?.stop();
  });

  async function prepare(record: EmployeeRecord, over: Partial<ManualTaskInput> = {}): Promise<ManualTaskInput> {
    n += 1;
    const prepared = await t.activities.prepareManualTask({
      hrId: record.hrId,
      eventId: `evt-t${n}`,
      systemId: 'legacy',
      action: 'create_account',
      record,
    });
    return { ...prepared, ...over };
  }

  async function start(i: ManualTaskInput): Promise<WorkflowHandle<typeof manualTaskWorkflow>> {
    return t.client.workflow.start(manualTaskWorkflow, {
      taskQueue: t.taskQueue,
      workflowId: manualTaskWorkflowId(i.taskId),
      args: [i],
    });
  }

  async function messageTo(h: WorkflowHandle<typeof manualTaskWorkflow>, userId: string): Promise<SlackMessageRef> {
    let found: SlackMessageRef | undefined;
    await waitFor(
      async () => {
        found = (await h.query(taskStatusQuery)).messages.find((m) => m.to === userId);
        return found !== undefined;
      },
      20_000,
      `the task message to ${userId}`,
    );
    if (!found) throw new Error('unreachable');
    return found;
  }

  /** The owner creates the account by hand, as people do: no externalId, just the login name. */
  async function createByHand(userName: string): Promise<void> {
    const res = await fetch(`${t.app.url}/Users`, {
      method: 'POST',
      headers: { 'content-type': 'application/scim+json' },
      body: JSON.stringify({
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        userName,
        name: { givenName: 'Ana', familyName: 'Lima' },
        active: true,
      }),
    });
    assert.equal(res.status, 201, await res.text());
  }

  const of = (evidence: EvidenceRecord[], action: string): EvidenceRecord[] =>
    evidence.filter((e) => e.action === action);
  const text = (blocks: unknown[] | undefined): string => JSON.stringify(blocks ?? []);
  const doneButton = (blocks: unknown[] | undefined): string | undefined => {
    const actions = (blocks ?? []).find((b) => (b as { type?: string }).type === 'actions') as
      { elements: { value?: string }[] } | undefined;
    return actions?.elements[0]?.value;
  };

  it('from Slack: Done before the account exists reopens the task; Done after it is created closes it', async () => {
    const record = makeRecord();
    const task = await prepare(record);
    assert.deepEqual(task.owners, [owner.id]);
    assert.deepEqual(task.escalateTo, [fallback.id]);
    assert.equal(task.verify, true, 'the app can be read');
    assert.equal(task.accountUserName, record.workEmail);
    assert.match(task.instructions, /Legacy CRM → Admin → Users/);
    const h = await start(task);
    const ref = await messageTo(h, owner.id);
    const first = t.message(ref);
    assert.match(text(first.blocks), /Create an account in Legacy CRM/);
    assert.match(text(first.blocks), new RegExp(`tenure task complete ${task.taskId}`));

    // `tenure tasks`: waiting on the owner, since it opened.
    const opened = (await h.query(taskStatusQuery)).openedAt;
    await waitFor(
      async () => {
        const r = await runPeopleCli(t.client, ['tasks', '--hr-id', record.hrId, '--json']);
        const items = JSON.parse(r.stdout) as { id: string; waitingOn: string[]; since: string }[];
        return (
          items[0]?.id === task.taskId && items[0].waitingOn.join() === `slack:${owner.id}` && items[0].since === opened
        );
      },
      20_000,
      '`tenure tasks` listing',
    );

    // Somebody who does not own the app: refused, nothing changes.
    assert.equal((await t.post(t.clickPayload(ref, intruder.id, 'done'))).status, 200);
    assert.match(ephemerals(t.slack, intruder.id).at(-1)?.text ?? '', /not an owner/);
    assert.equal((await h.query(taskStatusQuery)).state, 'open');

    // The owner clicks Done too early: verification reads the app, finds nothing, and reopens the task.
    assert.equal((await t.post(t.clickPayload(ref, owner.id, 'done'))).status, 200);
    await waitFor(async () => (await h.query(taskStatusQuery)).state === 'verification_failed', 20_000, 'reopened');
    const status = await h.query(taskStatusQuery);
    assert.equal(status.round, 2);
    assert.match(status.verificationError ?? '', /Legacy CRM shows no account/);
    await waitFor(() => Promise.resolve(t.message(ref).updates.length === 1), 10_000, 'message updated');
    assert.match(text(t.message(ref).blocks), /Not done yet: Legacy CRM shows no account/);
    assert.match(doneButton(t.message(ref).blocks) ?? '', /"r":2/, 'a new Done button for the next round');

    await createByHand(task.accountUserName ?? '');
    assert.equal((await t.post(t.clickPayload(ref, owner.id, 'done'))).status, 200);
    const final = await h.result();
    assert.equal(final.state, 'done');
    assert.equal(final.completedBy, `slack:${owner.id}`);
    assert.equal(final.verification, 'verified');
    assert.equal(final.completionId, `slack:${owner.id}:done:2`);
    assert.deepEqual(final.waitingOn, []);
    const done = t.message(ref);
    assert.equal(done.updates.length, 2, 'the same message, updated in place');
    assert.equal(doneButton(done.blocks), undefined);
    assert.match(text(done.blocks), /Done\* by <@UOWNER> .* verified by reading Legacy CRM/);
    assert.equal((await h.describe()).typedSearchAttributes.get(STAGE), 'task_done');
    assert.equal((await h.describe()).typedSearchAttributes.get(WAITING_ON), undefined);

    const evidence = await t.evidence(record.hrId);
    assert.equal(of(evidence, 'manual_task_opened')[0]?.detail?.to, owner.id);
    assert.deepEqual(
      of(evidence, 'manual_task_refused').map((e) => [e.actor.id, e.detail?.code]),
      [[`slack:${intruder.id}`, 'NotAnOwner']],
    );
    const verified = of(evidence, 'manual_task_verified');
    assert.deepEqual(
      verified.map((e) => [e.outcome, e.readBack?.found, e.actor.id]),
      [
        ['failed', false, `slack:${owner.id}`],
        ['verified', true, `slack:${owner.id}`],
      ],
    );
    const completed = of(evidence, 'manual_task_completed');
    assert.equal(completed.length, 1);
    assert.equal(completed[0]?.actor.id, `slack:${owner.id}`);
    assert.equal(completed[0]?.detail?.verification, 'verified');
    assert.ok(!JSON.stringify(evidence).includes(record.workEmail ?? '@'), 'no emails in evidence');

    const listed = await runPeopleCli(t.client, ['tasks', '--hr-id', record.hrId]);
    await waitFor(
      async () => (await runPeopleCli(t.client, ['tasks', '--hr-id', record.hrId])).stdout.startsWith('no tasks'),
      20_000,
      'closed task gone from `tenure tasks`',
    );
    assert.ok(listed.stdout.length > 0);
  });

  it('from the CLI: `tenure task complete` verifies by reading the app; a second completion is refused', async () => {
    const record = makeRecord();
    const task = await prepare(record);
    const h = await start(task);
    const ref = await messageTo(h, owner.id);
    const lateClick = t.clickPayload(ref, owner.id, 'done');

    const early = await runPeopleCli(t.client, ['task', 'complete', task.taskId], { audit: t.audit });
    assert.equal(early.exitCode, 1);
    assert.match(early.stdout, /is not done: Legacy CRM shows no account/);

    await createByHand(task.accountUserName ?? '');
    const ok = await runPeopleCli(
      t.client,
      ['task', 'complete', task.taskId, '--note', 'created in the admin console'],
      {
        audit: t.audit,
        operator: 'ops-lee',
      },
    );
    assert.equal(ok.exitCode, 0, ok.stderr);
    assert.match(ok.stdout, /is done \(verified by reading the app\)/);
    const final = await h.result();
    assert.equal(final.completedBy, 'cli:ops-lee');
    assert.equal(final.round, 2);
    const msg = t.message(ref);
    assert.match(text(msg.blocks), /Done\* by an operator \(`cli:ops-lee`\)/);
    assert.equal(msg.updates.length, 2);

    // Closed now: the CLI and a Slack click are refused, recorded, and change nothing.
    const again = await runPeopleCli(t.client, ['task', 'complete', task.taskId], { audit: t.audit });
    assert.equal(again.exitCode, 1);
    assert.match(again.stderr, /refused: .*closed/);
    assert.equal((await t.post(lateClick)).status, 200);
    assert.match(ephemerals(t.slack, owner.id).at(-1)?.text ?? '', /closed \(done\)/);
    assert.equal(t.message(ref).updates.length, 2);

    const bad = await runPeopleCli(t.client, ['task', 'complete', 'not-a-task-id']);
    assert.equal(bad.exitCode, 2);

    const evidence = await t.evidence(record.hrId);
    const completed = of(evidence, 'manual_task_completed');
    assert.deepEqual(
      completed.map((e) => [e.actor.id, e.outcome, e.detail?.note]),
      [['cli:ops-lee', 'done', 'created in the admin console']],
    );
    assert.deepEqual(
      of(evidence, 'manual_task_refused').map((e) => [e.actor.id, e.detail?.code]),
      [
        ['cli:test-operator', 'TaskClosed'],
        [`slack:${owner.id}`, 'RequestClosed'],
      ],
    );
    assert.deepEqual(
      of(evidence, 'manual_task_verified').map((e) => e.outcome),
      ['failed', 'verified'],
    );
  });

  it('reminders, then escalation to the fallback approvers, who may complete it', async () => {
    const record = makeRecord();
    const task = await prepare(record, { slaMs: 2_500, reminderEveryMs: 1_000, verify: false });
    const h = await start(task);
    const toOwner = await messageTo(h, owner.id);
    const toFallback = await messageTo(h, fallback.id);
    let status = await h.query(taskStatusQuery);
    assert.equal(status.state, 'escalated');
    assert.ok(status.reminders >= 2, `reminders before escalation: ${status.reminders}`);
    assert.deepEqual(status.waitingOn, [owner.id, fallback.id]);
    assert.match(text(t.message(toFallback).blocks), /Escalated to you: <@UOWNER> did not complete it in time/);
    await waitFor(
      async () =>
        (await h.describe()).typedSearchAttributes.get(WAITING_ON) === `slack:${owner.id},slack:${fallback.id}`,
    );
    assert.equal((await h.describe()).typedSearchAttributes.get(STAGE), 'task_escalated');

    assert.equal((await t.post(t.clickPayload(toFallback, fallback.id, 'done'))).status, 200);
    const final = await h.result();
    assert.equal(final.completedBy, `slack:${fallback.id}`);
    assert.equal(final.verification, 'unverifiable', 'this task cannot be read: taken on the completer’s word');
    for (const ref of [toOwner, toFallback]) assert.match(text(t.message(ref).blocks), /Done\* by <@UFALLBACK>/);
    status = await h.query(taskStatusQuery);
    const evidence = await t.evidence(record.hrId);
    assert.equal(of(evidence, 'manual_task_reminded').length, status.reminders);
    assert.equal(of(evidence, 'manual_task_escalated')[0]?.detail?.to, fallback.id);
    const reminded = of(evidence, 'manual_task_reminded')[0]?.seq ?? 0;
    const escalated = of(evidence, 'manual_task_escalated')[0]?.seq ?? 0;
    assert.ok(reminded < escalated);
    assert.equal(of(evidence, 'manual_task_completed')[0]?.detail?.verification, 'unverifiable');
  });
});
