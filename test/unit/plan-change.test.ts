import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { loadPolicyFile, parsePolicy } from '../../src/config/policy-file';
import type { PolicyInput } from '../../src/domain/policy';
import { summarizePlan, targetAccess } from '../../src/domain/plan';
import {
  planChange,
  planRetentionDeletion,
  planRevocations,
  prunePending,
  roleChanges,
} from '../../src/domain/plan-change';
import { planExit } from '../../src/domain/plan-exit';
import { makeRecord } from '../helpers/records';

const scim = (port: number) => ({ type: 'scim' as const, baseUrl: `http://127.0.0.1:${port}/scim/v2` });

const input: PolicyInput = {
  timing: { moverGrace: '3d', retention: '30d' },
  people: { fallbackApprovers: ['it-oncall@acme.example'] },
  slack: { tokenEnv: 'SLACK_TOKEN' },
  systems: [
    { id: 'okta', name: 'Okta', kind: 'identity-provider', connector: scim(1) },
    { id: 'wiki', name: 'Wiki', kind: 'app', connector: scim(2), licence: 'wiki-seat', licenceGroup: 'seats' },
    { id: 'crm', name: 'CRM', kind: 'app', connector: scim(3), approval: { approvers: ['manager'] } },
    { id: 'git', name: 'Git', kind: 'app', connector: scim(4) },
    {
      id: 'drive',
      name: 'Drive',
      kind: 'app',
      connector: scim(5),
      dataHandover: { instructions: 'Transfer ownership of the files.' },
    },
  ],
  birthright: [
    { name: 'all', systems: ['okta', { system: 'wiki', groups: ['staff'] }, 'drive'] },
    { name: 'eng', match: { department: ['Engineering'] }, systems: ['git', { system: 'wiki', groups: ['eng'] }] },
    { name: 'sales', match: { department: ['Sales'] }, systems: ['crm', { system: 'wiki', groups: ['sales'] }] },
  ],
};
const { policy } = parsePolicy(input);
const NOW = '2026-05-04T10:00:00.000Z';

