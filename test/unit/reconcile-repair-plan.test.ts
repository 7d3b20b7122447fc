import assert from 'node:assert/strict';
import { parsePolicy } from '../../src/config/policy-file';
import { summarizePlan } from '../../src/domain/plan';
import type { PolicyInput } from '../../src/domain/policy';
import { planRepair } from '../../src/domain/plan-repair';
import { makeRecord } from '../helpers/records';

const scim = (port: number) => ({ type: 'scim' as const, baseUrl: `http://127.0.0.1:${port}/scim/v2` });

const input: PolicyInput = {
  people: { fallbackApprovers: ['it-oncall@acme.example'], teams: { office: ['office@acme.example'] } },
  systems: [
    { id: 'okta', name: 'Okta', kind: 'identity-provider', connector: scim(1) },
    { id: 'wiki', name: 'Wiki', kind: 'app', connector: scim(2) },
    { id: 'crm', name: 'CRM', kind: 'app', connector: scim(3), approval: { approvers: ['manager'] } },
    { id: 'fax', name: 'Fax', kind: 'app', owner: 'office', connector: { type: 'manual', instructions: 'Add them.' } },
  ],
  birthright: [{ name: 'all', systems: ['okta', { system: 'wiki', groups: ['staff'] }, 'crm', 'fax'] }],
};
const { policy } = parsePolicy(input);
const person = () => makeRecord({ status: 'active', hireDate: '2024-01-02' });

describe('reconcile: the repair plan', () => {
  it('a missing account is created, given its groups and activated; drift is an update', () => {
    const r = planRepair(person(), { missing: ['wiki'], drift: ['okta'] }, policy, 'v1');
    assert.ok(r.ok);
    assert.equal(r.plan.kind, 'change');
    assert.deepEqual(summarizePlan(r.plan), [
      'create_account:wiki',
      'assign_groups:wiki after create_account:wiki',
      'activate_account:wiki after create_account:wiki, assign_groups:wiki',
      'update_account:okta',
    ]);
  });

  it('a missing system with an approval rule is approved again; the identity provider goes first', () => {
    const r = planRepair(person(), { missing: ['crm', 'okta'], drift: ['crm'] }, policy, 'v1');
    assert.ok(r.ok);
    assert.deepEqual(summarizePlan(r.plan), [
      'create_account:okta',
      'activate_account:okta after create_account:okta',
      'approve:crm',
      'create_account:crm after approve:crm, activate_account:okta',
      'activate_account:crm after create_account:crm',
    ]);
  });

  it('systems the policy no longer grants, or that have no API, are skipped and named', () => {
    const r = planRepair(person(), { missing: ['fax', 'gone'], drift: [] }, policy, 'v1');
    assert.ok(r.ok);
    assert.deepEqual(r.plan.steps, []);
    assert.deepEqual(
      r.skipped.map((s) => s.systemId),
      ['fax', 'gone'],
    );
  });

  it('a leaver gets no account back', () => {
    const r = planRepair({ ...person(), status: 'terminated' }, { missing: ['wiki'], drift: [] }, policy, 'v1');
    assert.equal(r.ok, false);
  });
});
