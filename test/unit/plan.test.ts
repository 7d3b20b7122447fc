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
    { name: 'sales', match: { department: ['Sales'] }, systems: ['crm'] },
    { name: 'eng', match: { department: ['Engineering'], employmentType: ['employee', 'intern'] }, systems: ['git'] },
  ],
};
const { policy } = parsePolicy(policyInput);

describe('plan: hire plans from the policy', () => {
  it('puts the identity provider first and each app after its dependencies', () => {
    const plan = planHire(makeRecord({ department: 'Engineering' }), policy, 'v1');
    assert.deepEqual(summarizePlan(plan), [
      'ensure_account:okta',
      'ensure_account:mail after ensure_account:okta',
      'ensure_account:chat after ensure_account:mail, ensure_account:okta',
      'ensure_account:git after ensure_account:okta',
    ]);
  });

  it('applies birthright matches: sales gets the CRM, an engineering contractor no git', () => {
    const sales = planHire(makeRecord({ department: 'Sales' }), policy, 'v1').steps.map((s) => s.systemId);
    assert.deepEqual(sales, ['okta', 'mail', 'chat', 'crm']);
    const contractor = planHire(makeRecord({ employmentType: 'contractor' }), policy, 'v1').steps.map(
      (s) => s.systemId,
    );
    assert.deepEqual(contractor, ['okta', 'mail', 'chat']);
  });

  const recordArb = fc.record({
    department: fc.constantFrom('Engineering', 'Sales', 'Finance'),
    employmentType: fc.constantFrom('employee' as const, 'contractor' as const, 'intern' as const),
  });
  const currentArb = fc.subarray(['okta', 'mail', 'chat', 'crm', 'git']);

  it('property: every step comes after the steps it depends on, and the IdP step has none', () => {
    fc.assert(
      fc.property(recordArb, currentArb, (over, have) => {
        const plan = planHire(
          makeRecord(over),
          policy,
          'v1',
          have.map((systemId) => ({ systemId, active: true })),
        );
        const seen = new Set<string>();
        for (const step of plan.steps) {
          for (const d of step.dependsOn) assert.ok(seen.has(d), `${step.id} before its dependency ${d}`);
          if (step.systemId === 'okta') assert.deepEqual(step.dependsOn, []);
          else if (plan.steps.some((s) => s.systemId === 'okta'))
            assert.ok(step.dependsOn.includes('ensure_account:okta'));
          seen.add(step.id);
        }
      }),
    );
  });

  it('property: a person already at target gets an empty plan; same input, same plan', () => {
    fc.assert(
      fc.property(recordArb, (over) => {
        const record = makeRecord(over);
        const full = planHire(record, policy, 'v1');
        const current = full.steps.map((s) => ({ systemId: s.systemId, active: true }));
        assert.deepEqual(planHire(record, policy, 'v1', current).steps, []);
        assert.deepEqual(planHire(record, policy, 'v1'), full);
      }),
    );
  });
});
