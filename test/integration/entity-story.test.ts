import assert from 'node:assert/strict';
import { employeeWorkflowId, eventWorkflowId } from '../../src/domain/ids';
import { employeeStatusQuery } from '../../src/workflows/employee/messages';
import { makeRecord } from '../helpers/records';
import { workflowBundle } from '../helpers/temporal';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { resultWhenStarted, waitFor } from '../helpers/wait';

/** A finished story (exit and retention done) continues-as-new to a small state: idle histories stay bounded. */
describe('entity: a finished story continues as new with a small state', function () {
  this.timeout(180_000);
  let t: TenureHarness;

  before(async () => {
    await workflowBundle();
    t = await startTenure({ policy: (p) => ({ ...p, timing: { ...p.timing, retention: '2s' } }) });
  });
  after(async () => {
    await t?.stop();
  });

  it('after the exit and the retention deletion, the next run of the entity is small and still knows the person', async () => {
    const record = makeRecord({ hireDate: '2026-01-05' });
    const hireId = `hire-${record.hrId}`;
    assert.equal((await t.tenure.sendEvent({ eventId: hireId, kind: 'hire', record })).outcome, 'accepted');
    await resultWhenStarted(t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'hire', hireId)));
    const entity = t.client.workflow.getHandle(employeeWorkflowId(record.hrId));
    await waitFor(async () => (await entity.query(employeeStatusQuery)).current === undefined, 30_000, 'hire done');
    const first = (await entity.describe()).runId;

    const exitId = `exit-${record.hrId}`;
    const left = { ...record, exitKind: 'involuntary' as const, sourceUpdatedAt: new Date().toISOString() };
    assert.equal(
      (await t.tenure.sendEvent({ eventId: exitId, kind: 'termination', record: left })).outcome,
      'accepted',
    );
    await resultWhenStarted(
      t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'termination', `${exitId}.retention`)),
      60_000,
    );

    // The story is finished: the entity continued as new, its new run holds only the start of a history.
    await waitFor(async () => (await entity.describe()).runId !== first, 60_000, 'continued as new');
    const fresh = t.client.workflow.getHandle(employeeWorkflowId(record.hrId), (await entity.describe()).runId);
    const history = await fresh.fetchHistory();
    assert.ok((history.events?.length ?? 0) < 10, `${history.events?.length} events in the idle run`);
    const s = await fresh.query(employeeStatusQuery);
    assert.equal(s.record?.hrId, record.hrId);
    assert.equal(s.deletion, undefined);
    assert.ok(s.events.some((e) => e.eventId === hireId));
    assert.ok(s.events.some((e) => e.eventId === exitId && e.state === 'done'));

    // It still knows the story: a change is refused (they left), the old hire is a duplicate, a rehire is taken.
    const change = await t.tenure.sendEvent({
      eventId: `change-${record.hrId}`,
      kind: 'change',
      record: { ...left, title: 'Other', sourceUpdatedAt: new Date().toISOString() },
    });
    assert.match('message' in change ? change.message : '', /has left/);
    assert.equal((await t.tenure.sendEvent({ eventId: hireId, kind: 'hire', record })).outcome, 'duplicate');
    const rehire = await t.tenure.sendEvent({
      eventId: `rehire-${record.hrId}`,
      kind: 'rehire',
      record: { ...record, hireDate: '2031-02-03', sourceUpdatedAt: new Date().toISOString() },
    });
    assert.equal(rehire.outcome, 'accepted', JSON.stringify(rehire));
  });
});
