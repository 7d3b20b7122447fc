import assert from 'node:assert/strict';
import { ScimConnector } from '../../src/activities/scim/client';
import type { ScimPeer } from '../../src/dev/scim-peer';
import { startScimPeer } from '../../src/dev/scim-peer';
import type { EmployeeRecord } from '../../src/domain/employee';
import { eventWorkflowId } from '../../src/domain/ids';
import { onboardingStatusQuery } from '../../src/workflows/onboarding/messages';
import type { onboardingWorkflow } from '../../src/workflows/onboarding/onboarding';
import { makeRecord } from '../helpers/records';
import { buttonsFor as slackButtonsFor, clickAs } from '../helpers/slack-clicks';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { resultWhenStarted, waitFor } from '../helpers/wait';

/**
 * People inside the joiner: the wiki needs the manager's approval (from Slack, through the real intake
 * endpoint), payroll has no API and is a manual task for its owner, verified by reading payroll back.
 */
describe('onboarding with people: manager approval and a manual task, from Slack', function () {
  this.timeout(180_000);
  let t: TenureHarness;
  let payroll: ScimPeer;
  const managerHrId = `MGR${Date.now().toString(36)}P`;

  before(async () => {
    payroll = await startScimPeer({ name: 'payroll' });
    t = await startTenure({
      slack: true,
      policy: (p) => ({
        ...p,
        people: {
          teams: { 'payroll-team': ['pat.owner@acme.example'] },
          fallbackApprovers: ['fiona.fallback@acme.example'],
          approvals: { sla: '1h', remindEvery: '30m', escalationSla: '1h' },
          tasks: { sla: '1h', remindEvery: '30m' },
        },
        systems: [
          ...p.systems.map((s) => (s.id === 'wiki' ? { ...s, approval: { approvers: ['manager' as const] } } : s)),
          {
            id: 'payroll',
            name: 'Payroll',
            kind: 'app' as const,
            owner: 'payroll-team',
            dependsOn: ['idp'],
            connector: {
              type: 'manual' as const,
              instructions: 'Create the account in the payroll console with the work email.',
              read: { type: 'scim' as const, baseUrl: payroll.url },
            },
          },
        ],
        birthright: [{ name: 'everyone', systems: ['idp', 'wiki', 'payroll'] }],
      }),
    });
    const idp = new ScimConnector({ systemId: 'idp', baseUrl: t.idp.url });
    await idp.ensureAccount({
      hrId: managerHrId,
      userName: 'maria.boss@acme.example',
      givenName: 'Maria',
      familyName: 'Boss',
      active: true,
    });
    t.slack?.addUser({ id: 'UMARIA', email: 'maria.boss@acme.example', name: 'maria' });
    t.slack?.addUser({ id: 'UPAT', email: 'pat.owner@acme.example', name: 'pat' });
    t.slack?.addUser({ id: 'UFIONA', email: 'fiona.fallback@acme.example', name: 'fiona' });
  });
  after(async () => {
    await t?.stop();
    await payroll?.close();
  });

  const buttonsFor = (user: string) => slackButtonsFor(t.slack, user);

  async function allEvidence() {
    const out = [];
    for await (const e of t.audit.stream({})) out.push(e);
    return out;
  }

  async function hire(record: EmployeeRecord) {
    const eventId = `hire-${record.hrId}`;
    const a = await t.tenure.sendEvent({ eventId, kind: 'hire', record });
    assert.equal(a.outcome, 'accepted', JSON.stringify(a));
    return t.client.workflow.getHandle<typeof onboardingWorkflow>(eventWorkflowId(record.hrId, 'hire', eventId));
  }

  it('provisions the wiki after the manager approves, and payroll after its owner is done and payroll reads back', async () => {
    const record = makeRecord({ hireDate: '2025-09-01', managerHrId });
    const run = await hire(record);
    await waitFor(() => buttonsFor('UMARIA').length === 1, 30_000, 'approval request to the manager');
    assert.equal(
      t.app.users().filter((u) => u.externalId === record.hrId).length,
      0,
      'no wiki account before approval',
    );

    // Someone else clicking Approve is refused, and changes nothing.
    const [request] = buttonsFor('UMARIA');
    assert.ok(request);
    const intruder = await clickAs(t, request, 'UPAT', 'approve');
    assert.equal(intruder.status, 200);
    const approve = await clickAs(t, request, 'UMARIA', 'approve');
    assert.equal(approve.status, 200);

    // Payroll: a task to the owner team; the owner creates the account by hand, then clicks Done.
    await waitFor(() => buttonsFor('UPAT').length === 1, 30_000, 'manual task to the payroll owner');
    await new ScimConnector({ systemId: 'payroll', baseUrl: payroll.url }).ensureAccount({
      hrId: record.hrId,
      userName: record.workEmail ?? '',
      givenName: 'Ana',
      familyName: 'Lima',
      active: true,
    });
    const [task] = buttonsFor('UPAT');
    assert.ok(task);
    const done = await clickAs(t, task, 'UPAT', 'done');
    assert.equal(done.status, 200);

    const final = await resultWhenStarted(run);
    assert.equal(final.stage, 'completed');
    const state = (id: string) => final.steps.find((s) => s.id === id);
    assert.equal(state('approve:wiki')?.outcome, 'approved');
    assert.equal(state('manual_task:payroll')?.outcome, 'completed');
    assert.ok(
      t.app.users().some((u) => u.externalId === record.hrId && u.active),
      `wiki account after approval: ${JSON.stringify(final.steps.map((s) => [s.id, s.state, s.outcome, s.error]))} ${JSON.stringify(t.app.users().map((u) => [u.externalId, u.active]))}`,
    );
    const wikiCreated = Date.parse(state('create_account:wiki')?.startedAt ?? '');
    assert.ok(wikiCreated >= Date.parse(state('approve:wiki')?.finishedAt ?? ''), 'the grant waited for the approval');

    const evidence = [];
    for await (const e of t.audit.stream({ hrId: record.hrId })) evidence.push(e);
    assert.ok(evidence.some((e) => e.action === 'approval_decided' && e.outcome === 'approved'));
    assert.ok(
      evidence.some((e) => e.action === 'manual_task_verified'),
      'the task was verified by reading payroll',
    );
    assert.ok(
      evidence.some((e) => e.actor.type === 'person'),
      'the human decision is evidence, with the person as actor',
    );
    assert.ok(
      (await allEvidence()).some((e) => e.action === 'approval_refused'),
      'the refused click is evidence',
    );
  });

  it('skips the wiki when the manager rejects, and still completes everything else', async () => {
    const record = makeRecord({ hireDate: '2025-09-01', managerHrId });
    const before = buttonsFor('UMARIA').length;
    const tasksBefore = (t.slack?.messages ?? []).filter((m) => m.channel === 'UPAT' && !m.ephemeral).length;
    const run = await hire(record);
    await waitFor(() => buttonsFor('UMARIA').length === before + 1, 30_000, 'approval request');
    const request = buttonsFor('UMARIA').at(-1);
    assert.ok(request);
    const reject = await clickAs(t, request, 'UMARIA', { reject: 'not_needed' });
    assert.equal(reject.status, 200);
    await waitFor(
      async () =>
        (await run.query(onboardingStatusQuery)).steps.some(
          (s) => s.id === 'manual_task:payroll' && s.state === 'running',
        ),
      30_000,
      'payroll task',
    );
    await new ScimConnector({ systemId: 'payroll', baseUrl: payroll.url }).ensureAccount({
      hrId: record.hrId,
      userName: record.workEmail ?? '',
      givenName: 'B',
      familyName: 'C',
      active: true,
    });
    await waitFor(
      () => (t.slack?.messages ?? []).filter((m) => m.channel === 'UPAT' && !m.ephemeral).length > tasksBefore,
      30_000,
      'second payroll task',
    );
    const task = buttonsFor('UPAT').at(-1);
    assert.ok(task);
    const clicked = await clickAs(t, task, 'UPAT', 'done');
    assert.equal(clicked.status, 200);
    await waitFor(async () => (await run.query(onboardingStatusQuery)).stage === 'completed', 30_000, 'completion');
    const final = await resultWhenStarted(run);
    assert.equal(final.stage, 'completed');
    assert.equal(final.steps.find((s) => s.id === 'approve:wiki')?.outcome, 'rejected');
    for (const id of ['create_account:wiki', 'activate_account:wiki']) {
      assert.equal(final.steps.find((s) => s.id === id)?.state, 'skipped', id);
    }
    assert.equal(t.app.users().filter((u) => u.externalId === record.hrId).length, 0, 'no wiki account');
    assert.ok(t.idp.users().some((u) => u.externalId === record.hrId && u.active));
  });
});
