import assert from 'node:assert/strict';
import { generateKey } from '../../src/codec';
import type { PersonStatus } from '../../src/client/operations';
import { employeeWorkflowId, eventWorkflowId } from '../../src/domain/ids';
import { employeeStatusQuery } from '../../src/workflows/employee/messages';
import { makeRecord } from '../helpers/records';
import { spawnEntryPoint } from '../helpers/processes';
import { devServer, workflowBundle } from '../helpers/temporal';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { waitFor } from '../helpers/wait';

/**
 * Issue 17 item 3: `tenure status <hrId>` (the CLI as a process) tells the truth while the newest event is still
 * queued behind a waiting run: the entity, its queue and every run, never "no Tenure workflow".
 */
describe('lifecycle: tenure status shows the entity, its queue and every run', function () {
  this.timeout(180_000);
  const codecKeys = `test:${generateKey()}`;
  let t: TenureHarness;

  before(async () => {
    await workflowBundle();
    t = await startTenure({ codecKeys });
  });
  after(async () => {
    await t?.stop();
  });

  async function cli(args: string[]): Promise<{ code: number | string; out: string }> {
    const p = spawnEntryPoint(
      'cli',
      {
        TEMPORAL_ADDRESS: devServer().address,
        TEMPORAL_NAMESPACE: 'default',
        TENURE_CODEC_KEYS: codecKeys,
        TENURE_LOG_LEVEL: 'error',
      },
      'cli',
      args,
    );
    const code = await p.exited;
    return { code, out: p.lines.join('\n') };
  }

  it('a person whose newest event is queued behind a waiting hire', async () => {
    const record = makeRecord({ hireDate: '2031-05-01' });
    const hireId = `hire-${record.hrId}`;
    assert.equal((await t.tenure.sendEvent({ eventId: hireId, kind: 'hire', record })).outcome, 'accepted');
    const changeId = `change-${record.hrId}`;
    const c = await t.tenure.sendEvent({
      eventId: changeId,
      kind: 'change',
      record: { ...record, title: 'Staff Engineer', sourceUpdatedAt: new Date().toISOString() },
    });
    assert.equal(c.outcome, 'accepted', JSON.stringify(c));
    const entity = t.client.workflow.getHandle(employeeWorkflowId(record.hrId));
    await waitFor(async () => (await entity.query(employeeStatusQuery)).current !== undefined);

    const { code, out } = await cli(['status', record.hrId]);
    assert.equal(code, 0, out);
    assert.doesNotMatch(out, /no Tenure workflow/);
    const status = JSON.parse(out.slice(out.indexOf('{'))) as PersonStatus;
    const hireRun = eventWorkflowId(record.hrId, 'hire', hireId);
    const changeRun = eventWorkflowId(record.hrId, 'change', changeId);
    assert.equal(status.entity.execution, 'RUNNING');
    assert.equal(status.entity.current, hireRun);
    assert.deepEqual(
      status.entity.queue?.map((q) => [q.eventId, q.workflowId]),
      [[changeId, changeRun]],
    );
    assert.deepEqual(
      status.runs.map((r) => [r.workflowId, r.state, r.execution]),
      [
        [hireRun, 'running', 'RUNNING'],
        [changeRun, 'queued', 'not_started'],
      ],
    );
    assert.equal(status.runs[0]?.status?.effectiveAt, status.run?.effectiveAt);
    assert.match(status.run?.stage ?? '', /^waiting/);

    // Every system: nothing provisioned years before the start.
    assert.deepEqual(
      [...t.idp.users(), ...t.app.users()].filter((u) => u.externalId === record.hrId),
      [],
    );
  });

  it('a person Tenure has never seen: "no Tenure workflow", exit code 1', async () => {
    const { code, out } = await cli(['status', 'NOBODY-17']);
    assert.equal(code, 1);
    assert.match(out, /no Tenure workflow for NOBODY-17/);
  });
});
