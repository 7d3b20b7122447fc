import assert from 'node:assert/strict';
import type { EmployeeRecord } from '../../src/domain/employee';
import { employeeWorkflowId, eventWorkflowId } from '../../src/domain/ids';
import { employeeStatusQuery } from '../../src/workflows/employee/messages';
import type { offboardingWorkflow } from '../../src/workflows/onboarding/onboarding';
import type { GoogleStandin, StandinUser } from '../peers/google-standin';
import { startGoogleWorkspace } from '../peers/google-standin';
import { daysAgo, makeRecord } from '../helpers/records';
import { buttonsFor, clickAs } from '../helpers/slack-clicks';
import { workflowBundle } from '../helpers/temporal';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { resultWhenStarted, waitFor } from '../helpers/wait';

/**
 * Google Workspace as the identity provider, through the native Google connector (service account, domain-wide
 * delegation) against the Google stand-in: the joiner, the mover, a leave and the return, and the leaver whose Drive
 * and Calendar go to the manager through the Data Transfer API once the manager accepts in Slack — through the whole
 * Tenure (signed webhook → intake → entity → runs → activities). Each asserts the final state in Google (as the
 * stand-in holds it) and the audit evidence.
 */
describe('identity provider on Google Workspace: joiner, mover, leave and leaver with a Drive hand-over', function () {
  this.timeout(180_000);
  const ADMIN = 'it.admin@acme.example';
  const ALL_STAFF = 'all-staff@acme.example';
  let g: GoogleStandin;
  let t: TenureHarness;
  const managerHrId = `GGM${Date.now().toString(36)}`;
  const managerEmail = `maria.boss.${managerHrId.toLowerCase()}@acme.example`;
  let managerId = '';

  before(async () => {
    await workflowBundle();
    const ws = await startGoogleWorkspace({
      admins: [ADMIN],
      domains: ['acme.example'],
      orgUnits: ['/Engineering', '/Engineering/Lisbon', '/Sales'],
      // A transfer takes a while: the first read-back finds it in progress, Temporal's retry finds it complete.
      transferCompletesAfterMs: 1500,
    });
    g = ws.standin;
    g.createGroup(ALL_STAFF, 'All staff');
    managerId = g.seedUser({
      primaryEmail: managerEmail,
      givenName: 'Maria',
      familyName: 'Boss',
      hrId: managerHrId,
    }).id;
    t = await startTenure({
      slack: true,
      policy: (p) => ({
        ...p,
        people: {
          teams: { 'it-team': ['ivo.it@acme.example'] },
          fallbackApprovers: ['fiona.fallback@acme.example'],
          approvals: { sla: '1h', remindEvery: '30m', escalationSla: '1h' },
          tasks: { sla: '1h', remindEvery: '30m' },
        },
        systems: p.systems.map((s) =>
          s.id === 'idp'
            ? {
                ...s,
                owner: 'it-team',
                connector: {
                  type: 'google',
                  domain: 'acme.example',
                  adminSubject: ADMIN,
                  serviceAccountKeyEnv: 'TENURE_TEST_GOOGLE_KEY',
                  directoryUrl: g.url,
                  orgUnitRules: [
                    { department: 'Engineering', location: 'Lisbon', orgUnitPath: '/Engineering/Lisbon' },
                    { department: 'Sales', orgUnitPath: '/Sales' },
                  ],
                },
                dataHandover: {
                  method: 'api' as const,
                  instructions: "The leaver's Drive files and Calendar go to the manager.",
                },
              }
            : s,
        ),
        birthright: [{ name: 'everyone', systems: [{ system: 'idp', groups: [ALL_STAFF] }, 'wiki'] }],
      }),
      vars: { TENURE_TEST_GOOGLE_KEY: ws.serviceAccountKey },
    });
    t.slack?.addUser({ id: 'UMARIA', email: managerEmail, name: 'maria' });
    t.slack?.addUser({ id: 'UIVO', email: 'ivo.it@acme.example', name: 'ivo' });
    t.slack?.addUser({ id: 'UFIONA', email: 'fiona.fallback@acme.example', name: 'fiona' });
  });
  after(async () => {
    await t?.stop();
    await g?.close();
  });

  /** The person's Google user; never more than one. */
  function googleUser(hrId: string): StandinUser | undefined {
    const users = g
      .users()
      .filter((u) => (u.externalIds ?? []).some((e) => e.type === 'organization' && e.value === hrId));
    assert.ok(users.length <= 1, `${users.length} Google users carry HR id ${hrId}`);
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
  function runOf(hrId: string, kind: Kind, eventId: string) {
    return t.client.workflow.getHandle<typeof offboardingWorkflow>(eventWorkflowId(hrId, kind, eventId));
  }
  async function accepted(kind: Kind, record: EmployeeRecord, eventId: string): Promise<void> {
    const a = await t.tenure.sendEvent({
      eventId,
      kind,
      record: { ...record, sourceUpdatedAt: new Date().toISOString() },
    });
    assert.equal(a.outcome, 'accepted', JSON.stringify(a));
  }
  async function send(kind: Kind, record: EmployeeRecord, eventId: string) {
    await accepted(kind, record, eventId);
    const result = await resultWhenStarted(runOf(record.hrId, kind, eventId));
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

  it('joiner: a Google user keyed by the HR id, in the mapped OU and All staff, created suspended then unsuspended', async () => {
    const record = await hired();
    const u = googleUser(record.hrId);
    assert.ok(u, 'the user exists');
    assert.equal(u.primaryEmail, record.workEmail);
    assert.deepEqual(u.externalIds, [{ type: 'organization', value: record.hrId }]);
    assert.equal(u.orgUnitPath, '/Engineering/Lisbon', 'OU from department and location');
    assert.equal(u.suspended, false, 'unsuspended at the hire instant');
    assert.deepEqual(u.relations, [{ type: 'manager', value: managerEmail }], 'the manager, by address');
    assert.deepEqual([u.name.givenName, u.name.familyName], ['Ana', 'Lima']);
    assert.deepEqual(
      u.organizations?.map((o) => [o.title, o.department]),
      [[record.title, 'Engineering']],
    );
    assert.ok(g.groupMembers(ALL_STAFF).includes(u.id), 'in All staff (by the group email)');
    assert.ok(
      t.app.users().some((x) => x.externalId === record.hrId && x.active),
      'the wiki after the IdP',
    );
    const insert = g
      .requests()
      .find(
        (r) =>
          r.method === 'POST' && (r.body as { primaryEmail?: string } | undefined)?.primaryEmail === record.workEmail,
      );
    assert.equal((insert?.body as { suspended?: boolean }).suspended, true, 'created suspended');

    const ev = await evidenceOf(record.hrId);
    const created = ev.find((e) => e.action === 'create_account' && e.systemId === 'idp');
    assert.equal(created?.outcome, 'created');
    assert.deepEqual(created?.readBack, { found: true, accountId: u.id, active: false });
    const activated = ev.find((e) => e.action === 'activate_account' && e.systemId === 'idp');
    assert.deepEqual(activated?.readBack, { found: true, accountId: u.id, active: true });
    assert.ok(!JSON.stringify(ev).toLowerCase().includes('password'), 'no password in the evidence');
  });

  it('mover: moved to the new OU, title and department updated, the same user', async () => {
    const record = await hired();
    const before = googleUser(record.hrId);
    assert.equal(before?.orgUnitPath, '/Engineering/Lisbon');
    const run = await send(
      'change',
      { ...record, department: 'Sales', title: 'Account Executive' },
      `move-${record.hrId}`,
    );
    assert.equal(run.stage, 'completed', JSON.stringify(run.steps));
    assert.equal(run.steps.find((s) => s.id === 'update_account:idp')?.outcome, 'updated');
    const after = googleUser(record.hrId);
    assert.equal(after?.id, before?.id, 'no second user');
    assert.equal(after?.orgUnitPath, '/Sales');
    assert.deepEqual(
      after?.organizations?.map((o) => [o.title, o.department, o.primary]),
      [['Account Executive', 'Sales', true]],
    );
    assert.equal(after?.suspended, false);
    const ev = await evidenceOf(record.hrId);
    const updated = ev.find((e) => e.action === 'update_account' && e.systemId === 'idp');
    assert.equal(updated?.outcome, 'updated');
    assert.deepEqual(updated?.readBack, { found: true, accountId: before?.id, active: true });
  });

  it('leave suspends, the return unsuspends, each read back', async () => {
    const record = await hired();
    const id = googleUser(record.hrId)?.id;
    await send('leave_start', { ...record, status: 'on_leave' }, `leave-${record.hrId}`);
    assert.equal(googleUser(record.hrId)?.suspended, true, 'suspended for the leave');
    await send('leave_end', { ...record, status: 'active' }, `back-${record.hrId}`);
    assert.equal(googleUser(record.hrId)?.suspended, false, 'unsuspended on return');
    assert.equal(googleUser(record.hrId)?.id, id);
    const ev = await evidenceOf(record.hrId);
    const disabled = ev.find((e) => e.action === 'disable_account' && e.systemId === 'idp');
    assert.deepEqual(disabled?.readBack, { found: true, accountId: id, active: false });
    const back = ev.filter((e) => e.action === 'activate_account' && e.systemId === 'idp').at(-1);
    assert.deepEqual(back?.readBack, { found: true, accountId: id, active: true });
  });

  it('leaver: suspended and signed out, then Drive and Calendar go to the manager once she accepts in Slack', async () => {
    const record = await hired();
    const id = googleUser(record.hrId)?.id ?? '';
    g.openSession(id);
    assert.equal(g.activeSessions(id), 1);
    const before = buttonsFor(t.slack, 'UMARIA').length;
    const exitId = `exit-${record.hrId}`;
    await accepted('termination', { ...record, status: 'terminated', exitKind: 'involuntary' }, exitId);
    await waitFor(
      () => buttonsFor(t.slack, 'UMARIA').length === before + 1,
      30_000,
      'hand-over request to the manager',
    );
    // Revocation does not wait for people: suspended and signed out before anyone answers.
    await waitFor(() => g.user(id)?.suspended === true && g.signOuts(id) === 1, 30_000, 'suspended and signed out');
    assert.equal(g.transfers().length, 0, 'no data moves before the manager accepts');

    const request = buttonsFor(t.slack, 'UMARIA').at(-1);
    assert.ok(request);
    assert.match(JSON.stringify(request.blocks), /Data hand-over/);
    assert.equal((await clickAs(t, request, 'UMARIA', 'approve')).status, 200);

    const final = await resultWhenStarted(runOf(record.hrId, 'termination', exitId));
    assert.equal(final.stage, 'completed', JSON.stringify(final.steps));
    const step = (sid: string) => final.steps.find((s) => s.id === sid);
    assert.equal(step('approve_handover:idp')?.outcome, 'approved');
    assert.equal(step('transfer_data:idp')?.outcome, 'transferred');

    // Google, as the stand-in holds it.
    const u = g.user(id);
    assert.equal(u?.suspended, true, 'suspended');
    assert.equal(g.activeSessions(id), 0, 'signed out');
    const transfers = g.transfers().filter((x) => x.oldOwnerUserId === id);
    assert.equal(transfers.length, 1, 'one transfer, however often it was read back');
    const [transfer] = transfers;
    assert.equal(transfer?.newOwnerUserId, managerId);
    assert.equal(transfer?.overallTransferStatusCode, 'completed');
    assert.deepEqual(transfer?.applicationDataTransfers.map((a) => a.applicationId).sort(), [
      '435070579839',
      '55656082996',
    ]);
    assert.ok(!t.app.users().some((x) => x.externalId === record.hrId && x.active), 'the wiki is off too');

    // The evidence.
    const ev = await evidenceOf(record.hrId);
    const disabled = ev.find((e) => e.action === 'disable_account' && e.systemId === 'idp');
    assert.equal(disabled?.outcome, 'disabled');
    assert.deepEqual(disabled?.readBack, { found: true, accountId: id, active: false });
    const revoked = ev.find((e) => e.action === 'revoke_sessions' && e.systemId === 'idp');
    assert.equal(revoked?.outcome, 'revoked');
    assert.match(String(revoked?.detail?.sessions), /signOut -> 204.*no field to read this back/);
    const transferEvidence = ev.filter((e) => e.action === 'transfer_data' && e.systemId === 'idp');
    // The first read-back found the transfer in progress: recorded, and retried by Temporal until complete.
    const inProgress = transferEvidence.find((e) => e.outcome === 'retrying');
    assert.match(String(inProgress?.detail?.error), /data transfer \S+ is inProgress/);
    assert.ok(!String(inProgress?.detail?.error).includes('@'), 'no address in the error');
    const moved = transferEvidence.find((e) => e.outcome === 'transferred');
    assert.ok(moved, 'the transfer is recorded complete');
    assert.equal(moved?.detail?.transferId, transfer?.id);
    assert.equal(moved?.detail?.to, managerHrId);
    assert.deepEqual(moved?.readBack, { transferId: transfer?.id, status: 'completed' });
    assert.ok(ev.some((e) => e.action === 'approval_decided' && e.outcome === 'approved'));
    assert.equal(ev.find((e) => e.action === 'verify_exit')?.outcome, 'verified_inactive');
  });
});
