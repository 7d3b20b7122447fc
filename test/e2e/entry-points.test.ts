import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmbeddedAuditServer } from '../../src/activities/audit';
import { openAuditStore, startEmbeddedAuditServer } from '../../src/activities/audit';
import { DEMO_PEOPLE } from '../../src/dev/local-peers';
import { eventWorkflowId } from '../../src/domain/ids';
import { onboardingStatusQuery } from '../../src/workflows/onboarding/messages';
import type { onboardingWorkflow } from '../../src/workflows/onboarding/onboarding';
import type { Deployment } from '../helpers/deployment';
import { startDeployment } from '../helpers/deployment';
import { makeRecord } from '../helpers/records';
import { devServer } from '../helpers/temporal';
import { resultWhenStarted, waitFor } from '../helpers/wait';

/**
 * The shipped Tenure is the tested Tenure: the real worker and intake entry points, each its own process and
 * configured only by environment variables and a policy file, run a hire that needs the manager's approval in
 * Slack, sends the manager a welcome and writes the generated work email back to BambooHR.
 */
describe('entry points as processes: worker main and intake main, composed like production', function () {
  this.timeout(300_000);
  let d: Deployment;
  let audit: EmbeddedAuditServer;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tenure-e2e-audit-'));
    audit = await startEmbeddedAuditServer({ dataDir: join(dir, 'audit') });
    d = await startDeployment({ temporalAddress: devServer().address, databaseUrl: audit.databaseUrl });
  });
  after(async () => {
    await d?.stop();
    await audit?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a hire through a Slack approval, a welcome notice and the work-email write-back', async () => {
    const bamboo = d.peers.bamboo;
    assert.ok(bamboo, 'the BambooHR stand-in runs');
    const hrId = bamboo.addEmployee({ firstName: 'Rui', lastName: 'Costa', homeEmail: 'rui.costa@personal.example' });
    const record = makeRecord({
      hrId,
      legalFirstName: 'Rui',
      legalLastName: 'Costa',
      personalEmail: 'rui.costa@personal.example',
      workEmail: undefined,
      department: 'Sales',
      title: 'Account Executive',
      managerHrId: DEMO_PEOPLE.manager.hrId,
      hireDate: '2026-01-05',
    });
    const eventId = `e2e-${hrId}-${Date.now().toString(36)}`;
    const answer = await d.tenure.sendEvent({ eventId, kind: 'hire', record });
    assert.equal(answer.status, 202, JSON.stringify(answer));

    const click = await d.approveAsManager('CRM');
    assert.equal(click.status, 200, click.body);

    const handle = d.client.workflow.getHandle<typeof onboardingWorkflow>(eventWorkflowId(hrId, 'hire', eventId));
    const result = await resultWhenStarted(handle, 60_000);
    const status = await handle.query(onboardingStatusQuery);
    const byId = Object.fromEntries(status.steps.map((s) => [s.id, s]));
    for (const id of ['approve:crm', 'create_account:crm', 'write_back_email', 'notify_manager']) {
      assert.equal(byId[id]?.state, 'succeeded', `${id}: ${JSON.stringify(byId[id])}`);
    }
    assert.ok(result);

    // Every system: one active account for the person, with the generated work email.
    const email = 'rui.costa@acme.example';
    for (const id of ['idp', 'wiki', 'crm']) {
      const mine = d.accountsOf(id, hrId);
      assert.equal(mine.length, 1, `${id}: one account`);
      assert.equal(mine[0]?.active, true, `${id}: active`);
      assert.equal(mine[0]?.userName, email);
    }
    // The write-back reached the HR system, and the manager got the welcome in Slack.
    assert.equal(bamboo.employee(hrId)?.workEmail, email);
    await waitFor(
      () =>
        (d.peers.slack?.messages ?? []).some(
          (m) => m.channel === DEMO_PEOPLE.manager.slackId && /starts/.test(m.text ?? ''),
        ),
      30_000,
      'the welcome notice',
    );

    // Both processes export Tenure's metrics: the intake counted the accepted event, the worker timed the steps.
    const scrape = async (name: string): Promise<string> => {
      const res = await fetch(`${d.metricsUrls[name]}/metrics`);
      assert.equal(res.status, 200);
      return res.text();
    };
    assert.match(await scrape('intake'), /tenure_hr_events_total\{[^}]*outcome="accepted"[^}]*\} [1-9]/);
    const worker = await scrape('worker-1');
    assert.match(worker, /tenure_step_duration_seconds_count\{[^}]*system="crm"[^}]*\} [1-9]/);
    assert.match(worker, /tenure_access_change_seconds_count\{[^}]*direction="grant"[^}]*\} [1-9]/);
    assert.match(worker, /tenure_waiting_approvals 0/);
    assert.equal((await fetch(`${d.metricsUrls['worker-1']}/healthz`)).status, 200);

    // The processes shared one audit store: the intake's delivery and the worker's steps are both there.
    const store = await openAuditStore({ databaseUrl: audit.databaseUrl });
    try {
      const actions: string[] = [];
      for await (const e of store.stream({ hrId })) actions.push(e.action);
      assert.ok(actions.includes('write_back_email'), actions.join(','));
    } finally {
      await store.close();
    }
  });
});
