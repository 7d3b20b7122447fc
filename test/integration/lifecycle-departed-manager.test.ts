import assert from 'node:assert/strict';
import { ScimConnector } from '../../src/activities/scim/client';
import { eventWorkflowId } from '../../src/domain/ids';
import type { onboardingWorkflow } from '../../src/workflows/onboarding/onboarding';
import { makeRecord } from '../helpers/records';
import { buttonsFor as slackButtonsFor, clickAs } from '../helpers/slack-clicks';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { resultWhenStarted, waitFor } from '../helpers/wait';

/**
 * A departed or suspended manager never approves: eligibility (active in the identity provider, where Tenure
 * disables leavers and suspends people on leave) is checked when the request is made and again when the decision
 * arrives; an ineligible manager is skipped to the next in the chain (their manager), and the skip is evidence.
 */
describe('a departed or suspended manager never approves', function () {
  this.timeout(180_000);
  let t: TenureHarness;
  let idp: ScimConnector;
  const tag = Date.now().toString(36);
  const bossHrId = `BOSS${tag}D`;

  const addManager = async (hrId: string, email: string, bossId: string, active: boolean): Promise<string> => {
    const r = await idp.ensureAccount({
      hrId,
      userName: email,
      givenName: 'M',
      familyName: hrId,
      managerId: bossId,
      active,
    });
    return r.account.id;
  };

  before(async () => {
    t = await startTenure({
      slack: true,
      policy: (p) => ({
        ...p,
        people: {
          fallbackApprovers: ['fiona.fallback@acme.example'],
          approvals: { sla: '1h', remindEvery: '1h', escalationSla: '1h' },
        },
        systems: p.systems.map((s) => (s.id === 'wiki' ? { ...s, approval: { approvers: ['manager' as const] } } : s)),
      }),
    });
    idp = new ScimConnector({ systemId: 'idp', baseUrl: t.idp.url });
    t.slack?.addUser({ id: 'UBEA', email: `bea.${tag}@acme.example`, name: 'bea' });
    t.slack?.addUser({ id: 'UGONE', email: `gone.${tag}@acme.example`, name: 'gone' });
    t.slack?.addUser({ id: 'ULATE', email: `late.${tag}@acme.example`, name: 'late' });
    t.slack?.addUser({ id: 'UFIONA', email: 'fiona.fallback@acme.example', name: 'fiona' });
  });
  after(async () => {
    await t?.stop();
  });

  const buttonsFor = (user: string) => slackButtonsFor(t.slack, user);
  const evidenceActions = async (hrId: string): Promise<string[]> => {
    const out: string[] = [];
    for await (const e of t.audit.stream({ hrId })) out.push(e.action);
    return out;
  };

  it('a manager already inactive is skipped when the request is made: their manager is asked instead', async () => {
    const boss = await idp.ensureAccount({
      hrId: bossHrId,
      userName: `bea.${tag}@acme.example`,
      givenName: 'Bea',
      familyName: 'Boss',
      active: true,
    });
    const goneHrId = `GONE${tag}`;
    await addManager(goneHrId, `gone.${tag}@acme.example`, boss.account.id, false);
    const record = makeRecord({ hireDate: '2025-09-01', managerHrId: goneHrId });
    const eventId = `hire-${record.hrId}`;
    assert.equal((await t.tenure.sendEvent({ eventId, kind: 'hire', record })).outcome, 'accepted');

    await waitFor(() => buttonsFor('UBEA').length === 1, 30_000, "the request to the manager's manager");
    assert.equal(buttonsFor('UGONE').length, 0, 'nothing to the departed manager');
    const [request] = buttonsFor('UBEA');
    assert.ok(request);
    assert.equal((await clickAs(t, request, 'UBEA', 'approve')).status, 200);
    const final = await resultWhenStarted(
      t.client.workflow.getHandle<typeof onboardingWorkflow>(eventWorkflowId(record.hrId, 'hire', eventId)),
    );
    assert.equal(final.steps.find((s) => s.id === 'approve:wiki')?.outcome, 'approved');
    assert.ok(
      t.app.users().some((u) => u.externalId === record.hrId && u.active),
      'the wiki account is active',
    );
    assert.ok((await evidenceActions(record.hrId)).includes('approver_skipped'));
  });

  it('a manager who leaves after the request was sent cannot decide it: the click is refused, their manager decides', async () => {
    const boss = await idp.findByHrKey(bossHrId);
    assert.ok(boss);
    const lateHrId = `LATE${tag}`;
    const lateId = await addManager(lateHrId, `late.${tag}@acme.example`, boss.id, true);
    const record = makeRecord({ hireDate: '2025-09-01', managerHrId: lateHrId });
    const eventId = `hire-${record.hrId}`;
    assert.equal((await t.tenure.sendEvent({ eventId, kind: 'hire', record })).outcome, 'accepted');
    await waitFor(() => buttonsFor('ULATE').length === 1, 30_000, 'the request to the manager');
    const before = buttonsFor('UBEA').length;

    // The manager is offboarded (Tenure disables the identity provider account first), then clicks Approve.
    await idp.setActive(lateId, false);
    const [request] = buttonsFor('ULATE');
    assert.ok(request);
    const click = await clickAs(t, request, 'ULATE', 'approve');
    assert.equal(click.status, 200, click.body);
    await waitFor(
      () =>
        (t.slack?.messages ?? []).some(
          (m) => m.ephemeral && m.user === 'ULATE' && /no longer decide/.test(m.text ?? ''),
        ),
      30_000,
      'the refusal, shown only to the clicker',
    );
    const handle = t.client.workflow.getHandle<typeof onboardingWorkflow>(
      eventWorkflowId(record.hrId, 'hire', eventId),
    );
    assert.notEqual((await handle.describe()).status.name, 'COMPLETED', 'the refused click decided nothing');

    // Nobody eligible is left at the manager level: it escalates at once to their manager.
    await waitFor(() => buttonsFor('UBEA').length === before + 1, 30_000, "the escalation to the manager's manager");
    const escalated = buttonsFor('UBEA').at(-1);
    assert.ok(escalated);
    assert.equal((await clickAs(t, escalated, 'UBEA', 'approve')).status, 200);
    const final = await resultWhenStarted(handle);
    const approval = final.steps.find((s) => s.id === 'approve:wiki');
    assert.equal(approval?.outcome, 'approved');
    assert.ok((await evidenceActions(record.hrId)).includes('approval_decision_refused'));
  });
});
