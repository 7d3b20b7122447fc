import assert from 'node:assert/strict';
import type { ScimPeer } from '../../src/dev/scim-peer';
import type { EmployeeRecord, HrEventKind } from '../../src/domain/employee';
import { addDays } from '../../src/domain/time';
import { employeeWorkflowId, eventWorkflowId } from '../../src/domain/ids';
import { employeeStatusQuery } from '../../src/workflows/employee/messages';
import { onboardingStatusQuery } from '../../src/workflows/onboarding/messages';
import type { offboardingWorkflow } from '../../src/workflows/onboarding/onboarding';
import { instantFromNow, makeRecord } from '../helpers/records';
import { workflowBundle } from '../helpers/temporal';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { resultWhenStarted, waitFor } from '../helpers/wait';

/** Whether a SCIM request body sets `active` to true, in any of the forms (create, PUT, PATCH value or path). */
function activates(body: unknown): boolean {
  if (!body || typeof body !== 'object') return false;
  const b = body as Record<string, unknown>;
  if (b.active === true || b.active === 'True' || b.active === 'true') return true;
  const ops = (b.Operations ?? b.operations) as unknown[] | undefined;
  return (ops ?? []).some((op) => {
    const o = op as { path?: unknown; value?: unknown };
    if (typeof o.path === 'string' && o.path.toLowerCase() === 'active') return o.value === true || o.value === 'True';
    return activates(o.value);
  });
}

/**
 * Issue 17 item 1: an exit dated before the start is a cancelled hire, however it arrives — a termination, a
 * cancel_hire or a change that adds an early exit date. The waiting onboarding is cancelled, the pre-hire accounts
 * are deleted, and no account is ever activated; an exit already past never waits behind the hire.
 */
