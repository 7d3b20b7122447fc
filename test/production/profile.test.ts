import assert from 'node:assert/strict';
import { createDatabase } from '../helpers/postgres';
import { openAuditStore } from '../../src/activities/audit';
import { DEMO_PEOPLE } from '../../src/dev/local-peers';
import { employeeWorkflowId, eventWorkflowId } from '../../src/domain/ids';
import { employeeStatusQuery } from '../../src/workflows/employee/messages';
import type { onboardingWorkflow } from '../../src/workflows/onboarding/onboarding';
import type { SetupReport } from '../../src/app/setup';
import type { Deployment } from '../helpers/deployment';
import { startDeployment } from '../helpers/deployment';
import { spawnEntryPoint } from '../helpers/processes';
import { makeRecord } from '../helpers/records';
import type { TemporalCluster } from '../helpers/temporal-cluster';
import { startTemporalCluster } from '../helpers/temporal-cluster';
import { resultWhenStarted, waitFor } from '../helpers/wait';

/**
 * The production profile on real parts: the real Temporal server 1.29.1 on PostgreSQL (not the dev server), set up
 * by `tenure setup`, two worker processes, the intake process and the Postgres audit store. One worker is SIGKILLed
 * while it runs a step; the other finishes the run, and every system holds exactly one account for the person.
 */
describe('production profile: Temporal server on PostgreSQL, two workers, one killed mid-run', function () {
  this.timeout(600_000);
  let cluster: TemporalCluster;
  let d: Deployment;
  let auditUrl: string;

  async function setup(): Promise<SetupReport> {
    const p = spawnEntryPoint(
      'cli',
      {
        TEMPORAL_ADDRESS: cluster.address,
        TENURE_CODEC_KEYS: d?.vars.TENURE_CODEC_KEYS ?? 'k:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
      },
      'setup',
      ['setup'],
    );
    const code = await p.exited;
    assert.equal(code, 0, p.lines.join('\n'));
    return JSON.parse(p.lines.join('\n')) as SetupReport;
  }

  before(async () => {
    cluster = await startTemporalCluster();
  });
  after(async () => {
    await d?.stop();
    await cluster?.stop();
  });

  it('tenure setup registers the namespace and the search attributes, and a second run changes nothing', async () => {
    const first = await setup();
    assert.equal(first.namespace.outcome, 'created');
    assert.ok(first.searchAttributes.length >= 6);
    assert.ok(
      first.searchAttributes.every((a) => a.outcome === 'added'),
      JSON.stringify(first),
    );
    const again = await setup();
    assert.equal(again.namespace.outcome, 'exists');
    assert.ok(
      again.searchAttributes.every((a) => a.outcome === 'exists'),
      JSON.stringify(again),
    );
  });

  it('a hire and an exit complete; a worker SIGKILLed mid-step leaves the other to finish with one account per system', async () => {
    auditUrl = await createDatabase(cluster.postgres.url, 'tenure_audit');
    d = await startDeployment({ temporalAddress: cluster.address, databaseUrl: auditUrl, workers: 2 });
    const wiki = d.peers.scim.get('wiki');
    assert.ok(wiki);
    // The wiki performs the create, then holds its answer: the step is in flight on one worker when we kill it.
    wiki.faults.delayResponse(1, 120_000, { method: 'POST', path: '/Users' });

    const record = makeRecord({ managerHrId: DEMO_PEOPLE.manager.hrId, hireDate: '2026-01-05' });
    const hrId = record.hrId;
    const eventId = `prod-${hrId}`;
    const answer = await d.tenure.sendEvent({ eventId, kind: 'hire', record });
    assert.equal(answer.status, 202, JSON.stringify(answer));
    const runId = eventWorkflowId(hrId, 'hire', eventId);

    await waitFor(() => wiki.users().some((u) => u.externalId === hrId), 120_000, 'the wiki create reached the wiki');
    let holder = '';
    let seen = '';
    await waitFor(
      async () => {
        const desc = await d.client.workflow.getHandle(runId).describe();
        const raw = desc.raw.pendingActivities ?? [];
        seen = JSON.stringify(raw.map((a) => [a.activityType?.name, a.state, a.lastWorkerIdentity, a.attempt]));
        holder = raw.find((a) => a.lastWorkerIdentity)?.lastWorkerIdentity ?? '';
        return holder !== '';
      },
      60_000,
      'the worker running the wiki step',
    ).catch((err: Error) => {
      throw new Error(
        `${err.message}: pending ${seen}; wiki requests ${JSON.stringify(wiki.requests.map((r) => [r.method, r.path, r.status]))}`,
      );
    });
    const victim = d.workers.find((w) => w.name === holder);
    assert.ok(victim, `a worker named ${holder}`);
    assert.equal(await victim.kill('SIGKILL'), 'SIGKILL');

    const click = await d.approveAsManager('CRM');
    assert.equal(click.status, 200, click.body);

    const handle = d.client.workflow.getHandle<typeof onboardingWorkflow>(runId);
    await resultWhenStarted(handle, 60_000);
    for (const id of ['idp', 'wiki', 'crm']) {
      const mine = d.accountsOf(id, hrId);
      assert.equal(mine.length, 1, `${id}: exactly one account`);
      assert.equal(mine[0]?.active, true, `${id}: active`);
    }
    const survivor = d.workers.find((w) => w !== victim);
    assert.ok(survivor && survivor.child.exitCode === null, 'the other worker is still running');

    // The entity takes note of the finished run; then an involuntary exit runs at once.
    const entity = d.client.workflow.getHandle(employeeWorkflowId(hrId));
    let last: unknown;
    await waitFor(
      async () => {
        last = undefined;
        const s = await entity.query(employeeStatusQuery);
        last = s;
        return s.current === undefined;
      },
      60_000,
      'entity idle',
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(last)}`);
    });
    const exitId = `prod-exit-${hrId}`;
    const exit = await d.tenure.sendEvent({
      eventId: exitId,
      kind: 'termination',
      record: {
        ...record,
        status: 'terminated',
        exitDate: '2026-01-06',
        exitKind: 'involuntary',
        sourceUpdatedAt: new Date().toISOString(),
      },
    });
    assert.equal(exit.status, 202, JSON.stringify(exit));
    await resultWhenStarted(d.client.workflow.getHandle(eventWorkflowId(hrId, 'termination', exitId)), 60_000);
    for (const id of ['idp', 'wiki', 'crm']) {
      const mine = d.accountsOf(id, hrId);
      assert.equal(mine.length, 1, `${id}: still exactly one account`);
      assert.equal(mine[0]?.active, false, `${id}: disabled at exit`);
    }

    // The evidence is in the Postgres audit store, and its chain is intact.
    const store = await openAuditStore({ databaseUrl: auditUrl });
    try {
      const actions: string[] = [];
      for await (const e of store.stream({ hrId })) actions.push(e.action);
      assert.ok(actions.includes('verify_exit'), actions.join(','));
      assert.equal((await store.verify()).ok, true);
    } finally {
      await store.close();
    }
  });
});
