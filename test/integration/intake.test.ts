import assert from 'node:assert/strict';
import { WorkflowNotFoundError } from '@temporalio/client';
import { signTenureWebhook } from '../../src/client/signature';
import { employeeWorkflowId } from '../../src/domain/ids';
import { makeRecord } from '../helpers/records';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { waitFor } from '../helpers/wait';

interface Answer {
  status: number;
  body: { error?: string; message?: string; outcome?: string; issues?: { path: string; message: string }[] };
}

/** Bad input gets a clear 4xx that names what is wrong, and nothing starts. */
describe('intake: the generic HR webhook refuses bad input and starts nothing', function () {
  this.timeout(60_000);
  let t: TenureHarness;

  before(async () => {
    t = await startTenure();
  });
  after(async () => {
    await t?.stop();
  });

  async function post(body: string, headers: Record<string, string> = {}, tsOffset = 0): Promise<Answer> {
    const ts = Math.floor(Date.now() / 1000) + tsOffset;
    const res = await fetch(`${t.intake.url}/webhooks/hr`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-tenure-timestamp': String(ts),
        'x-tenure-signature': signTenureWebhook(t.webhookSecret, ts, body),
        ...headers,
      },
      body,
    });
    return { status: res.status, body: (await res.json()) as Answer['body'] };
  }

  async function assertNothingStarted(hrId: string): Promise<void> {
    await assert.rejects(t.client.workflow.getHandle(employeeWorkflowId(hrId)).describe(), WorkflowNotFoundError);
  }

  it('malformed JSON is a 400 that says so', async () => {
    const r = await post('{"eventId": "x", ');
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'malformed_json');
    assert.match(r.body.message ?? '', /not valid JSON/);
  });

  it('a missing field is a 422 naming the field', async () => {
    const record = makeRecord();
    const { department: _omit, ...withoutDepartment } = record;
    const r = await post(JSON.stringify({ eventId: 'e-missing', kind: 'hire', record: withoutDepartment }));
    assert.equal(r.status, 422);
    assert.ok(
      r.body.issues?.some((i) => i.path === 'record.department'),
      JSON.stringify(r.body),
    );
    await assertNothingStarted(record.hrId);
  });

  it('a mistyped field is a 422 naming the field', async () => {
    const record = { ...makeRecord(), hireDate: 20261201 };
    const r = await post(JSON.stringify({ eventId: 'e-type', kind: 'hire', record }));
    assert.equal(r.status, 422);
    assert.ok(
      r.body.issues?.some((i) => i.path === 'record.hireDate'),
      JSON.stringify(r.body),
    );
    const bad = { ...makeRecord(), hireDate: '2026-02-30' };
    const r2 = await post(JSON.stringify({ eventId: 'e-date', kind: 'hire', record: bad }));
    assert.equal(r2.status, 422);
    assert.match(r2.body.message ?? '', /record\.hireDate: must be a calendar date/);
    await assertNothingStarted(record.hrId);
  });

  it('an unknown event kind is a 422 naming the kind', async () => {
    const record = makeRecord();
    const r = await post(JSON.stringify({ eventId: 'e-kind', kind: 'promotion', record }));
    assert.equal(r.status, 422);
    assert.ok(
      r.body.issues?.some((i) => i.path === 'kind'),
      JSON.stringify(r.body),
    );
    await assertNothingStarted(record.hrId);
  });

  it('a bad, missing, stale or future signature is a 401 that says which', async () => {
    const record = makeRecord();
    const body = JSON.stringify({ eventId: 'e-sig', kind: 'hire', record });
    const forged = await post(body, {
      'x-tenure-signature': signTenureWebhook('not-the-secret', Math.floor(Date.now() / 1000), body),
    });
    assert.equal(forged.status, 401);
    assert.match(forged.body.message ?? '', /does not match/);
    const missing = await post(body, { 'x-tenure-signature': '' });
    assert.equal(missing.status, 401);
    assert.match(missing.body.message ?? '', /missing x-tenure-signature/);
    const stale = await post(body, {}, -301);
    assert.equal(stale.status, 401);
    assert.match(stale.body.message ?? '', /more than 300 seconds/);
    const future = await post(body, {}, 301);
    assert.equal(future.status, 401);
    const tampered = await post(body.replace('Engineering', 'Finance'), {
      'x-tenure-signature': signTenureWebhook(t.webhookSecret, Math.floor(Date.now() / 1000), body),
    });
    assert.equal(tampered.status, 401);
    await assertNothingStarted(record.hrId);
  });

  it('a repeated event id gets a duplicate answer and starts nothing new', async () => {
    const record = makeRecord({ hireDate: '2030-01-15' });
    const first = await t.tenure.sendEvent({ eventId: 'e-dup', kind: 'hire', record });
    assert.equal(first.outcome, 'accepted', JSON.stringify(first));
    const again = await t.tenure.sendEvent({ eventId: 'e-dup', kind: 'hire', record });
    assert.equal(again.status, 200);
    assert.equal(again.outcome, 'duplicate');
    const children: string[] = [];
    await waitFor(async () => {
      children.length = 0;
      for await (const wf of t.client.workflow.list({
        query: `TenureEmployeeId = "${record.hrId}" AND TenureEventKind = "hire"`,
      })) {
        children.push(wf.workflowId);
      }
      return children.length > 0;
    });
    assert.deepEqual(children, [`employee/${record.hrId}/hire/e-dup`]);
    await t.client.workflow.getHandle(employeeWorkflowId(record.hrId)).terminate('test cleanup');
  });

  it('an event the entity rejects is a 409 with the reason, and nothing half-runs', async () => {
    const { workEmail: _omit, ...noWorkEmail } = makeRecord();
    const r = await post(JSON.stringify({ eventId: 'e-nowork', kind: 'hire', record: noWorkEmail }));
    assert.equal(r.status, 409);
    assert.match(r.body.message ?? '', /no workEmail/);
    const handle = t.client.workflow.getHandle(employeeWorkflowId(noWorkEmail.hrId));
    await waitFor(async () => (await handle.describe()).status.name === 'COMPLETED', 20_000, 'entity ends');
    assert.equal(t.idp.requests.length + t.app.requests.length, 0);
  });

  it('every refusal is logged with its reason and without the record', () => {
    const refusals = t.logLines.filter(
      (l) => l.msg === 'hr event refused' || l.msg === 'unauthenticated request refused',
    );
    assert.ok(refusals.length >= 8, `expected refusals in the log, got ${refusals.length}`);
    const text = JSON.stringify(t.logLines);
    assert.doesNotMatch(text, /Lima|@acme\.example|@personal\.example/);
  });
});
