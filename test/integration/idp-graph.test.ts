import assert from 'node:assert/strict';
import type { EmployeeRecord } from '../../src/domain/employee';
import { employeeWorkflowId, eventWorkflowId } from '../../src/domain/ids';
import { employeeStatusQuery } from '../../src/workflows/employee/messages';
import type { offboardingWorkflow } from '../../src/workflows/onboarding/onboarding';
import type { GraphStandin, GraphUserRecord } from '../peers/graph-standin';
import { startGraphStandin } from '../peers/graph-standin';
import { daysAgo, makeRecord } from '../helpers/records';
import { workflowBundle } from '../helpers/temporal';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { resultWhenStarted, waitFor } from '../helpers/wait';

/**
 * Microsoft Entra ID as the identity provider, through the native Graph connector against the Graph stand-in: the
 * joiner, the mover, a leave and the return, and the leaver, through the whole Tenure (signed webhook → intake →
 * entity → runs → activities). Each asserts the final state in Entra (as the stand-in holds it) and the audit
 * evidence: account disabled, sessions revoked and the Microsoft 365 licence reclaimed through assignLicense, each
 * read back.
 */
describe('identity provider on Microsoft Graph: joiner, mover, leave and leaver against Entra ID', function () {
  this.timeout(180_000);
  let g: GraphStandin;
  let t: TenureHarness;
  const managerHrId = `GM${Date.now().toString(36)}`;
  const newManagerHrId = `GN${Date.now().toString(36)}`;
  let managerId = '';
  let newManagerId = '';
  let allStaff = '';

  before(async () => {
    await workflowBundle();
    g = await startGraphStandin();
    allStaff = g.createGroup('All Staff');
    managerId = g.seedUser({
      userPrincipalName: `mara.lead.${managerHrId.toLowerCase()}@acme.example`,
      employeeId: managerHrId,
      givenName: 'Mara',
      surname: 'Lead',
    });
    newManagerId = g.seedUser({
      userPrincipalName: `nuno.head.${newManagerHrId.toLowerCase()}@acme.example`,
      employeeId: newManagerHrId,
      givenName: 'Nuno',
      surname: 'Head',
    });
    t = await startTenure({
      policy: (p) => ({
        ...p,
        systems: p.systems.map((s) =>
          s.id === 'idp'
            ? {
                ...s,
                licence: 'ENTERPRISEPACK',
                connector: {
                  type: 'graph',
                  tenantId: g.tenantId,
                  clientId: g.clientId,
                  clientSecretEnv: 'TENURE_TEST_GRAPH_SECRET',
                  authorityUrl: g.url,
                  graphUrl: g.url,
                  timeoutMs: 3_000,
                },
              }
            : s,
        ),
        birthright: [{ name: 'everyone', systems: [{ system: 'idp', groups: ['All Staff'] }, 'wiki'] }],
      }),
      vars: { TENURE_TEST_GRAPH_SECRET: g.clientSecret },
    });
  });
  after(async () => {
    await t?.stop();
    await g?.close();
  });

  /** The person's Entra user; never more than one. */
  function entraUser(hrId: string): GraphUserRecord | undefined {
    const users = g.users().filter((u) => u.employeeId === hrId);
    assert.ok(users.length <= 1, `${users.length} Entra users carry employeeId ${hrId}`);
    return users[0];
  }

  async function settled(hrId: string): Promise<void> {
    const entity = t.client.workflow.getHandle(employeeWorkflowId(hrId));
    await waitFor(async () => {
      const s = await entity.query(employeeStatusQuery);
      return s.current === undefined && s.queued === 0;
    });
  }

  type Kind = 'hire' | 'change' | 'leave_start' | 'leave_end' | 'termination';
  async function send(kind: Kind, record: EmployeeRecord, eventId: string) {
    const a = await t.tenure.sendEvent({
      eventId,
      kind,
      record: { ...record, sourceUpdatedAt: new Date().toISOString() },
    });
    assert.equal(a.outcome, 'accepted', JSON.stringify(a));
    const result = await resultWhenStarted(
      t.client.workflow.getHandle<typeof offboardingWorkflow>(eventWorkflowId(record.hrId, kind, eventId)),
    );
    await settled(record.hrId);
    return result;
  }

  async function hired(over: Partial<EmployeeRecord> = {}): Promise<EmployeeRecord> {
    const record = makeRecord({ hireDate: daysAgo(2), managerHrId, ...over });
    const run = await send('hire', record, `hire-${record.hrId}`);
    assert.equal(run.stage, 'completed', JSON.stringify(run.steps));
    return record;
  }

  async function evidenceOf(hrId: string) {
    const out = [];
    for await (const e of t.audit.stream({ hrId })) out.push(e);
    return out;
  }

  it('joiner: an Entra user keyed by employeeId, licensed, in its group, with its manager, enabled at hire', async () => {
    const record = await hired();
    const u = entraUser(record.hrId);
    assert.ok(u, 'the user exists');
    assert.equal(u.userPrincipalName, record.workEmail);
    assert.equal(u.accountEnabled, true);
    assert.deepEqual([u.givenName, u.surname, u.jobTitle, u.department], ['Ana', 'Lima', record.title, 'Engineering']);
    assert.equal(u.usageLocation, 'PT', 'usageLocation from the HR country');
    assert.equal(u.managerId, managerId, 'manager/$ref points at the manager’s Entra user');
    assert.deepEqual(g.licences(u.id), ['ENTERPRISEPACK']);
    assert.ok(g.groupMembers(allStaff)?.includes(u.id), 'in All Staff (resolved by displayName)');
    assert.ok(
      t.app.users().some((x) => x.externalId === record.hrId && x.active),
      'the wiki after the IdP',
    );

    const ev = await evidenceOf(record.hrId);
    const created = ev.find((e) => e.action === 'create_account' && e.systemId === 'idp');
    assert.equal(created?.outcome, 'created');
    assert.deepEqual(created?.readBack, { found: true, accountId: u.id, active: false, licences: ['ENTERPRISEPACK'] });
    assert.equal(created?.detail?.licence, 'ENTERPRISEPACK');
    assert.equal(created?.detail?.licenceAssignment, 'assigned');
    const activated = ev.find((e) => e.action === 'activate_account' && e.systemId === 'idp');
    assert.deepEqual(activated?.readBack, { found: true, accountId: u.id, active: true });
    assert.ok(!JSON.stringify(ev).includes('password'), 'no password in the evidence');
  });

  it('mover: title, department and manager are updated in Entra, the same user', async () => {
    const record = await hired();
    const before = entraUser(record.hrId);
    assert.equal(before?.managerId, managerId);
    const moved = { ...record, title: 'Engineering Manager', department: 'Platform', managerHrId: newManagerHrId };
    const run = await send('change', moved, `move-${record.hrId}`);
    assert.equal(run.stage, 'completed');
    assert.equal(run.steps.find((s) => s.id === 'update_account:idp')?.outcome, 'updated');
    const after = entraUser(record.hrId);
    assert.equal(after?.id, before?.id, 'no second user');
    assert.deepEqual(
      [after?.jobTitle, after?.department, after?.managerId, after?.accountEnabled],
      ['Engineering Manager', 'Platform', newManagerId, true],
    );
    const ev = await evidenceOf(record.hrId);
    const updated = ev.find((e) => e.action === 'update_account' && e.systemId === 'idp');
    assert.equal(updated?.outcome, 'updated');
    assert.deepEqual(updated?.readBack, { found: true, accountId: before?.id, active: true });
  });

  it('leave disables and the return re-enables; the leaver is disabled, signed out and unlicensed, each read back', async () => {
    const record = await hired();
    const id = entraUser(record.hrId)?.id ?? '';

    await send('leave_start', { ...record, status: 'on_leave' }, `leave-${record.hrId}`);
    assert.equal(entraUser(record.hrId)?.accountEnabled, false, 'disabled for the leave');
    assert.deepEqual(g.licences(id), ['ENTERPRISEPACK'], 'a leave keeps the licence');
    await send('leave_end', { ...record, status: 'active' }, `back-${record.hrId}`);
    assert.equal(entraUser(record.hrId)?.accountEnabled, true, 're-enabled on return');

    // Signed in on some device; then fired.
    g.openSession(id);
    assert.equal(g.activeSessions(id), 1);
    const exit = await send(
      'termination',
      { ...record, status: 'terminated', exitKind: 'involuntary' },
      `exit-${record.hrId}`,
    );
    assert.equal(exit.stage, 'completed', JSON.stringify(exit.steps));
    const u = entraUser(record.hrId);
    assert.equal(u?.id, id);
    assert.equal(u?.accountEnabled, false, 'disabled');
    assert.equal(g.activeSessions(id), 0, 'sessions revoked');
    assert.deepEqual(g.licences(id), [], 'licence reclaimed');
    assert.ok(!t.app.users().some((x) => x.externalId === record.hrId && x.active), 'the wiki is off too');

    const ev = await evidenceOf(record.hrId);
    const disabled = ev.filter((e) => e.action === 'disable_account' && e.systemId === 'idp');
    assert.ok(disabled.some((e) => e.outcome === 'disabled' && e.readBack?.active === false));
    const revoked = ev.filter((e) => e.action === 'revoke_sessions' && e.systemId === 'idp');
    const last = revoked[revoked.length - 1];
    assert.equal(last?.outcome, 'revoked');
    assert.deepEqual(last?.readBack, {
      sessions: { signInSessionsValidFromDateTime: u?.signInSessionsValidFromDateTime },
    });
    const reclaimed = ev.find((e) => e.action === 'reclaim_licence' && e.systemId === 'idp');
    assert.equal(reclaimed?.outcome, 'reclaimed');
    assert.equal(reclaimed?.detail?.licence, 'ENTERPRISEPACK');
    assert.equal(reclaimed?.detail?.assignment, 'removed');
    assert.deepEqual(reclaimed?.readBack, { found: true, accountId: id, active: false, licences: [] });
    const verified = ev.find((e) => e.action === 'verify_exit');
    assert.equal(verified?.outcome, 'verified_inactive');
    assert.equal(
      g.skus().find((s) => s.skuPartNumber === 'ENTERPRISEPACK')?.consumed,
      g.users().filter((x) => x.assignedLicenses.length > 0).length,
      'the seat is free again',
    );
  });

  it('a hire against a throttled, lagging directory: retried after Retry-After, one licensed user, enabled', async () => {
    // New users reach Graph's query replicas 8 s late; the create is throttled once, then its answer is lost (the
    // user is created, the answer comes after the connector's 3 s timeout).
    g.faults.replicationLag(8_000);
    g.faults.next(1, { method: 'POST', path: /^\/v1\.0\/users$/, status: 429, retryAfter: 1 });
    g.faults.delayResponse(1, 5_000, { method: 'POST', path: /^\/v1\.0\/users$/ });
    try {
      const record = await hired();
      const u = entraUser(record.hrId);
      assert.ok(u);
      assert.equal(u.accountEnabled, true);
      assert.deepEqual(g.licences(u.id), ['ENTERPRISEPACK']);
      assert.equal(g.users().filter((x) => x.userPrincipalName === record.workEmail).length, 1, 'never a second user');
      const creates = g.requests().filter((x) => x.method === 'POST' && x.path === '/v1.0/users');
      assert.ok(
        creates.some((x) => x.status === 429),
        'the throttled create was seen',
      );
      assert.ok(
        creates.some((x) => x.status === 400),
        'a retry that could not see the lost create met ObjectConflict and adopted',
      );
      const ev = await evidenceOf(record.hrId);
      const created = ev.find((e) => e.action === 'create_account' && e.systemId === 'idp' && e.readBack);
      assert.equal(created?.readBack?.active, false);
      assert.deepEqual(created?.readBack?.licences, ['ENTERPRISEPACK']);
    } finally {
      g.faults.clear();
    }
  });
});
