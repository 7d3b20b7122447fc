import assert from 'node:assert/strict';
import fc from 'fast-check';
import { z } from 'zod';
import {
  approvalBlockId,
  parseApprovalBlockId,
  parseTaskDoneValue,
  taskDoneValue,
  approvalRequestMessage,
  esc,
} from '../../src/activities/slack/blocks';
import type { PeoplePolicy } from '../../src/domain/approval';
import {
  approvalRuleSchema,
  approvalWorkflowId,
  durationSchema,
  formatDuration,
  manualConnectorSchema,
  manualTaskId,
  manualTaskWorkflowId,
  parseDuration,
  parsePeopleWorkflowId,
  peoplePolicyIssues,
  peopleSettingsSchema,
  planApproval,
  REJECT_REASONS,
  rejectReasonLabel,
  taskTimings,
} from '../../src/domain/approval';
import { scimConnectorSchema, systemSchema } from '../../src/domain/policy';

describe('approval policy: durations', () => {
  it('parses compound durations and refuses anything else', () => {
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('2d'), 172_800_000);
    assert.equal(parseDuration('1w'), 604_800_000);
    assert.equal(parseDuration('250ms'), 250);
    for (const bad of ['', '4', 'h', '1.5h', '-1h', '1 h', 'PT1H', '1y']) {
      assert.throws(() => parseDuration(bad), RangeError, bad);
    }
  });

  it('validates in the policy: positive, at most a year', () => {
    assert.equal(durationSchema.parse(' 4h '), 14_400_000);
    assert.equal(durationSchema.safeParse('0s').success, false);
    assert.equal(durationSchema.safeParse('400d').success, false);
    assert.match(durationSchema.safeParse('soon').error?.issues[0]?.message ?? '', /duration such as/);
  });

  it('formats what it parses (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.constantFrom('s', 'm', 'h', 'd'), (n, unit) => {
        const ms = parseDuration(`${n}${unit}`);
        const shown = formatDuration(ms).replace(' ', '');
        return parseDuration(shown) <= ms && ms - parseDuration(shown) < ms / 10 + 1000;
      }),
    );
  });
});

describe('approval policy: schemas the policy composes', () => {
  it('an approval rule: sequence of roles, durations, defaults', () => {
    const r = approvalRuleSchema.parse({ approvers: ['manager', 'owner'], sla: '1d' });
    assert.deepEqual(r, {
      approvers: ['manager', 'owner'],
      sla: 86_400_000,
      escalateTo: 'next-manager',
      onTimeout: 'deny',
    });
    assert.equal(approvalRuleSchema.safeParse({ approvers: ['manager', 'manager'] }).success, false);
    assert.equal(approvalRuleSchema.safeParse({ approvers: [] }).success, false);
    assert.equal(approvalRuleSchema.safeParse({ approvers: ['owner'], onTimeout: 'approve' }).success, false);
    assert.equal(approvalRuleSchema.safeParse({ approvers: ['owner'], extra: 1 }).success, false);
  });

  it('people settings default their durations', () => {
    const p = peopleSettingsSchema.parse({ fallbackApprovers: ['oncall@acme.example'] });
    assert.deepEqual(p.approvals, { sla: 172_800_000, remindEvery: 14_400_000, escalationSla: 86_400_000 });
    assert.deepEqual(p.tasks, { sla: 259_200_000, remindEvery: 86_400_000 });
    assert.equal(peopleSettingsSchema.safeParse({ fallbackApprovers: ['not-an-email'] }).success, false);
  });

  it('composes into the policy’s systems: a manual connector beside SCIM, with a SCIM reader', () => {
    const connector = z.discriminatedUnion('type', [scimConnectorSchema, manualConnectorSchema(scimConnectorSchema)]);
    const system = systemSchema.extend({ connector, approval: approvalRuleSchema.optional() });
    const manual = system.parse({
      id: 'payroll',
      name: 'Payroll',
      kind: 'app',
      owner: 'finance-it',
      connector: {
        type: 'manual',
        instructions: 'Create the user in Payroll',
        read: { type: 'scim', baseUrl: 'https://payroll.example/scim/v2' },
        sla: '2d',
      },
      approval: { approvers: ['owner'] },
    });
    assert.equal(manual.connector.type, 'manual');
    assert.equal(system.safeParse({ ...manual, connector: { type: 'manual' } }).success, false, 'instructions needed');
    // What the policy parses is what the people activities read.
    const people = peopleSettingsSchema.parse({
      teams: { 'finance-it': ['fin@acme.example'] },
      fallbackApprovers: ['oncall@acme.example'],
    });
    const policy: PeoplePolicy = { systems: [manual], people };
    assert.deepEqual(peoplePolicyIssues(policy), []);
    assert.deepEqual(taskTimings(manual, people), { slaMs: 172_800_000, reminderEveryMs: 86_400_000 });
  });

  it('cross-field checks: owners, owner teams and fallback approvers', () => {
    const policy: PeoplePolicy = {
      systems: [
        {
          id: 'a',
          name: 'A',
          kind: 'app',
          owner: 'ghosts',
          connector: { type: 'scim' },
          approval: approvalRuleSchema.parse({ approvers: ['owner'] }),
        },
        { id: 'b', name: 'B', kind: 'app', connector: { type: 'manual', instructions: 'x' } },
      ],
    };
    assert.deepEqual(
      peoplePolicyIssues(policy).map((i) => i.path.join('.')),
      ['systems.0.approval.owners', 'systems.1.owner', 'people.fallbackApprovers'],
    );
  });
});

