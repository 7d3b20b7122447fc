import assert from 'node:assert/strict';
import { ScimConnector, SCIM_ENTERPRISE_USER_SCHEMA } from '../../src/activities/scim/client';
import { identityProviderDirectory } from '../../src/activities/directory';
import { eventWorkflowId } from '../../src/domain/ids';
import type { onboardingWorkflow } from '../../src/workflows/onboarding/onboarding';
import { makeRecord } from '../helpers/records';
import { buttonsFor as slackButtonsFor, clickAs } from '../helpers/slack-clicks';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { resultWhenStarted, waitFor } from '../helpers/wait';

/**
 * The manager's manager, from the identity provider: each account names its manager's account (SCIM enterprise
 * `manager.value`, written by Tenure), so a manager who does not decide in time is escalated one level up.
 */
describe("escalation to the manager's manager, found in the identity provider", function () {
  this.timeout(120_000);
  let t: TenureHarness;
  const tag = Date.now().toString(36);
  const bossHrId = `BOSS${tag}`;
  const managerHrId = `MGR${tag}E`;

  before(async () => {
    t = await startTenure({
      slack: true,
      policy: (p) => ({
        ...p,
        people: {
          fallbackApprovers: ['fiona.fallback@acme.example'],
          approvals: { sla: '3s', remindEvery: '1h', escalationSla: '1h' },
        },
        systems: p.systems.map((s) => (s.id === 'wiki' ? { ...s, approval: { approvers: ['manager' as const] } } : s)),
      }),
    });
    const idp = new ScimConnector({ systemId: 'idp', baseUrl: t.idp.url });
    const boss = await idp.ensureAccount({
      hrId: bossHrId,
      userName: 'bea.boss@acme.example',
      givenName: 'Bea',
      familyName: 'Boss',
      active: true,
    });
    await idp.ensureAccount({
      hrId: managerHrId,
      userName: 'max.manager@acme.example',
      givenName: 'Max',
      familyName: 'Manager',
      managerId: boss.account.id,
      active: true,
    });
    t.slack?.addUser({ id: 'UBEA', email: 'bea.boss@acme.example', name: 'bea' });
    t.slack?.addUser({ id: 'UMAX', email: 'max.manager@acme.example', name: 'max' });
    t.slack?.addUser({ id: 'UFIONA', email: 'fiona.fallback@acme.example', name: 'fiona' });
  });
  after(async () => {
    await t?.stop();
  });

  const buttonsFor = (user: string) => slackButtonsFor(t.slack, user);

  it('reads who manages whom from the identity provider', async () => {
    const directory = identityProviderDirectory(new ScimConnector({ systemId: 'idp', baseUrl: t.idp.url }));
    assert.equal(await directory.managerOf(managerHrId), bossHrId);
    assert.equal(await directory.managerOf(bossHrId), undefined, 'the top has no manager');
    assert.equal(await directory.managerOf('NOBODY'), undefined);
  });

  it("a manager who does not decide in time is escalated to their manager, who approves; the hire's account names its manager", async () => {
    const record = makeRecord({ hireDate: '2025-09-01', managerHrId });
    const eventId = `hire-${record.hrId}`;
    const a = await t.tenure.sendEvent({ eventId, kind: 'hire', record });
    assert.equal(a.outcome, 'accepted', JSON.stringify(a));
    await waitFor(() => buttonsFor('UMAX').length === 1, 30_000, 'approval request to the manager');
    await waitFor(() => buttonsFor('UBEA').length === 1, 30_000, "escalation to the manager's manager");
    assert.equal(buttonsFor('UFIONA').length, 0, 'not to the fallback approvers');
    const [escalated] = buttonsFor('UBEA');
    assert.ok(escalated);
    const click = await clickAs(t, escalated, 'UBEA', 'approve');
    assert.equal(click.status, 200);
    const final = await resultWhenStarted(
      t.client.workflow.getHandle<typeof onboardingWorkflow>(eventWorkflowId(record.hrId, 'hire', eventId)),
    );
    assert.equal(final.stage, 'completed');
    assert.equal(final.steps.find((s) => s.id === 'approve:wiki')?.outcome, 'approved');
    assert.ok(t.app.users().some((u) => u.externalId === record.hrId && u.active));

    const person = t.idp.users().find((u) => u.externalId === record.hrId);
    const manager = t.idp.users().find((u) => u.externalId === managerHrId);
    const ext = person?.raw[SCIM_ENTERPRISE_USER_SCHEMA] as { manager?: { value?: string } } | undefined;
    assert.equal(ext?.manager?.value, manager?.id);
  });
});