describe('plan: movers, revocations and the leaver extras', () => {
  it('a mover gets the new role at once and loses the old one after the grace period', () => {
    const before = makeRecord({ department: 'Engineering', title: 'Engineer' });
    const after = { ...before, department: 'Sales', title: 'Account Executive' };
    const r = planChange(before, after, policy, 'v1', NOW);
    assert.ok(r.ok);
    assert.deepEqual(summarizePlan(r.plan), [
      'approve:crm',
      'create_account:crm after approve:crm',
      'activate_account:crm after create_account:crm',
      'update_account:okta',
      'update_account:wiki',
      'assign_groups:wiki',
      'update_account:drive',
    ]);
    assert.deepEqual(r.plan.steps.find((s) => s.id === 'assign_groups:wiki')?.groups, ['sales']);
    assert.deepEqual(r.revocations, [{ systemId: 'wiki', groups: ['eng'] }, { systemId: 'git' }]);
    assert.equal(r.graceEndsAt, '2026-05-07T10:00:00.000Z');
    assert.deepEqual(r.changes, ['department: Engineering → Sales', 'title: Engineer → Account Executive']);
  });

  it('a change that touches nothing access-related plans nothing; a name change says so without the name', () => {
    const before = makeRecord({ department: 'Engineering' });
    const same = planChange(before, { ...before, location: { ...before.location, name: 'Porto' } }, policy, 'v1', NOW);
    assert.ok(same.ok);
    assert.deepEqual(same.plan.steps, []);
    assert.deepEqual(same.revocations, []);
    const renamed = { ...before, preferredFirstName: 'Anita' };
    assert.deepEqual(roleChanges(before, renamed), ['name changed']);
    const r = planChange(before, renamed, policy, 'v1', NOW);
    assert.ok(r.ok);
    assert.ok(r.plan.steps.every((s) => s.action === 'update_account'));
  });

  it('a change that leaves no access at all is refused', () => {
    const narrow = parsePolicy({
      ...input,
      birthright: [{ name: 'eng', match: { department: ['Engineering'] }, systems: ['okta'] }],
    }).policy;
    const before = makeRecord({ department: 'Engineering' });
    const r = planChange(before, { ...before, department: 'Legal' }, narrow, 'v1', NOW);
    assert.equal(r.ok, false);
  });

  it('a record without a work email first adopts the identity-provider login', () => {
    const before = makeRecord({ department: 'Engineering' });
    delete before.workEmail;
    const r = planChange(before, { ...before, department: 'Sales' }, policy, 'v1', NOW);
    assert.ok(r.ok);
    assert.equal(r.plan.steps[0]?.id, 'allocate_work_email');
    assert.ok(r.plan.steps.slice(1).every((s) => s.action === 'approve' || s.dependsOn.length > 0));
  });

  it('pending revocations lose whatever the new role grants again', () => {
    const pending = [
      {
        eventId: 'm1',
        dueAt: NOW,
        policyVersion: 'v1',
        revocations: [{ systemId: 'git' }, { systemId: 'wiki', groups: ['eng', 'x'] }, { systemId: 'crm' }],
      },
    ];
    const eng = targetAccess(makeRecord({ department: 'Engineering' }), policy).targets;
    assert.deepEqual(prunePending(pending, eng), [
      {
        eventId: 'm1',
        dueAt: NOW,
        policyVersion: 'v1',
        revocations: [{ systemId: 'wiki', groups: ['x'] }, { systemId: 'crm' }],
      },
    ]);
    assert.deepEqual(prunePending([{ ...pending[0]!, revocations: [{ systemId: 'git' }] }], eng), []);
  });

  it('property: after a move, granted ∪ kept covers the new role and revocations never touch what it grants', () => {
    const departments = ['Engineering', 'Sales', 'Legal'];
    fc.assert(
      fc.property(fc.constantFrom(...departments), fc.constantFrom(...departments), (from, to) => {
        const before = makeRecord({ department: from });
        const r = planChange(before, { ...before, department: to }, policy, 'v1', NOW);
        assert.ok(r.ok);
        const next = targetAccess({ ...before, department: to }, policy).targets;
        for (const rev of r.revocations) {
          const t = next.find((x) => x.systemId === rev.systemId);
          if (!rev.groups) assert.equal(t, undefined, `${rev.systemId} is revoked but granted`);
          else for (const g of rev.groups) assert.ok(!t?.groups.includes(g));
        }
        const prev = new Set(targetAccess(before, policy).targets.map((x) => x.systemId));
        for (const t of next) {
          if (prev.has(t.systemId)) continue;
          assert.ok(
            r.plan.steps.some((s) => s.id === `create_account:${t.systemId}`),
            `${t.systemId} is created`,
          );
        }
      }),
    );
  });

  it('the grace run leaves groups and disables accounts, each system on its own', () => {
    const plan = planRevocations(
      [{ systemId: 'wiki', groups: ['eng'] }, { systemId: 'git' }, { systemId: 'pay', manual: true }],
      'v1',
    );
    assert.deepEqual(summarizePlan(plan), ['remove_groups:wiki', 'disable_account:git', 'manual_task:pay']);
  });

  it('a termination disables the IdP first, revokes its sessions, reclaims licences, hands data over, schedules deletion', () => {
    const r = planExit(
      makeRecord({
        exitDate: '2026-06-30',
        location: { name: 'Lisbon', countryCode: 'PT', timeZone: 'Europe/Lisbon' },
      }),
      policy,
      'v1',
      'termination',
      NOW,
    );
    assert.ok(r.ok);
    assert.deepEqual(summarizePlan(r.plan), [
      'disable_account:okta',
      'disable_account:wiki after disable_account:okta',
      'disable_account:crm after disable_account:okta',
      'disable_account:git after disable_account:okta',
      'disable_account:drive after disable_account:okta',
      'revoke_sessions:okta after disable_account:okta',
      'reclaim_licence:wiki after disable_account:wiki',
      'verify_exit after disable_account:okta, disable_account:wiki, disable_account:crm, disable_account:git, disable_account:drive, revoke_sessions:okta, reclaim_licence:wiki',
      'approve_handover:drive',
      'transfer_data:drive after approve_handover:drive, disable_account:drive',
    ]);
    assert.equal(r.effectiveAt, '2026-06-30T17:00:00.000Z');
    assert.deepEqual(r.retention, {
      deleteAt: '2026-07-30T17:00:00.000Z',
      systems: ['wiki', 'crm', 'git', 'drive', 'okta'],
      idp: 'okta',
    });
    const leave = planExit(makeRecord(), policy, 'v1', 'leave_start', NOW);
    assert.ok(leave.ok);
    assert.equal(leave.retention, undefined, 'a leave deletes nothing');
    assert.ok(!leave.plan.steps.some((s) => s.action === 'reclaim_licence' || s.action === 'transfer_data'));
  });

  it('retention deletion removes the apps first and the identity provider last, then reads all back', () => {
    assert.deepEqual(summarizePlan(planRetentionDeletion(['wiki', 'git', 'okta'], 'okta', 'v1')), [
      'delete_account:wiki',
      'delete_account:git',
      'delete_account:okta after delete_account:wiki, delete_account:git',
      'verify_exit after delete_account:wiki, delete_account:git, delete_account:okta',
    ]);
  });

  it('refuses policy durations out of range, and a licence group without a licence', () => {
    assert.throws(() => parsePolicy({ ...input, timing: { moverGrace: '100d' } }), /timing\.moverGrace/);
    assert.throws(() => parsePolicy({ ...input, timing: { retention: 'soon' } }), /timing\.retention/);
    const bad = {
      ...input,
      systems: input.systems.map((s) => (s.id === 'git' ? { ...s, licenceGroup: 'seats' } : s)),
    };
    assert.throws(() => parsePolicy(bad), /licenceGroup/);
  });

  it('the shipped policies validate', () => {
    for (const f of ['tenure.example.yaml', 'tenure.dev.yaml']) {
      assert.ok(loadPolicyFile(join(__dirname, '..', '..', 'config', f)).version);
    }
  });

  it('`tenure plan --from` previews a move, and runs nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tenure-plan-'));
    try {
      const before = makeRecord({ department: 'Engineering' });
      writeFileSync(join(dir, 'old.json'), JSON.stringify(before));
      writeFileSync(join(dir, 'new.json'), JSON.stringify({ ...before, department: 'Sales' }));
      const root = join(__dirname, '..', '..');
      const out = execFileSync(
        process.execPath,
        [
          '-r',
          'tsx/cjs',
          join(root, 'src/client/cli.ts'),
          'plan',
          '--record',
          join(dir, 'new.json'),
          '--from',
          join(dir, 'old.json'),
          '--policy',
          join(root, 'config/tenure.example.yaml'),
          '--json',
        ],
        { cwd: root, encoding: 'utf8' },
      );
      const r = JSON.parse(out) as { ok: boolean; revocations: unknown[]; changes: string[] };
      assert.equal(r.ok, true);
      assert.deepEqual(r.revocations, [{ systemId: 'github' }]);
      assert.deepEqual(r.changes, ['department: Engineering → Sales']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
