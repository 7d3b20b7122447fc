import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePolicy } from '../../src/config/policy-file';
import type { PolicyInput } from '../../src/domain/policy';
import { planHire, summarizePlan } from '../../src/domain/plan';
import { makeRecord } from '../helpers/records';

const scim = (port: number) => ({ type: 'scim' as const, baseUrl: `http://127.0.0.1:${port}/scim/v2` });

const policyInput: PolicyInput = {
  systems: [
    { id: 'chat', name: 'Chat', kind: 'app', connector: scim(3), dependsOn: ['mail'] },
    { id: 'mail', name: 'Mail', kind: 'app', connector: scim(2) },
    { id: 'okta', name: 'Okta', kind: 'identity-provider', connector: scim(1) },
    { id: 'crm', name: 'CRM', kind: 'app', connector: scim(4) },
    { id: 'git', name: 'Git', kind: 'app', connector: scim(5) },
  ],
  birthright: [
    { name: 'all', systems: ['mail', 'chat'] },
    {
      name: 'sales',
      playbook: 'Sales Onboarding Playbook',
      match: { department: ['Sales'] },
      systems: [{ system: 'crm', groups: ['sales-team'] }],
    },
    { name: 'eng', match: { department: ['Engineering'], employmentType: ['employee', 'intern'] }, systems: ['git'] },
  ],
};
const { policy } = parsePolicy(policyInput);

describe('plan: hire plans from the policy', () => {
  it('creates every account disabled, IdP first and each app after its dependencies, then activates in the same order', () => {
    const plan = planHire(makeRecord({ department: 'Engineering' }), policy, 'v1');
    assert.deepEqual(summarizePlan(plan), [
      'create_account:okta',
      'create_account:mail after create_account:okta',
      'create_account:chat after create_account:mail, create_account:okta',
      'create_account:git after create_account:okta',
      'activate_account:okta after create_account:okta',
      'activate_account:mail after activate_account:okta, create_account:mail',
      'activate_account:chat after activate_account:mail, activate_account:okta, create_account:chat',
      'activate_account:git after activate_account:okta, create_account:git',
    ]);
    assert.ok(
      plan.steps.every((s) => (s.action === 'create_account' ? s.phase === 'pre_provision' : s.phase === 'activation')),
    );
  });

  it('allocates a work email first when the record has none, writes it back, and tells the manager last', () => {
    const { workEmail: _none, ...record } = makeRecord({ managerHrId: 'M1' });
    const plan = planHire(record, policy, 'v1', { writeBackEmail: true, notifyManager: true });
    const ids = plan.steps.map((s) => s.id);
    assert.equal(ids[0], 'allocate_work_email');
    assert.ok(
      plan.steps.filter((s) => s.action === 'create_account').every((s) => s.dependsOn.includes('allocate_work_email')),
    );
    assert.deepEqual(plan.steps.find((s) => s.id === 'write_back_email')?.dependsOn, ['create_account:okta']);
    const notify = plan.steps.at(-1);
    assert.equal(notify?.id, 'notify_manager');
    assert.deepEqual(
      notify?.dependsOn,
      plan.steps.filter((s) => s.action === 'activate_account').map((s) => s.id),
    );
  });

  it('applies birthright matches and groups: sales gets the CRM, an engineering contractor no git', () => {
    const sales = planHire(makeRecord({ department: 'Sales' }), policy, 'v1');
    assert.deepEqual(
      sales.steps.filter((s) => s.action === 'create_account').map((s) => s.systemId),
      ['okta', 'mail', 'chat', 'crm'],
    );
    assert.deepEqual(sales.steps.find((s) => s.id === 'assign_groups:crm')?.groups, ['sales-team']);
    assert.deepEqual(sales.playbooks, ['Sales Onboarding Playbook']);
    const contractor = planHire(makeRecord({ employmentType: 'contractor' }), policy, 'v1');
    assert.deepEqual(
      contractor.steps.filter((s) => s.action === 'create_account').map((s) => s.systemId),
      ['okta', 'mail', 'chat'],
    );
  });

  const recordArb = fc.record({
    department: fc.constantFrom('Engineering', 'Sales', 'Finance'),
    employmentType: fc.constantFrom('employee' as const, 'contractor' as const, 'intern' as const),
    withEmail: fc.boolean(),
  });
  const currentArb = fc.subarray(['okta', 'mail', 'chat', 'crm', 'git']);

  it('property: every step comes after the steps it depends on; every app step waits for the IdP', () => {
    fc.assert(
      fc.property(recordArb, currentArb, fc.boolean(), ({ withEmail, ...over }, have, extras) => {
        const record = makeRecord(over);
        if (!withEmail) delete record.workEmail;
        const plan = planHire(record, policy, 'v1', {
          current: have.map((systemId) => ({ systemId, active: true })),
          notifyManager: extras,
          writeBackEmail: extras,
        });
        const seen = new Set<string>();
        const hasIdp = plan.steps.some((s) => s.systemId === 'okta');
        for (const step of plan.steps) {
          for (const d of step.dependsOn) assert.ok(seen.has(d), `${step.id} before its dependency ${d}`);
          if (hasIdp && step.systemId && step.systemId !== 'okta' && step.action !== 'assign_groups') {
            assert.ok(
              step.dependsOn.some((d) => d.endsWith(':okta')),
              `${step.id} waits for the IdP`,
            );
          }
          seen.add(step.id);
        }
      }),
    );
  });

  it('property: a person already at target gets an empty plan; same input, same plan', () => {
    fc.assert(
      fc.property(recordArb, ({ withEmail: _w, ...over }) => {
        const record = makeRecord(over);
        const full = planHire(record, policy, 'v1');
        const current = [...new Set(full.steps.map((s) => s.systemId))].map((systemId) => ({
          systemId: systemId ?? '',
          active: true,
        }));
        assert.deepEqual(planHire(record, policy, 'v1', { current }).steps, []);
        assert.deepEqual(planHire(record, policy, 'v1'), full);
      }),
    );
  });
});
