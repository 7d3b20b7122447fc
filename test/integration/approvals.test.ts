import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import type { EvidenceRecord } from '../../src/activities/audit';
import { approvalRequestId, approvalWorkflowId, REJECT_REASONS } from '../../src/domain/approval';
import { approvalWorkflow } from '../../src/workflows/approval/approval';
import type { ApprovalInput, SlackMessageRef } from '../../src/workflows/approval/messages';
import { approvalStatusQuery } from '../../src/workflows/approval/messages';
import { EMPLOYEE_ID, STAGE, WAITING_ON } from '../../src/workflows/search-attributes';
import type { PeopleHarness } from '../helpers/people';
import { ephemerals, PEOPLE, startPeople } from '../helpers/people';
import { runPeopleCli } from '../helpers/people-cli';
import { makeRecord } from '../helpers/records';
import { waitFor } from '../helpers/wait';

const { manager, boss, owner, fallback, intruder } = PEOPLE;

/**
 * Approvals end to end (issue 7): the approval workflow on the real dev server, Block Kit messages in the Slack
 * stand-in, clicks signed like Slack's and POSTed to the real interactivity endpoint, evidence in the audit store.
 */
describe('approvals: Slack decisions through the interactivity endpoint', function () {
  this.timeout(120_000);
  let t: PeopleHarness;
  let n = 0;

  before(async () => {
    t = await startPeople();
  });
  after(async () => {
    await t?.stop();
  });

  function input(over: Partial<ApprovalInput> = {}): ApprovalInput {
    n += 1;
    const hrId = `A${Date.now().toString(36)}${n}`.toUpperCase();
    return {
      requestId: approvalRequestId(hrId, `evt-${n}`, 'wiki'),
      hrId,
      systemId: 'wiki',
      context: {
        systemName: 'Wiki',
        department: 'Engineering',
        title: 'Software Engineer',
        startDate: '2026-12-01',
        personName: 'Rui Costa',
      },
      levels: [{ role: 'manager', approvers: [manager.id], escalateTo: [boss.id] }],
      slaMs: 60_000,
      reminderEveryMs: 60_000,
      escalationSlaMs: 60_000,
      timeoutOutcome: 'denied',
      ...over,
    };
  }

  async function start(i: ApprovalInput): Promise<WorkflowHandle<typeof approvalWorkflow>> {
    const [hrId = '', eventId = ''] = i.requestId.split('/');
    return t.client.workflow.start(approvalWorkflow, {
      taskQueue: t.taskQueue,
      workflowId: approvalWorkflowId(hrId, eventId, i.systemId),
      args: [i],
    });
  }

  async function messageTo(
    h: WorkflowHandle<typeof approvalWorkflow>,
    userId: string,
    level = 0,
  ): Promise<SlackMessageRef> {
    let found: SlackMessageRef | undefined;
    await waitFor(
      async () => {
        const s = await h.query(approvalStatusQuery);
        found = s.levels[level]?.messages.find((m) => m.to === userId);
        return found !== undefined;
      },
      20_000,
      `the level ${level} message to ${userId}`,
    );
    if (!found) throw new Error('unreachable');
    return found;
  }

  const of = (evidence: EvidenceRecord[], action: string): EvidenceRecord[] =>
    evidence.filter((e) => e.action === action);
  const blocksText = (blocks: unknown[] | undefined): string => JSON.stringify(blocks ?? []);
  const hasButtons = (blocks: unknown[] | undefined): boolean =>
    (blocks ?? []).some((b) => (b as { type?: string }).type === 'actions');

  it('approve: the manager, then the app owner, approve in Slack; each message is updated in place', async () => {
    // The request comes from the policy: manager (found through the identity provider), then the owner team.
    const record = makeRecord({ managerHrId: manager.hrId });
    const prepared = await t.activities.prepareApproval({
      hrId: record.hrId,
      eventId: 'evt-approve',
      systemId: 'wiki',
      record,
    });
    assert.ok(prepared);
    assert.deepEqual(prepared.levels, [
      {
        role: 'manager',
        approvers: [manager.id],
        escalateTo: [boss.id],
        // Managers' HR ids, so their eligibility is checked again when they decide.
        hrIds: { [manager.id]: manager.hrId, [boss.id]: boss.hrId },
      },
      { role: 'owner', approvers: [owner.id], escalateTo: [fallback.id] },
    ]);
    assert.equal(prepared.slaMs, 60_000);
    assert.equal(prepared.timeoutOutcome, 'denied');
    const h = await start(prepared);

    const toManager = await messageTo(h, manager.id);
    const sent = t.message(toManager);
    assert.match(blocksText(sent.blocks), /Access request: Wiki/);
    assert.match(blocksText(sent.blocks), /Ana Lima/, 'the approver sees who it is for');
    assert.ok(hasButtons(sent.blocks));
    // Saved now, clicked after the request closed.
    const lateReject = t.clickPayload(toManager, manager.id, { reject: 'security' });

    // `tenure approvals` shows it waiting on the manager, since when.
    await waitFor(
      async () => {
        const r = await runPeopleCli(t.client, ['approvals', '--hr-id', record.hrId, '--json']);
        const items = JSON.parse(r.stdout) as { id: string; waitingOn: string[]; since: string; stage: string }[];
        return items.length === 1 && items[0]?.waitingOn.join() === `slack:${manager.id}`;
      },
      20_000,
      '`tenure approvals` listing',
    );
    const table = await runPeopleCli(t.client, ['approvals', '--hr-id', record.hrId]);
    assert.match(table.stdout, /WAITING ON/);
    assert.match(table.stdout, new RegExp(`${prepared.requestId}\\s+approval_waiting_manager\\s+slack:${manager.id}`));
    const described = await h.describe();
    assert.equal(described.typedSearchAttributes.get(EMPLOYEE_ID), record.hrId);
    assert.equal(described.typedSearchAttributes.get(WAITING_ON), `slack:${manager.id}`);

    const click = await t.post(t.clickPayload(toManager, manager.id, 'approve'));
    assert.equal(click.status, 200);
    const toOwner = await messageTo(h, owner.id, 1);
    const managerMsg = t.message(toManager);
    assert.equal(managerMsg.updates.length, 1, 'updated in place, once');
    assert.ok(!hasButtons(managerMsg.blocks), 'no buttons once decided');
    assert.match(blocksText(managerMsg.blocks), /Approved\* by <@UMANAGER>/);
    assert.match(blocksText(managerMsg.blocks), /now waiting for the app owner/);

    assert.equal((await t.post(t.clickPayload(toOwner, owner.id, 'approve'))).status, 200);
    const result = await h.result();
    assert.deepEqual(result, { outcome: 'approved', decidedBy: owner.id, level: 1 });
    const status = await h.query(approvalStatusQuery);
    assert.equal(status.state, 'approved');
    assert.deepEqual(
      status.levels.map((l) => [l.state, l.decidedBy]),
      [
        ['approved', manager.id],
        ['approved', owner.id],
      ],
    );
    assert.deepEqual(status.waitingOn, []);
    assert.match(blocksText(t.message(toOwner).blocks), /Approved\* by <@UOWNER>/);
    const after = await h.describe();
    assert.equal(after.typedSearchAttributes.get(STAGE), 'approval_approved');
    assert.equal(after.typedSearchAttributes.get(WAITING_ON), undefined);

    // A click on a closed request: an ephemeral reply, evidence, and nothing else changes.
    const late = await t.post(lateReject);
    assert.ok(t.logLines.some((l) => l.msg === 'slack action on a closed or unknown workflow'));
    assert.equal(late.status, 200);
    assert.match(ephemerals(t.slack, manager.id).at(-1)?.text ?? '', /closed/);
    assert.equal(t.message(toManager).updates.length, 1);

    const evidence = await t.evidence(record.hrId);
    assert.deepEqual(
      of(evidence, 'approval_requested').map((e) => e.detail?.to),
      [manager.id, owner.id],
    );
    const decisions = of(evidence, 'approval_decided');
    assert.deepEqual(
      decisions.map((e) => [e.actor.id, e.outcome, e.detail?.level]),
      [
        [`slack:${manager.id}`, 'approved', 0],
        [`slack:${owner.id}`, 'approved', 1],
      ],
    );
    assert.equal(decisions[0]?.detail?.decisionId, `slack:${manager.id}:a0:approve`);
    const refused = of(evidence, 'approval_refused');
    assert.equal(refused.length, 1);
    assert.equal(refused[0]?.detail?.code, 'RequestClosed');
    assert.equal(refused[0]?.actor.id, `slack:${manager.id}`);
    assert.ok(
      evidence.every((e) => !JSON.stringify(e).includes('Ana') && !JSON.stringify(e).includes('@acme.example')),
      'no names or emails in evidence',
    );
    assert.ok((await t.audit.verify()).ok);
    const logs = JSON.stringify(t.logLines);
    for (const secretOrPersonal of [t.signingSecret, manager.id, owner.id, 'Ana', '@acme.example']) {
      assert.ok(!logs.includes(secretOrPersonal), 'the endpoint logs no secrets, Slack users or personal data');
    }
  });

  it('reject with a reason: the manager picks a reason; an unknown reason is refused', async () => {
    const i = input();
    const h = await start(i);
    const ref = await messageTo(h, manager.id);

    // A reason that is not one of ours (a tampered select) changes nothing.
    const bogus = await t.post(t.clickPayload(ref, manager.id, { reject: 'because' }));
    assert.equal(bogus.status, 200);
    assert.match(ephemerals(t.slack, manager.id).at(-1)?.text ?? '', /listed reasons/);
    assert.equal((await h.query(approvalStatusQuery)).state, 'waiting');

    assert.equal((await t.post(t.clickPayload(ref, manager.id, { reject: 'security' }))).status, 200);
    const result = await h.result();
    assert.deepEqual(result, { outcome: 'rejected', decidedBy: manager.id, reason: REJECT_REASONS.security, level: 0 });
    const status = await h.query(approvalStatusQuery);
    assert.equal(status.levels[0]?.reason, 'Security or compliance concern');
    const msg = t.message(ref);
    assert.equal(msg.updates.length, 1);
    assert.match(blocksText(msg.blocks), /Rejected\* by <@UMANAGER> .*: Security or compliance concern/);

    const evidence = await t.evidence(i.hrId);
    const decided = of(evidence, 'approval_decided');
    assert.equal(decided.length, 1);
    assert.equal(decided[0]?.outcome, 'rejected');
    assert.equal(decided[0]?.detail?.reason, 'Security or compliance concern');
    assert.equal(of(evidence, 'approval_refused')[0]?.detail?.code, 'InvalidAction');
  });

  it('an unauthorized approver: refused with an ephemeral reply and evidence; the request is unchanged', async () => {
    const i = input();
    const h = await start(i);
    const ref = await messageTo(h, manager.id);
    const before = await h.query(approvalStatusQuery);

    // Eve is not an approver; the boss is only an escalation target, and the request has not escalated.
    for (const who of [intruder.id, boss.id]) {
      const r = await t.post(t.clickPayload(ref, who, 'approve'));
      assert.equal(r.status, 200);
      assert.match(ephemerals(t.slack, who).at(-1)?.text ?? '', /not an approver/);
    }
    const status = await h.query(approvalStatusQuery);
    assert.deepEqual(status, before, 'the workflow state did not change');
    assert.equal(t.message(ref).updates.length, 0);
    const refused = of(await t.evidence(i.hrId), 'approval_refused');
    assert.deepEqual(
      refused.map((e) => [e.actor.id, e.detail?.code, e.outcome]),
      [
        [`slack:${intruder.id}`, 'NotAnApprover', 'refused'],
        [`slack:${boss.id}`, 'NotAnApprover', 'refused'],
      ],
    );

    await t.post(t.clickPayload(ref, manager.id, 'approve'));
    assert.equal((await h.result()).decidedBy, manager.id);
  });

  it('a double click is one decision, before and after the request closes', async () => {
    const i = input();
    const h = await start(i);
    const ref = await messageTo(h, manager.id);
    const first = t.clickPayload(ref, manager.id, 'approve');
    const second = t.clickPayload(ref, manager.id, 'approve');
    const third = t.clickPayload(ref, manager.id, 'approve');
    const answers = await Promise.all([t.post(first), t.post(second)]);
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200],
    );
    const result = await h.result();
    assert.equal(result.outcome, 'approved');
    // And once more, after the workflow has finished.
    assert.equal((await t.post(third)).status, 200);
    // The server answers a repeated update id with the first outcome, or (once the run is gone) the endpoint finds
    // that this very click closed the request: either way no refusal, no second decision.

    const status = await h.query(approvalStatusQuery);
    assert.equal(status.levels[0]?.decisionId, `slack:${manager.id}:a0:approve`);
    assert.equal(ephemerals(t.slack, manager.id).filter((m) => Number(m.ts) > Number(ref.ts)).length, 0);
    assert.equal(t.message(ref).updates.length, 1);
    const evidence = await t.evidence(i.hrId);
    assert.equal(of(evidence, 'approval_decided').length, 1);
    assert.equal(of(evidence, 'approval_refused').length, 0);
  });

  it('a forged signature: 401, logged (counted, not a row each: issue 16), and the request is unchanged', async () => {
    const i = input();
    const h = await start(i);
    const ref = await messageTo(h, manager.id);
    const payload = t.clickPayload(ref, manager.id, 'approve');
    const before = await h.query(approvalStatusQuery);

    const wrongSecret = await t.post(payload, { secret: 'not-the-signing-secret' });
    const noSignature = await t.post(payload, { signature: '' });
    const otherBody = await t.post(payload, {
      signature: 'v0=' + '0'.repeat(64),
    });
    for (const r of [wrongSecret, noSignature, otherBody]) {
      assert.equal(r.status, 401);
      const body = JSON.parse(r.body) as { error: string; requestId: string };
      assert.equal(body.error, 'bad_signature');
      // Unauthenticated refusals are counted per window by the intake's ledger, not written one row each.
      const recorded = [];
      for await (const e of t.audit.stream()) if (e.requestId === body.requestId) recorded.push(e);
      assert.equal(recorded.length, 0);
      assert.ok(t.logLines.some((l) => l.requestId === body.requestId && l.status === 401));
    }
    assert.deepEqual(await h.query(approvalStatusQuery), before);
    assert.equal(t.message(ref).updates.length, 0);
    assert.equal(of(await t.evidence(i.hrId), 'approval_decided').length, 0);
    await h.terminate('test done');
  });

  it('a stale (or future) timestamp: 401 even with a valid signature; the same click fresh is accepted', async () => {
    const i = input();
    const h = await start(i);
    const ref = await messageTo(h, manager.id);
    const payload = t.clickPayload(ref, manager.id, 'approve');
    const now = Math.floor(Date.now() / 1000);
    for (const timestamp of [now - 301, now + 301]) {
      const r = await t.post(payload, { timestamp });
      assert.equal(r.status, 401);
      assert.match((JSON.parse(r.body) as { message: string }).message, /more than 300 seconds/);
    }
    assert.equal((await h.query(approvalStatusQuery)).state, 'waiting');
    const refusals = t.logLines.filter((l) => l.status === 401 && /300 seconds/.test(String(l.reason)));
    assert.ok(refusals.length >= 2);

    assert.equal((await t.post(payload, { timestamp: now - 10 })).status, 200);
    assert.equal((await h.result()).outcome, 'approved');
  });

  it('reminders, then escalation to the manager’s manager, then the timeout outcome: denied', async () => {
    const i = input({ slaMs: 3_000, reminderEveryMs: 1_000, escalationSlaMs: 3_000 });
    const h = await start(i);
    const toManager = await messageTo(h, manager.id);
    await waitFor(async () => (await h.query(approvalStatusQuery)).state === 'escalated', 15_000, 'escalation');
    const escalated = await h.query(approvalStatusQuery);
    assert.deepEqual(escalated.waitingOn.sort(), [boss.id, manager.id].sort());
    const toBoss = await messageTo(h, boss.id);
    assert.match(blocksText(t.message(toBoss).blocks), /Escalated to you: <@UMANAGER> did not decide in time/);
    assert.equal((await h.describe()).typedSearchAttributes.get(STAGE), 'approval_escalated_manager');

    const result = await h.result();
    assert.deepEqual(result, { outcome: 'timed_out', level: 0 });
    const status = await h.query(approvalStatusQuery);
    const level = status.levels[0];
    assert.equal(status.state, 'timed_out');
    assert.ok(level && level.reminders >= 2, `reminders: ${level?.reminders}`);
    assert.ok(level?.escalatedAt && level.decidedAt);
    const escalatedAfter = Date.parse(level.escalatedAt) - Date.parse(level.openedAt ?? '');
    const timedOutAfter = Date.parse(level.decidedAt) - Date.parse(level.escalatedAt);
    assert.ok(escalatedAfter >= 3_000 && escalatedAfter < 6_000, `escalated after ${escalatedAfter} ms`);
    assert.ok(timedOutAfter >= 3_000 && timedOutAfter < 6_000, `timed out after ${timedOutAfter} ms`);

    // Reminders went into the threads; both request messages now say denied, without buttons.
    const reminders = t.slack.messages.filter((m) => m.text?.startsWith('Reminder') && m.text.includes('Wiki'));
    assert.ok(reminders.some((m) => m.channel === manager.id));
    for (const ref of [toManager, toBoss]) {
      const m = t.message(ref);
      assert.equal(m.updates.length, 1);
      assert.ok(!hasButtons(m.blocks));
      assert.match(blocksText(m.blocks), /Timed out.*denied/);
    }

    const evidence = await t.evidence(i.hrId);
    const seq = (action: string): number => of(evidence, action)[0]?.seq ?? -1;
    assert.equal(of(evidence, 'approval_reminded').length, level.reminders);
    assert.equal(of(evidence, 'approval_escalated')[0]?.detail?.to, boss.id);
    const decided = of(evidence, 'approval_decided');
    assert.equal(decided.length, 1);
    assert.equal(decided[0]?.outcome, 'timed_out');
    assert.equal(decided[0]?.detail?.policyOutcome, 'denied');
    assert.equal(decided[0]?.actor.type, 'system');
    assert.ok(seq('approval_requested') < seq('approval_reminded'));
    assert.ok(seq('approval_reminded') < seq('approval_escalated'));
    assert.ok(seq('approval_escalated') < seq('approval_decided'));
  });

  it('after escalation the escalation target may decide', async () => {
    const i = input({ slaMs: 1_500 });
    const h = await start(i);
    const toBoss = await messageTo(h, boss.id);
    assert.equal((await t.post(t.clickPayload(toBoss, boss.id, 'approve'))).status, 200);
    assert.deepEqual(await h.result(), { outcome: 'approved', decidedBy: boss.id, level: 0 });
    const toManager = (await h.query(approvalStatusQuery)).levels[0]?.messages.find((m) => m.to === manager.id);
    assert.ok(toManager);
    assert.match(blocksText(t.message(toManager).blocks), /Approved\* by <@UBOSS>/);
  });

  it('a cancelled request withdraws its messages', async () => {
    const i = input();
    const h = await start(i);
    const ref = await messageTo(h, manager.id);
    const late = t.clickPayload(ref, manager.id, 'approve');
    await h.cancel();
    await assert.rejects(h.result(), WorkflowFailedError);
    assert.match(blocksText(t.message(ref).blocks), /Withdrawn/);
    const evidence = await t.evidence(i.hrId);
    assert.equal(of(evidence, 'approval_cancelled')[0]?.outcome, 'cancelled');
    // A click on a withdrawn request is refused.
    assert.equal((await t.post(late)).status, 200);
    assert.match(ephemerals(t.slack, manager.id).at(-1)?.text ?? '', /closed \(cancelled\)/);
  });
});
