import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import { ScimConnector } from '../../src/activities/scim/client';
import type { EmployeeRecord } from '../../src/domain/employee';
import { eventWorkflowId } from '../../src/domain/ids';
import { planHireEvent } from '../../src/domain/plan-event';
import type { OnboardingStatus } from '../../src/workflows/onboarding/messages';
import { onboardingStatusQuery } from '../../src/workflows/onboarding/messages';
import type { onboardingWorkflow } from '../../src/workflows/onboarding/onboarding';
import { instantFromNow, makeRecord } from '../helpers/records';
import { workflowBundle } from '../helpers/temporal';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { waitFor } from '../helpers/wait';

/**
 * The joiner in full (issue 5): three hires through the real intake and dev server; accounts are created
 * disabled a day ahead, enabled at the hire instant, with the groups, naming and notices the policy says.
 */
describe('joiner: policy-driven onboarding for an engineer, a sales contractor and a hire with only a personal email', function () {
  this.timeout(180_000);
  const tz = 'Europe/Lisbon';
  let t: TenureHarness;
  let when: ReturnType<typeof instantFromNow>;
  const managerHrId = `MGR${Date.now().toString(36)}`;
  const groups = new Map<string, string>();
  const groupId = (key: string): string => groups.get(key) ?? '';

  before(async () => {
    await workflowBundle();
    when = instantFromNow(14, tz);
    t = await startTenure({
      activationTime: when.activationTime,
      slack: true,
      bamboo: true,
      policy: (p) => ({
        ...p,
        timing: { ...p.timing, preProvisionDays: 1 },
        naming: { workEmailDomain: 'acme.example', pattern: '{first}.{last}' },
        birthright: [
          { name: 'everyone', systems: ['idp'] },
          { name: 'staff', match: { employmentType: ['employee', 'intern'] }, systems: ['wiki'] },
          {
            name: 'engineering',
            playbook: 'Engineering Onboarding Playbook',
            match: { department: ['Engineering'], employmentType: ['employee', 'intern'] },
            systems: [{ system: 'wiki', groups: ['engineering'] }],
          },
          {
            name: 'sales',
            playbook: 'Sales Onboarding Playbook',
            match: { department: ['Sales'] },
            systems: [{ system: 'idp', groups: ['sales'] }],
          },
          {
            name: 'contractors',
            match: { employmentType: ['contractor'] },
            systems: [{ system: 'idp', groups: ['contractors'] }],
          },
        ],
      }),
    });
    for (const g of ['sales', 'contractors']) groups.set(`idp/${g}`, t.idp.createGroup(g));
    groups.set('wiki/engineering', t.app.createGroup('engineering'));
    // The manager already works here; somebody else already holds ana.lima@acme.example.
    const idp = new ScimConnector({ systemId: 'idp', baseUrl: t.idp.url });
    await idp.ensureAccount({
      hrId: managerHrId,
      userName: 'maria.boss@acme.example',
      givenName: 'Maria',
      familyName: 'Boss',
      active: true,
    });
    await idp.ensureAccount({
      hrId: 'OTHER-1',
      userName: 'ana.lima@acme.example',
      givenName: 'Ana',
      familyName: 'Lima',
      active: true,
    });
    t.slack?.addUser({ id: 'UMARIA', email: 'maria.boss@acme.example', name: 'maria' });
  });
  after(async () => {
    await t?.stop();
  });

  it('provisions exactly what the policy says, in its order, and the preview equals what ran', async () => {
    const base = {
      hireDate: when.hireDate,
      managerHrId,
      location: { name: 'Lisbon', countryCode: 'PT', timeZone: tz },
    };
    const engineer = makeRecord({ ...base, legalFirstName: 'Rui', legalLastName: 'Costa', department: 'Engineering' });
    const contractor = makeRecord({
      ...base,
      legalFirstName: 'Sofia',
      legalLastName: 'Nunes',
      department: 'Sales',
      employmentType: 'contractor',
      exitDate: '2027-06-30',
    });
    // HR knows this hire by their BambooHR id; Tenure writes the generated work email back there.
    const bambooId = t.bamboo?.addEmployee({
      id: String(Date.now()),
      firstName: 'Ana',
      lastName: 'Lima',
      homeEmail: 'ana.personal@mail.example',
    });
    assert.ok(bambooId);
    const { workEmail: _none, ...personalOnly } = makeRecord({
      ...base,
      hrId: bambooId,
      legalFirstName: 'Ana',
      legalLastName: 'Lima',
      department: 'Finance',
      personalEmail: 'ana.personal@mail.example',
    });
    const hires: EmployeeRecord[] = [engineer, contractor, personalOnly];

    const previews = hires.map((r) => planHireEvent(r, t.policy.policy, t.policy.version));
    // The same preview through TenureClient, over the intake server, for HR teams that integrate in code.
    for (const [i, r] of hires.entries()) assert.deepEqual(await t.tenure.previewPlan(r), previews[i]);
    const handles: WorkflowHandle<typeof onboardingWorkflow>[] = [];
    for (const record of hires) {
      const eventId = `evt-${record.hrId}`;
      const answer = await t.tenure.sendEvent({ eventId, kind: 'hire', record });
      assert.equal(answer.outcome, 'accepted', JSON.stringify(answer));
      handles.push(
        t.client.workflow.getHandle<typeof onboardingWorkflow>(eventWorkflowId(record.hrId, 'hire', eventId)),
      );
    }

    // A day ahead is already past: accounts exist, disabled, before the hire instant.
    await waitFor(
      async () => {
        const s = await Promise.all(handles.map((h) => h.query(onboardingStatusQuery)));
        return s.every((x) => x.stage === 'waiting');
      },
      30_000,
      'pre-provisioning',
    );
    assert.ok(Date.now() < when.at.getTime(), 'pre-provisioning finished before the hire instant');
    const users = () => [...t.idp.users(), ...t.app.users()].filter((u) => hires.some((h) => h.hrId === u.externalId));
    assert.equal(users().length, 5, 'engineer: idp+wiki, contractor: idp, personal-only: idp+wiki');
    assert.ok(
      users().every((u) => !u.active),
      'pre-provisioned accounts are disabled',
    );

    const finals: OnboardingStatus[] = await Promise.all(handles.map((h) => h.result()));
    for (const [i, final] of finals.entries()) {
      const preview = previews[i];
      assert.ok(preview?.ok);
      assert.equal(final.stage, 'completed');
      assert.deepEqual(final.exceptions, []);
      assert.deepEqual(
        final.steps.map((s) => s.id),
        preview.plan.steps.map((s) => s.id),
        'the preview is what ran',
      );
      assert.deepEqual(final.playbooks, preview.plan.playbooks);
      assert.equal(final.policyVersion, t.policy.version);
      for (const s of final.steps) {
        assert.equal(s.state, 'succeeded', `${s.id}: ${s.error ?? ''}`);
        for (const d of s.dependsOn) {
          const dep = final.steps.find((x) => x.id === d);
          assert.ok(Date.parse(s.startedAt ?? '') >= Date.parse(dep?.finishedAt ?? ''), `${s.id} after ${d}`);
        }
        if (s.action === 'activate_account') assert.ok(Date.parse(s.startedAt ?? '') >= when.at.getTime());
      }
    }
    assert.ok(
      users().every((u) => u.active),
      'every account is active after the hire instant',
    );

    // Engineer: IdP + wiki in the engineering group, Engineering playbook.
    const rui = (peer: typeof t.idp) => peer.users().find((u) => u.externalId === engineer.hrId);
    assert.ok(rui(t.idp) && rui(t.app));
    assert.deepEqual(finals[0]?.playbooks, ['Engineering Onboarding Playbook']);
    const engGroup = t.app.groupMembers(groupId('wiki/engineering'));
    assert.deepEqual(engGroup, [rui(t.app)?.id]);

    // Sales contractor: IdP only, in sales and contractors; no wiki account.
    const sofia = t.idp.users().find((u) => u.externalId === contractor.hrId);
    assert.ok(sofia);
    assert.equal(
      t.app.users().find((u) => u.externalId === contractor.hrId),
      undefined,
    );
    assert.deepEqual(t.idp.groupMembers(groupId('idp/sales')), [sofia.id]);
    assert.deepEqual(t.idp.groupMembers(groupId('idp/contractors')), [sofia.id]);

    // Personal email only: a unique work email from the naming convention (ana.lima is taken).
    const ana = t.idp.users().find((u) => u.externalId === personalOnly.hrId);
    assert.equal(ana?.userName, 'ana.lima2@acme.example');
    assert.equal(finals[2]?.workEmailAllocated, true);
    assert.equal(t.app.users().find((u) => u.externalId === personalOnly.hrId)?.userName, 'ana.lima2@acme.example');

    assert.equal(t.bamboo?.employee(bambooId)?.workEmail, 'ana.lima2@acme.example', 'written back to the HRIS');
    assert.ok(finals[2]?.steps.some((s) => s.id === 'write_back_email' && s.state === 'succeeded'));

    // The manager got one welcome per hire, in Slack, after the accounts were active.
    const welcomes = t.slack?.messages.filter((m) => m.channel === 'UMARIA') ?? [];
    assert.equal(welcomes.length, 3);
    assert.ok(welcomes.some((m) => m.text?.includes('Rui Costa')));

    // Evidence: one record per step per hire, each with the policy version.
    for (const [i, record] of hires.entries()) {
      const evidence = [];
      for await (const e of t.audit.stream({ hrId: record.hrId }))
        if (e.action !== 'hr_event_received') evidence.push(e);
      assert.equal(evidence.length, finals[i]?.steps.length, `evidence for ${record.hrId}`);
      assert.ok(evidence.every((e) => e.detail?.policyVersion === t.policy.version));
    }
  });
});
