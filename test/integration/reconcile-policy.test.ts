import assert from 'node:assert/strict';
import type { RunningWorker } from '../../src/app/compose';
import { startWorker } from '../../src/app/compose';
import { loadSettings } from '../../src/app/settings';
import { decideHold, showHold } from '../../src/client/cli-guard';
import { parsePolicy } from '../../src/config/policy-file';
import type { EmployeeRecord } from '../../src/domain/employee';
import { employeeWorkflowId, eventWorkflowId } from '../../src/domain/ids';
import type { PolicyInput } from '../../src/domain/policy';
import { runReconcileNow } from '../../src/reconcile/schedule';
import { employeeStatusQuery } from '../../src/workflows/employee/messages';
import { daysAgo, makeRecord } from '../helpers/records';
import { workflowBundle } from '../helpers/temporal';
import { startTenure } from '../helpers/tenure';
import { resultWhenStarted, waitFor } from '../helpers/wait';

/**
 * Issue 14 item 5: adopting a policy goes through the guard. A birthright rule is narrowed (engineers no longer get
 * the wiki); the workers are restarted on the new policy; the next reconciliation finds the accounts the policy no
 * longer grants (`not_granted`) and, as the policy's reaction says, disables them through the mass-change guard on
 * its `policy` path: a few at once, or held for an operator when it is too many.
 */
function withRules(p: PolicyInput, wikiForEngineers: boolean, maxDisables: number): PolicyInput {
  return {
    ...p,
    birthright: [
      { name: 'everyone', systems: ['idp'] },
      ...(wikiForEngineers ? [{ name: 'engineers', match: { department: ['Engineering'] }, systems: ['wiki'] }] : []),
    ],
    reconcile: { reactions: { not_granted: 'fix' } },
    guard: { percentFloor: 100, perRun: { disables: { count: maxDisables } } },
  };
}

async function scenario(maxDisables: number, engineers: number) {
  let base: PolicyInput | undefined;
  const t = await startTenure({
    policy: (p) => {
      base = p;
      return withRules(p, true, maxDisables);
    },
  });
  const active = (peer: 'idp' | 'app', hrId: string) =>
    (peer === 'idp' ? t.idp : t.app).users().find((u) => u.externalId === hrId)?.active;

  async function hire(department: string): Promise<EmployeeRecord> {
    const record = makeRecord({ status: 'active', hireDate: daysAgo(3), department });
    const eventId = `hire-${record.hrId}`;
    const a = await t.tenure.sendEvent({ eventId, kind: 'hire', record });
    assert.equal(a.outcome, 'accepted', JSON.stringify(a));
    await resultWhenStarted(t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'hire', eventId)), 60_000);
    await waitFor(
      async () => {
        const s = await t.client.workflow.getHandle(employeeWorkflowId(record.hrId)).query(employeeStatusQuery);
        return s.current === undefined && s.queued === 0;
      },
      90_000,
      'settled',
    );
    return record;
  }

  const eng: EmployeeRecord[] = [];
  for (let i = 0; i < engineers; i++) eng.push(await hire('Engineering'));
  const sales = await hire('Sales');
  for (const r of eng) assert.equal(active('app', r.hrId), true, 'an engineer has the wiki');
  assert.equal(active('app', sales.hrId), undefined, 'sales never had it');

  // The new policy: engineers no longer get the wiki. The workers restart on it.
  await t.worker.shutdown();
  const next = parsePolicy(withRules(base as PolicyInput, false, maxDisables));
  const worker: RunningWorker = await startWorker(loadSettings({ vars: t.settings.vars, policy: next }), t.audit, {
    workflowBundle: await workflowBundle(),
  });
  return { t, worker, eng, sales, active };
}

describe('reconcile: a narrowed policy is adopted through the guard', function () {
  this.timeout(300_000);
  before(async () => {
    await workflowBundle();
  });

  it('disables what the policy no longer grants, and leaves what it still grants', async () => {
    const { t, worker, eng, sales, active } = await scenario(25, 2);
    try {
      const report = await runReconcileNow(t.client, t.taskQueue);
      const notGranted = report.findings.filter((f) => f.situation === 'not_granted');
      assert.deepEqual(
        notGranted.map((f) => [f.systemId, f.hrId, f.reaction, f.outcome]).sort(),
        eng.map((r) => ['wiki', r.hrId, 'fix', 'disabled']).sort(),
        JSON.stringify(report.findings),
      );
      assert.equal(report.policyGuard?.held, false);
      for (const r of eng) {
        assert.equal(active('app', r.hrId), false, 'the wiki account is disabled');
        assert.equal(active('idp', r.hrId), true, 'the identity provider is still granted');
      }
      assert.equal(active('idp', sales.hrId), true);
      const disables = [];
      for await (const e of t.audit.stream()) {
        if (e.systemId === 'wiki' && /disable/.test(e.action) && e.outcome !== 'failed') disables.push(e);
      }
      assert.ok(disables.length >= eng.length, `evidence of each guarded disable: ${disables.length}`);
    } finally {
      await worker.shutdown();
      await t.stop();
    }
  });

  it('too many at once is held on the policy path: nothing is disabled until an operator releases it', async () => {
    const { t, worker, eng, active } = await scenario(2, 3);
    try {
      const report = await runReconcileNow(t.client, t.taskQueue);
      assert.equal(report.policyGuard?.held, true, JSON.stringify(report.policyGuard));
      const holdId = report.policyGuard?.holdId ?? '';
      const hold = await showHold(t.client, t.taskQueue, holdId);
      assert.equal(hold?.path, 'policy');
      assert.equal(hold?.items.length, 3);
      assert.ok(report.findings.filter((f) => f.situation === 'not_granted').every((f) => f.outcome === 'held'));
      for (const r of eng) assert.equal(active('app', r.hrId), true, 'held: still active');

      await decideHold(t.client, t.taskQueue, 'release', { holdId, by: 'cli:test' });
      for (const r of eng) await waitFor(() => active('app', r.hrId) === false, 60_000, 'released: disabled');
    } finally {
      await worker.shutdown();
      await t.stop();
    }
  });
});