describe('approval policy: who decides', () => {
  const people = peopleSettingsSchema.parse({
    teams: { collab: ['owner@acme.example'] },
    fallbackApprovers: ['oncall@acme.example'],
    approvals: { sla: '1d' },
  });
  const system = {
    id: 'wiki',
    name: 'Wiki',
    kind: 'app',
    owner: 'collab',
    connector: { type: 'scim' },
    approval: approvalRuleSchema.parse({ approvers: ['manager', 'owner'], remindEvery: '2h' }),
  };

  it('the manager, escalating to their manager; the owner team, escalating to the fallback', () => {
    const plan = planApproval(system, people, 'MGR-1');
    assert.deepEqual(plan?.levels, [
      {
        role: 'manager',
        approvers: [{ kind: 'hr', hrId: 'MGR-1' }],
        escalateTo: [{ kind: 'manager-of', hrId: 'MGR-1' }],
      },
      {
        role: 'owner',
        approvers: [{ kind: 'email', email: 'owner@acme.example' }],
        escalateTo: [{ kind: 'email', email: 'oncall@acme.example' }],
      },
    ]);
    assert.equal(plan?.slaMs, 86_400_000, 'from people.approvals');
    assert.equal(plan?.reminderEveryMs, 7_200_000, 'from the rule');
    assert.equal(plan?.escalationSlaMs, 86_400_000, 'the default');
    assert.equal(plan?.timeoutOutcome, 'denied');
  });

  it('no manager: the level has no approver (the activity falls back); escalateTo: fallback is honoured', () => {
    const plan = planApproval(
      { ...system, approval: approvalRuleSchema.parse({ approvers: ['manager'], escalateTo: 'fallback' }) },
      people,
      undefined,
    );
    assert.deepEqual(plan?.levels, [
      { role: 'manager', approvers: [], escalateTo: [{ kind: 'email', email: 'oncall@acme.example' }] },
    ]);
    assert.equal(planApproval({ ...system, approval: undefined }, people, 'MGR-1'), undefined);
  });
});

describe('approval ids and Slack element ids', () => {
  it('workflow ids from HR keys, and back', () => {
    assert.equal(approvalWorkflowId('E1', 'evt-1', 'wiki'), 'employee/E1/approval/evt-1/wiki');
    const taskId = manualTaskId('E1', 'evt-1', 'crm', 'create_account');
    assert.equal(taskId, 'E1/evt-1/crm/create_account');
    assert.equal(manualTaskWorkflowId(taskId), 'employee/E1/task/evt-1/crm/create_account');
    assert.deepEqual(parsePeopleWorkflowId(manualTaskWorkflowId(taskId)), {
      kind: 'task',
      hrId: 'E1',
      eventId: 'evt-1',
      systemId: 'crm',
      action: 'create_account',
      taskId,
    });
    assert.deepEqual(parsePeopleWorkflowId('employee/E1/approval/evt-1/wiki'), {
      kind: 'approval',
      hrId: 'E1',
      eventId: 'evt-1',
      systemId: 'wiki',
    });
    assert.equal(parsePeopleWorkflowId('employee/E1/hire/evt-1'), undefined);
    assert.throws(() => manualTaskWorkflowId('E1/evt-1'), RangeError);
  });

  it('block ids fit Slack’s 255 characters for the longest ids the schemas allow, and round-trip', () => {
    const longest = approvalWorkflowId('h'.repeat(64), 'e'.repeat(128), 's'.repeat(40));
    const id = approvalBlockId(longest, 1);
    assert.ok(id.length <= 255, String(id.length));
    assert.deepEqual(parseApprovalBlockId(id), { workflowId: longest, level: 1 });
    assert.equal(parseApprovalBlockId('a1:somebody-else'), undefined);
    assert.throws(() => approvalBlockId(longest, 10), RangeError);
    const value = taskDoneValue('employee/E1/task/evt/crm/create_account', 3);
    assert.deepEqual(parseTaskDoneValue(value), { workflowId: 'employee/E1/task/evt/crm/create_account', round: 3 });
    assert.equal(parseTaskDoneValue('{"w":"elsewhere","r":1}'), undefined);
    assert.equal(parseTaskDoneValue('nope'), undefined);
  });

  it('reject reasons: labels fit a Slack option (75 characters); unknown codes have none', () => {
    for (const label of Object.values(REJECT_REASONS)) assert.ok(label.length <= 75);
    assert.equal(rejectReasonLabel('security'), 'Security or compliance concern');
    assert.equal(rejectReasonLabel('toString'), undefined);
  });

  it('names in messages cannot inject mentions or links', () => {
    assert.equal(esc('<@U1> & <https://x|y>'), '&lt;@U1&gt; &amp; &lt;https://x|y&gt;');
    const m = approvalRequestMessage({
      workflowId: 'employee/E1/approval/evt/wiki',
      requestId: 'E1/evt/wiki',
      level: 0,
      role: 'manager',
      context: {
        systemName: 'Wiki',
        department: 'R&D',
        title: 'Eng',
        startDate: '2026-01-01',
        personName: '<!channel>',
      },
      decideBy: '2026-01-01T00:00:00.000Z',
    });
    assert.ok(!JSON.stringify(m.blocks).includes('<!channel>'));
  });
});
