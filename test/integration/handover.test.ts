import assert from 'node:assert/strict';
import { ScimConnector } from '../../src/activities/scim/client';
import type { EmployeeRecord } from '../../src/domain/employee';
import { employeeWorkflowId, eventWorkflowId } from '../../src/domain/ids';
import { employeeStatusQuery } from '../../src/workflows/employee/messages';
import { onboardingStatusQuery } from '../../src/workflows/onboarding/messages';
import type { offboardingWorkflow } from '../../src/workflows/onboarding/onboarding';
import { makeRecord } from '../helpers/records';
import { buttonsFor as slackButtonsFor, clickAs } from '../helpers/slack-clicks';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { resultWhenStarted, waitFor } from '../helpers/wait';

/**
 * A leaver's data goes to their manager only after the manager accepts it in Slack; the wiki's owner then does the
 * transfer as a task. Neither waits the revocation: the accounts are inactive and verified first.
 */
describe('people in movers and leavers: data hand-over after the manager approves, approvals for a new role', function () {
  this.timeout(180_000);
  let t: TenureHarness;
  const managerHrId = `MGR${Date.now().toString(36)}H`;

  before(async () => {
    t = await startTenure({
      slack: true,
      extraApps: ['crm'],
      policy: (p) => ({
        ...p,
        people: {
          teams: { 'wiki-team': ['wendy.owner@acme.example'] },
          fallbackApprovers: ['fiona.fallback@acme.example'],
          approvals: { sla: '1h', remindEvery: '30m', escalationSla: '1h' },
          tasks: { sla: '1h', remindEvery: '30m' },
        },
        systems: p.systems.map((s) =>
          s.id === 'wiki'
            ? {
                ...s,
                owner: 'wiki-team',
                dataHandover: { instructions: "Move the leaver's pages and drafts to the manager's space." },
              }
            : s.id === 'crm'
              ? { ...s, approval: { approvers: ['manager' as const] } }
              : s,
        ),
        birthright: [
          { name: 'everyone', systems: ['idp', 'wiki'] },
          { name: 'sales', match: { department: ['Sales'] }, systems: ['crm'] },
        ],
      }),
    });
    await new ScimConnector({ systemId: 'idp', baseUrl: t.idp.url }).ensureAccount({
      hrId: managerHrId,
      userName: 'maria.boss@acme.example',
      givenName: 'Maria',
      familyName: 'Boss',
      active: true,
    });
    t.slack?.addUser({ id: 'UMARIA', email: 'maria.boss@acme.example', name: 'maria' });
    t.slack?.addUser({ id: 'UWENDY', email: 'wendy.owner@acme.example', name: 'wendy' });
    t.slack?.addUser({ id: 'UFIONA', email: 'fiona.fallback@acme.example', name: 'fiona' });
  });
  after(async () => {
    await t?.stop();
  });

  const buttonsFor = (user: string) => slackButtonsFor(t.slack, user);

  const accounts = (hrId: string) => [...t.idp.users(), ...t.app.users()].filter((u) => u.externalId === hrId);

  async function hiredThenLeaving(): Promise<{ record: EmployeeRecord; exitId: string }> {
    const record = makeRecord({ hireDate: '2025-04-01', managerHrId });
    const a = await t.tenure.sendEvent({ eventId: `hire-${record.hrId}`, kind: 'hire', record });
    assert.equal(a.outcome, 'accepted', JSON.stringify(a));
    await resultWhenStarted(t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'hire', `hire-${record.hrId}`)));
    const entity = t.client.workflow.getHandle(employeeWorkflowId(record.hrId));
    await waitFor(async () => (await entity.query(employeeStatusQuery)).current === undefined);
    const exitId = `exit-${record.hrId}`;
    const e = await t.tenure.sendEvent({
      eventId: exitId,
      kind: 'termination',
      record: { ...record, status: 'terminated', exitKind: 'involuntary', sourceUpdatedAt: new Date().toISOString() },
    });
    assert.equal(e.outcome, 'accepted', JSON.stringify(e));
    return { record, exitId };
  }

  it('asks the manager, then the owner transfers; the accounts were inactive and verified before either', async () => {
    const before = buttonsFor('UMARIA').length;
    const { record, exitId } = await hiredThenLeaving();
    const run = t.client.workflow.getHandle<typeof offboardingWorkflow>(
      eventWorkflowId(record.hrId, 'termination', exitId),
    );
    await waitFor(() => buttonsFor('UMARIA').length === before + 1, 30_000, 'hand-over request to the manager');
    // Revocation does not wait for people.
    await waitFor(
      async () =>
        (await run.query(onboardingStatusQuery)).steps.find((s) => s.id === 'verify_exit')?.state === 'succeeded',
    );
    assert.ok(accounts(record.hrId).every((u) => !u.active));

    const request = buttonsFor('UMARIA').at(-1);
    assert.ok(request);
    assert.match(JSON.stringify(request.blocks), /Data hand-over: Wiki/);
    // Only the manager can accept the data.
    const intruder = await clickAs(t, request, 'UWENDY', 'approve');
    assert.equal(intruder.status, 200);
    const approve = await clickAs(t, request, 'UMARIA', 'approve');
    assert.equal(approve.status, 200);

    await waitFor(() => buttonsFor('UWENDY').length === 1, 30_000, 'transfer task to the wiki owner');
    const [task] = buttonsFor('UWENDY');
    assert.ok(task);
    assert.match(JSON.stringify(task.blocks), /maria\.boss@acme\.example/);
    const done = await clickAs(t, task, 'UWENDY', 'done');
    assert.equal(done.status, 200);

    const final = await resultWhenStarted(run);
    assert.equal(final.stage, 'completed');
    const step = (id: string) => final.steps.find((s) => s.id === id);
    assert.equal(step('approve_handover:wiki')?.outcome, 'approved');
    assert.equal(step('transfer_data:wiki')?.outcome, 'completed');
    assert.ok(
      Date.parse(step('transfer_data:wiki')?.startedAt ?? '') >=
        Date.parse(step('disable_account:wiki')?.finishedAt ?? ''),
      'the data moves once the account is disabled',
    );
    assert.ok(accounts(record.hrId).every((u) => !u.active));
    const evidence = [];
    for await (const e of t.audit.stream({ hrId: record.hrId })) evidence.push(e);
    assert.ok(evidence.some((e) => e.action === 'approval_decided' && e.outcome === 'approved'));
    assert.ok(evidence.some((e) => e.action === 'verify_exit' && e.outcome === 'verified_inactive'));
  });

  it('a declined hand-over skips the transfer; the exit still completes', async () => {
    const before = buttonsFor('UMARIA').length;
    const tasks = buttonsFor('UWENDY').length;
    const { record, exitId } = await hiredThenLeaving();
    await waitFor(() => buttonsFor('UMARIA').length === before + 1, 30_000, 'hand-over request');
    const request = buttonsFor('UMARIA').at(-1);
    assert.ok(request);
    const reject = await clickAs(t, request, 'UMARIA', { reject: 'not_needed' });
    assert.equal(reject.status, 200);
    const final = await resultWhenStarted(
      t.client.workflow.getHandle<typeof offboardingWorkflow>(eventWorkflowId(record.hrId, 'termination', exitId)),
    );
    assert.equal(final.stage, 'completed');
    assert.equal(final.steps.find((s) => s.id === 'approve_handover:wiki')?.outcome, 'rejected');
    assert.equal(final.steps.find((s) => s.id === 'transfer_data:wiki')?.state, 'skipped');
    assert.equal(buttonsFor('UWENDY').length, tasks, 'no task for the owner');
    assert.ok(accounts(record.hrId).every((u) => !u.active));
  });

  it('a mover into a role whose system needs approval gets it only after the manager approves in Slack', async () => {
    const record = makeRecord({ hireDate: '2025-04-01', managerHrId, department: 'Engineering' });
    const a = await t.tenure.sendEvent({ eventId: `hire-${record.hrId}`, kind: 'hire', record });
    assert.equal(a.outcome, 'accepted', JSON.stringify(a));
    await resultWhenStarted(t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'hire', `hire-${record.hrId}`)));
    const before = buttonsFor('UMARIA').length;
    const moveId = `move-${record.hrId}`;
    const m = await t.tenure.sendEvent({
      eventId: moveId,
      kind: 'change',
      record: { ...record, department: 'Sales', sourceUpdatedAt: new Date().toISOString() },
    });
    assert.equal(m.outcome, 'accepted', JSON.stringify(m));
    await waitFor(() => buttonsFor('UMARIA').length === before + 1, 30_000, 'approval request for the CRM');
    const crm = () => (t.apps.crm?.users() ?? []).filter((u) => u.externalId === record.hrId);
    assert.equal(crm().length, 0, 'nothing in the CRM before the approval');
    const request = buttonsFor('UMARIA').at(-1);
    assert.ok(request);
    const approve = await clickAs(t, request, 'UMARIA', 'approve');
    assert.equal(approve.status, 200);
    const final = await resultWhenStarted(
      t.client.workflow.getHandle<typeof offboardingWorkflow>(eventWorkflowId(record.hrId, 'change', moveId)),
    );
    assert.equal(final.stage, 'completed');
    assert.equal(final.steps.find((s) => s.id === 'approve:crm')?.outcome, 'approved');
    assert.deepEqual(
      crm().map((u) => u.active),
      [true],
    );
    assert.ok(
      accounts(record.hrId).every((u) => u.active),
      'the kept systems stay active',
    );
  });
});