describe('lifecycle: an exit before the start date is a cancelled hire', function () {
  this.timeout(240_000);
  let t: TenureHarness;

  before(async () => {
    await workflowBundle();
    t = await startTenure({ policy: (p) => ({ ...p, timing: { ...p.timing, preProvisionDays: 3 } }) });
  });
  after(async () => {
    await t?.stop();
  });

  const peers = (): ScimPeer[] => [t.idp, t.app];
  const accounts = (hrId: string) => peers().flatMap((p) => p.users().filter((u) => u.externalId === hrId));

  async function evidenceOf(hrId: string) {
    const out = [];
    for await (const e of t.audit.stream({ hrId })) out.push(e);
    return out;
  }

  /** A hire two days out: pre-provisioning (three days ahead) creates its accounts, disabled, at once. */
  async function preProvisionedHire(): Promise<{ record: EmployeeRecord; hireId: string; mark: number[] }> {
    const mark = peers().map((p) => p.requests.length);
    const record = makeRecord({ hireDate: instantFromNow(2 * 86_400, 'UTC').hireDate });
    const hireId = `hire-${record.hrId}`;
    const a = await t.tenure.sendEvent({ eventId: hireId, kind: 'hire', record });
    assert.equal(a.outcome, 'accepted', JSON.stringify(a));
    const onboarding = t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'hire', hireId));
    await waitFor(
      async () => (await onboarding.query(onboardingStatusQuery)).stage === 'waiting',
      60_000,
      'pre-provisioned',
    );
    assert.equal(accounts(record.hrId).length, 2, 'pre-provisioned in both systems');
    assert.ok(
      accounts(record.hrId).every((u) => !u.active),
      'pre-provisioned accounts are disabled',
    );
    return { record, hireId, mark };
  }

  /** The final state of every system: nothing left, nothing ever activated, the story of the entity. */
  async function assertCancelledHire(
    record: EmployeeRecord,
    hireId: string,
    exitId: string,
    mark: number[],
    opts: { preProvisioned: boolean; sentAs: HrEventKind },
  ): Promise<void> {
    const cancel = t.client.workflow.getHandle<typeof offboardingWorkflow>(
      eventWorkflowId(record.hrId, 'cancel_hire', exitId),
    );
    const final = await resultWhenStarted(cancel, 60_000);
    assert.equal(final.stage, 'completed', JSON.stringify(final));
    const onboarding = t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'hire', hireId));
    assert.equal((await onboarding.describe()).status.name, 'CANCELLED', 'the waiting onboarding is cancelled');

    // Identity provider and app: no account left, and no request ever set one active.
    assert.deepEqual(accounts(record.hrId), [], 'the pre-hire accounts are gone');
    peers().forEach((p, i) => {
      const bodies = p.requests.slice(mark[i]).filter((r) => activates(r.body));
      assert.deepEqual(bodies, [], `no request to ${p.url} activated an account`);
    });

    // Evidence: deleted where pre-provisioned, never activated.
    const ev = await evidenceOf(record.hrId);
    assert.deepEqual(
      ev.filter((e) => e.action === 'activate_account'),
      [],
    );
    const deleted = ev.filter((e) => e.action === 'delete_account' && e.outcome === 'deleted');
    assert.equal(deleted.length, opts.preProvisioned ? 2 : 0, JSON.stringify(ev.map((e) => [e.action, e.outcome])));

    // The entity: the hire superseded, the exit carried out as a cancelled hire, nothing waiting.
    const entity = t.client.workflow.getHandle(employeeWorkflowId(record.hrId));
    await waitFor(async () => {
      const s = await entity.query(employeeStatusQuery);
      return s.current === undefined && s.queued === 0;
    });
    const s = await entity.query(employeeStatusQuery);
    const hire = s.events.find((e) => e.eventId === hireId);
    const exit = s.events.find((e) => e.eventId === exitId);
    assert.equal(hire?.state, 'superseded');
    assert.deepEqual([exit?.kind, exit?.state, exit?.outcome], ['cancel_hire', 'done', 'accepted']);
    assert.equal(
      s.events.some((e) => e.derived && e.kind === 'termination' && e.state !== 'superseded'),
      false,
      `no exit queued behind the hire (sent as ${opts.sentAs})`,
    );
  }

  it('a termination dated before the start cancels the pre-provisioned hire', async () => {
    const { record, hireId, mark } = await preProvisionedHire();
    const exitId = `exit-${record.hrId}`;
    const a = await t.tenure.sendEvent({
      eventId: exitId,
      kind: 'termination',
      record: {
        ...record,
        status: 'terminated',
        exitDate: addDays(record.hireDate, -1),
        exitKind: 'voluntary',
        sourceUpdatedAt: new Date().toISOString(),
      },
    });
    assert.equal(a.outcome, 'accepted', JSON.stringify(a));
    assert.equal(a.status, 202);
    assert.ok('workflowId' in a && a.workflowId === eventWorkflowId(record.hrId, 'cancel_hire', exitId));
    assert.match('reason' in a ? (a.reason ?? '') : '', /is cancelled/);
    await assertCancelledHire(record, hireId, exitId, mark, { preProvisioned: true, sentAs: 'termination' });
  });

  it('a cancel_hire undoes pre-provisioning and never activates', async () => {
    const { record, hireId, mark } = await preProvisionedHire();
    const exitId = `cancel-${record.hrId}`;
    const a = await t.tenure.sendEvent({
      eventId: exitId,
      kind: 'cancel_hire',
      record: { ...record, sourceUpdatedAt: new Date().toISOString() },
    });
    assert.equal(a.outcome, 'accepted', JSON.stringify(a));
    await assertCancelledHire(record, hireId, exitId, mark, { preProvisioned: true, sentAs: 'cancel_hire' });
  });

  it('a change that adds an exit date before the waiting hire date cancels the hire', async () => {
    const { record, hireId, mark } = await preProvisionedHire();
    const exitId = `change-${record.hrId}`;
    const a = await t.tenure.sendEvent({
      eventId: exitId,
      kind: 'change',
      record: { ...record, exitDate: addDays(record.hireDate, -1), sourceUpdatedAt: new Date().toISOString() },
    });
    assert.equal(a.outcome, 'accepted', JSON.stringify(a));
    assert.ok('workflowId' in a && a.workflowId === eventWorkflowId(record.hrId, 'cancel_hire', exitId));
    await assertCancelledHire(record, hireId, exitId, mark, { preProvisioned: true, sentAs: 'change' });
  });

  it('an exit date already past never waits behind a hire years away', async () => {
    const mark = peers().map((p) => p.requests.length);
    const record = makeRecord({ hireDate: '2031-05-01' });
    const hireId = `hire-${record.hrId}`;
    assert.equal((await t.tenure.sendEvent({ eventId: hireId, kind: 'hire', record })).outcome, 'accepted');
    const onboarding = t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'hire', hireId));
    await waitFor(async () => (await onboarding.describe()).status.name === 'RUNNING');
    const exitId = `change-${record.hrId}`;
    const sentAt = Date.now();
    const a = await t.tenure.sendEvent({
      eventId: exitId,
      kind: 'change',
      record: { ...record, exitDate: '2020-01-31', sourceUpdatedAt: new Date().toISOString() },
    });
    assert.equal(a.outcome, 'accepted', JSON.stringify(a));
    await assertCancelledHire(record, hireId, exitId, mark, { preProvisioned: false, sentAs: 'change' });
    assert.ok(Date.now() - sentAt < 60_000, 'carried out at once, not at the hire instant');
  });
});
