/**
 * Issue 16, item 7: the Slack app's signing secret is the same in every workspace the app is installed in, so a
 * click correctly signed but sent from another workspace (or Enterprise Grid organization) must not decide.
 */
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import { foreignWorkspace } from '../../src/client/slack-interactivity';
import { approvalRequestId, approvalWorkflowId } from '../../src/domain/approval';
import { approvalWorkflow } from '../../src/workflows/approval/approval';
import type { ApprovalInput, SlackMessageRef } from '../../src/workflows/approval/messages';
import { approvalStatusQuery } from '../../src/workflows/approval/messages';
import type { PeopleHarness } from '../helpers/people';
import { PEOPLE, startPeople } from '../helpers/people';
import { waitFor } from '../helpers/wait';

const { manager, boss } = PEOPLE;

describe('hardening: Slack clicks from another workspace are refused', function () {
  this.timeout(120_000);
  let t: PeopleHarness;

  before(async () => {
    t = await startPeople();
  });
  after(async () => {
    await t?.stop();
  });

  async function pendingApproval(): Promise<{ h: WorkflowHandle<typeof approvalWorkflow>; msg: SlackMessageRef }> {
    const hrId = `W${Date.now().toString(36)}`.toUpperCase();
    const input: ApprovalInput = {
      requestId: approvalRequestId(hrId, 'evt-ws', 'wiki'),
      hrId,
      systemId: 'wiki',
      context: {
        systemName: 'Wiki',
        department: 'Engineering',
        title: 'Engineer',
        startDate: '2026-12-01',
        personName: 'Rui Costa',
      },
      levels: [{ role: 'manager', approvers: [manager.id], escalateTo: [boss.id] }],
      slaMs: 60_000,
      reminderEveryMs: 60_000,
      escalationSlaMs: 60_000,
      timeoutOutcome: 'denied',
    };
    const h = await t.client.workflow.start(approvalWorkflow, {
      taskQueue: t.taskQueue,
      workflowId: approvalWorkflowId(hrId, 'evt-ws', 'wiki'),
      args: [input],
    });
    let msg: SlackMessageRef | undefined;
    await waitFor(async () => {
      msg = (await h.query(approvalStatusQuery)).levels[0]?.messages.find((m) => m.to === manager.id);
      return msg !== undefined;
    });
    return { h, msg: msg! };
  }

  it('a correctly signed approve from another workspace does not decide, is a 403 and is audited', async () => {
    const { h, msg } = await pendingApproval();
    const click = t.clickPayload(msg, manager.id, 'approve');
    for (const forged of [
      { ...click, team: { id: 'TOTHER', domain: 'evil' }, user: { id: manager.id, team_id: 'TOTHER' } },
      // The team says ours, the clicking user is from elsewhere (a shared channel).
      { ...click, user: { id: manager.id, team_id: 'TOTHER' } },
      // Our team id, but inside another Enterprise Grid organization.
      { ...click, enterprise: { id: 'EOTHER', name: 'Evil' } },
      // No workspace at all.
      { ...click, team: null, user: { id: manager.id } },
    ]) {
      const res = await t.post(forged);
      assert.equal(res.status, 403, res.body);
      assert.equal((JSON.parse(res.body) as { error: string }).error, 'foreign_workspace');
    }
    const status = await h.query(approvalStatusQuery);
    assert.equal(status.state, 'waiting', 'nothing was decided');
    const rows = [];
    for await (const r of t.audit.stream())
      if (r.action === 'slack_request_refused' && r.detail?.error === 'foreign_workspace') rows.push(r);
    assert.equal(rows.length, 4);

    // The same click from our own workspace decides.
    const ok = await t.post(click);
    assert.equal(ok.status, 200, ok.body);
    assert.equal((await h.result()).outcome, 'approved');
  });

  it('compares team, user team and enterprise ids with the configured workspace', () => {
    const ws = { teamId: 'T1', enterpriseId: 'E1' };
    assert.equal(
      foreignWorkspace({ team: { id: 'T1' }, user: { team_id: 'T1' }, enterprise: { id: 'E1' } }, ws),
      undefined,
    );
    assert.ok(foreignWorkspace({ team: { id: 'T1' }, user: { team_id: 'T1' } }, ws));
    assert.ok(foreignWorkspace({ team: { id: 'T1', enterprise_id: 'E2' } }, ws));
    assert.equal(foreignWorkspace({ team: { id: 'T1' } }, { teamId: 'T1' }), undefined);
    assert.ok(foreignWorkspace({ team: { id: 'T2' } }, { teamId: 'T1' }));
  });
});
