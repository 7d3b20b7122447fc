import assert from 'node:assert/strict';
import { ScimConnector } from '../../src/activities/scim/client';
import type { EmployeeRecord } from '../../src/domain/employee';
import { employeeWorkflowId, eventWorkflowId } from '../../src/domain/ids';
import { employeeStatusQuery } from '../../src/workflows/employee/messages';
import { onboardingStatusQuery } from '../../src/workflows/onboarding/messages';
import type { offboardingWorkflow } from '../../src/workflows/onboarding/onboarding';
import { instantFromNow, makeRecord } from '../helpers/records';
import { workflowBundle } from '../helpers/temporal';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { resultWhenStarted, waitFor } from '../helpers/wait';

/** Leavers: no access outlives employment, and every system proves it by a read-back. */
describe('leaver: exits disable the identity provider first, then every system, verified', function () {
  this.timeout(180_000);
  const tz = 'America/New_York';
  let t: TenureHarness;
  let exit: ReturnType<typeof instantFromNow>;

  before(async () => {
    await workflowBundle();
    exit = instantFromNow(15, tz);
    t = await startTenure({
      policy: (p) => ({ ...p, timing: { ...p.timing, exitTime: exit.activationTime, preProvisionDays: 3 } }),
    });
  });
  after(async () => {
    await t?.stop();
  });

  const accounts = (hrId: string, email?: string) =>
    [...t.idp.users(), ...t.app.users()].filter((u) => u.externalId === hrId || (email && u.userName === email));

  async function hire(record: EmployeeRecord): Promise<void> {
    const eventId = `hire-${record.hrId}`;
    const a = await t.tenure.sendEvent({ eventId, kind: 'hire', record });
    assert.equal(a.outcome, 'accepted', JSON.stringify(a));
    await resultWhenStarted(t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'hire', eventId)));
    await settled(record.hrId);
  }

  /** The entity has taken note of its finished child: nothing running, nothing queued. */
  async function settled(hrId: string): Promise<void> {
    const entity = t.client.workflow.getHandle(employeeWorkflowId(hrId));
    await waitFor(async () => {
      const s = await entity.query(employeeStatusQuery);
      return s.current === undefined && s.queued === 0;
    });
  }

  async function terminate(record: EmployeeRecord, eventId: string) {
    const a = await t.tenure.sendEvent({ eventId, kind: 'termination', record });
    assert.equal(a.outcome, 'accepted', JSON.stringify(a));
    return t.client.workflow.getHandle<typeof offboardingWorkflow>(
      eventWorkflowId(record.hrId, 'termination', eventId),
    );
  }

  async function evidenceOf(hrId: string) {
    const out = [];
    for await (const e of t.audit.stream({ hrId })) out.push(e);
    return out;
  }

  it('a voluntary exit waits for the exit instant, then disables the IdP, every app and shadow access', async () => {
    const record = makeRecord({ hireDate: '2025-03-01', location: { name: 'NYC', countryCode: 'US', timeZone: tz } });
    await hire(record);
    // Shadow access: an account in the app Tenure did not create, found by the work email.
    await new ScimConnector({ systemId: 'wiki', baseUrl: t.app.url })
      .ensureAccount({
        hrId: '',
        userName: `${record.workEmail}`,
        givenName: 'x',
        familyName: 'y',
        active: true,
      })
      .catch(() => undefined);
    assert.ok(accounts(record.hrId, record.workEmail).every((u) => u.active));

    const leaving = {
      ...record,
      status: 'terminated' as const,
      exitDate: exit.hireDate,
      exitKind: 'voluntary' as const,
      sourceUpdatedAt: new Date().toISOString(),
    };
    const handle = await terminate(leaving, `exit-${record.hrId}`);
    await waitFor(async () => (await handle.describe()) !== undefined);
    const waiting = await handle.query(onboardingStatusQuery);
    assert.equal(waiting.stage, 'waiting');
    assert.equal(waiting.effectiveAt, exit.at.toISOString());
    assert.ok(
      accounts(record.hrId, record.workEmail).every((u) => u.active),
      'nothing is revoked before the exit instant',
    );

    const final = await resultWhenStarted(handle);
    assert.equal(final.stage, 'completed');
    assert.ok(Date.parse(final.steps[0]?.startedAt ?? '') >= exit.at.getTime());
    const idpDone = Date.parse(final.steps.find((s) => s.id === 'disable_account:idp')?.finishedAt ?? '');
    const appStart = Date.parse(final.steps.find((s) => s.id === 'disable_account:wiki')?.startedAt ?? '');
    assert.ok(appStart >= idpDone, 'apps are disabled after the identity provider');
    assert.ok(
      accounts(record.hrId, record.workEmail).every((u) => !u.active),
      'no account is active',
    );

    const ev = await evidenceOf(record.hrId);
    const disabled = ev.filter((e) => e.action === 'disable_account');
    assert.deepEqual(disabled.map((e) => [e.systemId, e.outcome, e.readBack?.active]).sort(), [
      ['idp', 'disabled', false],
      ['wiki', 'disabled', false],
    ]);
    const verified = ev.find((e) => e.action === 'verify_exit');
    assert.equal(verified?.outcome, 'verified_inactive');
    assert.deepEqual(verified?.readBack, {
      systems: { idp: { found: true, active: false }, wiki: { found: true, active: false } },
    });
  });

  it('an involuntary exit runs at once', async () => {
    const record = makeRecord({ hireDate: '2025-03-01' });
    await hire(record);
    const handle = await terminate(
      { ...record, exitKind: 'involuntary', sourceUpdatedAt: new Date().toISOString() },
      `fire-${record.hrId}`,
    );
    const final = await resultWhenStarted(handle);
    assert.equal(final.stage, 'completed');
    assert.ok(accounts(record.hrId).length === 2 && accounts(record.hrId).every((u) => !u.active));
  });

  // An exit before the start is a cancelled hire (issue 17): the run is `cancel_hire/<eventId>`.
  it('a termination while onboarding waits cancels it and leaves no active account', async () => {
    const future = makeRecord({ hireDate: '2031-05-01' });
    const a = await t.tenure.sendEvent({ eventId: `hire-${future.hrId}`, kind: 'hire', record: future });
    assert.equal(a.outcome, 'accepted');
    const onboarding = t.client.workflow.getHandle(eventWorkflowId(future.hrId, 'hire', `hire-${future.hrId}`));
    await waitFor(async () => (await onboarding.describe()).status.name === 'RUNNING');
    const rescind = await t.tenure.sendEvent({
      eventId: `rescind-${future.hrId}`,
      kind: 'termination',
      record: { ...future, exitKind: 'involuntary', sourceUpdatedAt: new Date().toISOString() },
    });
    assert.equal(rescind.outcome, 'accepted', JSON.stringify(rescind));
    await resultWhenStarted(
      t.client.workflow.getHandle(eventWorkflowId(future.hrId, 'cancel_hire', `rescind-${future.hrId}`)),
    );
    await waitFor(
      async () => (await onboarding.describe()).status.name === 'CANCELLED',
      20_000,
      'onboarding cancelled',
    );
    assert.ok(accounts(future.hrId).every((u) => !u.active));
    const entityHandle = t.client.workflow.getHandle(employeeWorkflowId(future.hrId));
    await waitFor(async () => (await entityHandle.query(employeeStatusQuery)).current === undefined);
    const entity = await entityHandle.query(employeeStatusQuery);
    assert.deepEqual(
      entity.events.map((e) => [e.kind, e.state]),
      [
        ['hire', 'superseded'],
        ['cancel_hire', 'done'],
      ],
    );
  });

  it('a cancelled hire undoes pre-provisioning: the disabled accounts are deleted', async () => {
    const soon = instantFromNow(2 * 86_400, 'UTC'); // hire in two days; pre-provisioning (3 days ahead) is now
    const record = makeRecord({ hireDate: soon.hireDate });
    const eventId = `hire-${record.hrId}`;
    await t.tenure.sendEvent({ eventId, kind: 'hire', record });
    const onboarding = t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'hire', eventId));
    await waitFor(
      async () => (await onboarding.query(onboardingStatusQuery)).stage === 'waiting',
      30_000,
      'pre-provisioned',
    );
    assert.equal(accounts(record.hrId).length, 2);
    assert.ok(accounts(record.hrId).every((u) => !u.active));

    const c = await t.tenure.sendEvent({
      eventId: `cancel-${record.hrId}`,
      kind: 'cancel_hire',
      record: { ...record, sourceUpdatedAt: new Date().toISOString() },
    });
    assert.equal(c.outcome, 'accepted', JSON.stringify(c));
    await resultWhenStarted(
      t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'cancel_hire', `cancel-${record.hrId}`)),
    );
    assert.deepEqual(accounts(record.hrId), [], 'the pre-provisioned accounts are gone');
    const ev = await evidenceOf(record.hrId);
    assert.equal(ev.filter((e) => e.action === 'delete_account' && e.outcome === 'deleted').length, 2);
  });

  it("a contractor's end date schedules their exit at hire", async () => {
    const record = makeRecord({ hireDate: '2025-01-06', employmentType: 'contractor', exitDate: '2025-06-30' });
    const a = await t.tenure.sendEvent({ eventId: `c-${record.hrId}`, kind: 'hire', record });
    assert.equal(a.outcome, 'accepted');
    const exitRun = t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'termination', `c-${record.hrId}.exit`));
    await waitFor(async () => (await exitRun.describe()).status.name === 'COMPLETED', 60_000, 'scheduled exit ran');
    assert.ok(accounts(record.hrId).length === 2 && accounts(record.hrId).every((u) => !u.active));
  });

  it('an out-of-order webhook (older sourceUpdatedAt) loses', async () => {
    const record = makeRecord({ hireDate: '2025-03-01' });
    await hire(record);
    const old = await t.tenure.sendEvent({
      eventId: `old-${record.hrId}`,
      kind: 'termination',
      record: { ...record, exitKind: 'involuntary', sourceUpdatedAt: '2020-01-01T00:00:00Z' },
    });
    assert.equal(old.outcome, 'refused');
    assert.match(old.status === 409 && 'message' in old ? old.message : '', /stale/);
    assert.ok(accounts(record.hrId).every((u) => u.active));
  });

  it('a leave of absence suspends every account, the return restores them, a rehire adopts them', async () => {
    const record = makeRecord({ hireDate: '2025-03-01' });
    await hire(record);
    const send = async (kind: 'leave_start' | 'leave_end' | 'termination' | 'rehire', id: string, over = {}) => {
      const a = await t.tenure.sendEvent({
        eventId: id,
        kind,
        record: { ...record, ...over, sourceUpdatedAt: new Date().toISOString() },
      });
      assert.equal(a.outcome, 'accepted', JSON.stringify(a));
      const result = await resultWhenStarted(
        t.client.workflow.getHandle<typeof offboardingWorkflow>(eventWorkflowId(record.hrId, kind, id)),
      );
      await settled(record.hrId);
      return result;
    };
    await send('leave_start', `leave-${record.hrId}`, { status: 'on_leave' });
    assert.ok(accounts(record.hrId).length === 2 && accounts(record.hrId).every((u) => !u.active), 'suspended');
    const again = await t.tenure.sendEvent({
      eventId: `leave2-${record.hrId}`,
      kind: 'leave_start',
      record: { ...record, sourceUpdatedAt: new Date().toISOString() },
    });
    assert.equal(again.outcome, 'refused');
    await send('leave_end', `back-${record.hrId}`, { status: 'active' });
    assert.ok(accounts(record.hrId).length === 2 && accounts(record.hrId).every((u) => u.active), 'restored');

    // A leave that ends in termination, then a rehire: the same accounts come back, never a second one.
    await send('leave_start', `leave3-${record.hrId}`, { status: 'on_leave' });
    await send('termination', `exit-${record.hrId}`, { exitKind: 'involuntary', status: 'terminated' });
    assert.ok(accounts(record.hrId).every((u) => !u.active));
    const ids = accounts(record.hrId)
      .map((u) => u.id)
      .sort();
    const back = await send('rehire', `rehire-${record.hrId}`, { hireDate: '2025-10-01', status: 'active' });
    assert.equal(back.stage, 'completed');
    assert.deepEqual(
      back.steps.filter((x) => x.action === 'create_account').map((x) => x.outcome),
      ['adopted', 'adopted'],
    );
    assert.deepEqual(
      accounts(record.hrId)
        .map((u) => u.id)
        .sort(),
      ids,
      'the same accounts, reactivated',
    );
    assert.ok(accounts(record.hrId).every((u) => u.active));
  });

  it('a moved hire date re-arms the waiting onboarding; a date moved into the past runs at once, flagged late', async () => {
    const record = makeRecord({ hireDate: '2031-02-03' });
    const eventId = `hire-${record.hrId}`;
    const a = await t.tenure.sendEvent({ eventId, kind: 'hire', record });
    assert.equal(a.outcome, 'accepted');
    const run = t.client.workflow.getHandle<typeof offboardingWorkflow>(eventWorkflowId(record.hrId, 'hire', eventId));
    await waitFor(async () => (await run.query(onboardingStatusQuery)).stage === 'waiting_pre_provision');

    const later = await t.tenure.sendEvent({
      eventId: `move1-${record.hrId}`,
      kind: 'change',
      record: { ...record, hireDate: '2031-03-03', sourceUpdatedAt: new Date().toISOString() },
    });
    assert.equal(later.outcome, 'accepted', JSON.stringify(later));
    await waitFor(async () => (await run.query(onboardingStatusQuery)).effectiveAt.startsWith('2031-03-03'));
    assert.equal(accounts(record.hrId).length, 0, 'still waiting: nothing provisioned');

    const past = await t.tenure.sendEvent({
      eventId: `move2-${record.hrId}`,
      kind: 'change',
      record: { ...record, hireDate: '2025-01-06', sourceUpdatedAt: new Date().toISOString() },
    });
    assert.equal(past.outcome, 'accepted', JSON.stringify(past));
    const final = await run.result();
    assert.equal(final.stage, 'completed');
    assert.equal(final.late, true);
    assert.ok(accounts(record.hrId).length === 2 && accounts(record.hrId).every((u) => u.active));

    const title = await t.tenure.sendEvent({
      eventId: `title-${record.hrId}`,
      kind: 'change',
      record: { ...record, hireDate: '2025-01-06', title: 'Principal', sourceUpdatedAt: new Date().toISOString() },
    });
    // Once the hire took effect, a new title is a mover: it reaches every system.
    assert.equal(title.outcome, 'accepted', JSON.stringify(title));
    await resultWhenStarted(
      t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'change', `title-${record.hrId}`)),
    );
    assert.deepEqual(
      accounts(record.hrId).map((u) => [u.active, u.raw.title]),
      [
        [true, 'Principal'],
        [true, 'Principal'],
      ],
    );
  });
});
