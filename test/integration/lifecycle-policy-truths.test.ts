import assert from 'node:assert/strict';
import { startWorker } from '../../src/app/compose';
import { loadSettings } from '../../src/app/settings';
import { adoptCurrentPolicy } from '../../src/client/operations';
import { parsePolicy } from '../../src/config/policy-file';
import { eventWorkflowId } from '../../src/domain/ids';
import { onboardingStatusQuery } from '../../src/workflows/onboarding/messages';
import { makeRecord } from '../helpers/records';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { workflowBundle } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';

/** Smaller truths (issue 17 item 6): adopt-policy takes the new timing; a configuration failure is evidence. */
describe('policy truths: adopt-policy recomputes the instant, a configuration failure leaves evidence', function () {
  this.timeout(180_000);
  let t: TenureHarness;

  before(async () => {
    // The wiki needs an approval, but this deployment has no Slack: preparing the approval fails on configuration.
    t = await startTenure({
      policy: (p) => ({
        ...p,
        people: { fallbackApprovers: ['it-oncall@acme.example'] },
        systems: p.systems.map((s) => (s.id === 'wiki' ? { ...s, approval: { approvers: ['manager' as const] } } : s)),
      }),
    });
  });
  after(async () => {
    await t?.stop();
  });

  it('a step that fails on configuration is an exception with an evidence record', async () => {
    const record = makeRecord({ hireDate: '2025-09-01', managerHrId: 'MGR-NONE' });
    const eventId = `cfg-${record.hrId}`;
    assert.equal((await t.tenure.sendEvent({ eventId, kind: 'hire', record })).outcome, 'accepted');
    const handle = t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'hire', eventId));
    await waitFor(
      async () => (await handle.query(onboardingStatusQuery)).exceptions.includes('approve:wiki'),
      30_000,
      'exception',
    );
    const rows: { action: string; outcome: string; detail?: Record<string, unknown> }[] = [];
    for await (const e of t.audit.stream({ hrId: record.hrId })) rows.push(e);
    const failed = rows.find((e) => e.action === 'prepare_approval' && e.outcome === 'failed');
    assert.ok(failed, rows.map((e) => `${e.action}:${e.outcome}`).join(','));
    assert.equal(failed.detail?.errorType, 'config');
    assert.equal(t.app.users().filter((u) => u.externalId === record.hrId).length, 0, 'no wiki account');
  });

  it('adopt-policy moves a waiting run to the new policy, its activation time included', async () => {
    const record = makeRecord({
      hireDate: '2031-03-03',
      location: { name: 'Lisbon', countryCode: 'PT', timeZone: 'Europe/Lisbon' },
    });
    const eventId = `adopt-${record.hrId}`;
    const answer = await t.tenure.sendEvent({ eventId, kind: 'hire', record });
    assert.equal(answer.outcome, 'accepted', JSON.stringify(answer));
    const handle = t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'hire', eventId));
    await waitFor(
      async () => (await handle.query(onboardingStatusQuery)).effectiveAt === '2031-03-03T09:00:00.000Z',
      30_000,
      'run waiting at 09:00',
    );

    // The workers now run a policy that activates at 14:00 and needs no approval.
    await t.worker.shutdown();
    const next = parsePolicy({
      timing: { activationTime: '14:00', defaultTimeZone: 'UTC' },
      systems: [
        {
          id: 'idp',
          name: 'Identity provider',
          kind: 'identity-provider',
          connector: { type: 'scim', baseUrl: t.idp.url },
        },
        { id: 'wiki', name: 'Wiki', kind: 'app', connector: { type: 'scim', baseUrl: t.app.url }, dependsOn: ['idp'] },
      ],
      birthright: [{ name: 'everyone', systems: ['idp', 'wiki'] }],
    });
    const settings = loadSettings({ vars: t.settings.vars, policy: next });
    const worker = await startWorker(settings, t.audit, { workflowBundle: await workflowBundle() });
    try {
      const adopted = await adoptCurrentPolicy(t.client, record.hrId);
      assert.equal(adopted.policyVersion, next.version);
      assert.equal(adopted.effectiveAt, '2031-03-03T14:00:00.000Z');
      assert.ok(!adopted.steps.some((s) => s.id === 'approve:wiki'), 'the new plan has no approval');
      const status = await handle.query(onboardingStatusQuery);
      assert.equal(status.effectiveAt, '2031-03-03T14:00:00.000Z');
      assert.equal(status.stage.startsWith('waiting'), true, 'still waiting for the new instant');
      assert.equal(t.idp.users().filter((u) => u.externalId === record.hrId).length, 0, 'nothing created before it');
    } finally {
      await worker.shutdown();
    }
  });
});
