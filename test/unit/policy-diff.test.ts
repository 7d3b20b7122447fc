import assert from 'node:assert/strict';
import { parsePolicy } from '../../src/config/policy-file';
import type { PolicyInput } from '../../src/domain/policy';
import { diffPerson, diffPolicies } from '../../src/domain/policy-diff';
import { makeRecord } from '../helpers/records';

const scim = (port: number) => ({ type: 'scim' as const, baseUrl: `http://127.0.0.1:${port}/scim/v2` });

const current: PolicyInput = {
  systems: [
    { id: 'idp', name: 'IdP', kind: 'identity-provider', connector: scim(1) },
    { id: 'chat', name: 'Chat', kind: 'app', connector: scim(2) },
    { id: 'crm', name: 'CRM', kind: 'app', connector: scim(3) },
    { id: 'git', name: 'Git', kind: 'app', connector: scim(4) },
  ],
  birthright: [
    { name: 'all', systems: ['chat'] },
    { name: 'sales', match: { department: ['Sales'] }, systems: [{ system: 'crm', groups: ['sales-team'] }] },
    { name: 'eng', match: { department: ['Engineering'] }, systems: [{ system: 'git', groups: ['devs'] }] },
  ],
};

describe('policy diff: the gains and losses a policy change causes, per person', () => {
  const engineer = makeRecord({ department: 'Engineering' });
  const seller = makeRecord({ department: 'Sales' });
  const gone = makeRecord({ department: 'Sales', status: 'terminated', exitDate: '2026-01-01' });

  it('a new rule (Sales gains Git readers and a CRM group) lists exactly those changes', () => {
    const next: PolicyInput = {
      ...current,
      birthright: [
        ...current.birthright.filter((r) => r.name !== 'sales'),
        {
          name: 'sales',
          match: { department: ['Sales'] },
          systems: [{ system: 'crm', groups: ['sales-team', 'crm-admins'] }],
        },
        { name: 'sales-git', match: { department: ['Sales'] }, systems: [{ system: 'git', groups: ['readers'] }] },
      ],
    };
    const d = diffPolicies([engineer, seller, gone], parsePolicy(current).policy, parsePolicy(next).policy);
    assert.equal(d.people, 2, 'a leaver is not governed by the policy any more');
    assert.deepEqual(d.changed, [
      {
        hrId: seller.hrId,
        gains: [
          { systemId: 'crm', account: false, groups: ['crm-admins'] },
          { systemId: 'git', account: true, groups: ['readers'] },
        ],
        losses: [],
      },
    ]);
    assert.deepEqual(d.totals, { gainAccounts: 1, loseAccounts: 0, gainGroups: 2, loseGroups: 0 });
    assert.equal(d.impact.totals.revocations, 0);
    assert.equal(d.impact.totals.grants, 1);
  });

  it('removing a rule and a group: accounts and groups lost, counted as the guard counts revocations', () => {
    const next: PolicyInput = {
      ...current,
      birthright: [
        { name: 'all', systems: ['chat'] },
        { name: 'eng', match: { department: ['Engineering'] }, systems: ['git'] },
      ],
    };
    const d = diffPolicies([engineer, seller], parsePolicy(current).policy, parsePolicy(next).policy);
    assert.deepEqual(
      d.changed.find((p) => p.hrId === seller.hrId),
      { hrId: seller.hrId, gains: [], losses: [{ systemId: 'crm', account: true, groups: ['sales-team'] }] },
    );
    assert.deepEqual(
      d.changed.find((p) => p.hrId === engineer.hrId),
      { hrId: engineer.hrId, gains: [], losses: [{ systemId: 'git', account: false, groups: ['devs'] }] },
    );
    assert.equal(d.impact.totals.revocations, 2);
    assert.deepEqual(Object.fromEntries(Object.entries(d.impact.systems).map(([k, v]) => [k, v.revocations])), {
      crm: 1,
      git: 1,
    });
  });

  it('the same policy changes nothing for anyone', () => {
    const p = parsePolicy(current).policy;
    assert.deepEqual(diffPerson(engineer, p, p), { hrId: engineer.hrId, gains: [], losses: [] });
    assert.equal(diffPolicies([engineer, seller], p, p).changed.length, 0);
  });
});
