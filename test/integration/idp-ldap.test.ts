import assert from 'node:assert/strict';
import { EqualityFilter, type Entry } from 'ldapts';
import type { EmployeeRecord } from '../../src/domain/employee';
import { employeeWorkflowId, eventWorkflowId } from '../../src/domain/ids';
import { employeeStatusQuery } from '../../src/workflows/employee/messages';
import { onboardingStatusQuery } from '../../src/workflows/onboarding/messages';
import type { offboardingWorkflow, onboardingWorkflow } from '../../src/workflows/onboarding/onboarding';
import { ldapConnectorConfig, seedLdap } from '../conformance/ldap.fixture';
import { daysAgo, instantFromNow, makeRecord } from '../helpers/records';
import { workflowBundle } from '../helpers/temporal';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { resultWhenStarted, waitFor } from '../helpers/wait';
import { startSlapd, type Slapd } from '../peers/slapd';

/**
 * Active Directory as the identity provider, through the native LDAP connector against a real slapd carrying AD's
 * attributes: the joiner (created disabled, enabled at the hire instant), the mover (department → another OU, new
 * title and manager), a leave and the return, and the leaver — through the whole Tenure (signed webhook → intake →
 * entity → runs → activities). Each asserts the directory's final state, read as its administrator, and the evidence.
 */
describe('identity provider on Active Directory (LDAP): joiner, mover, leave and leaver against slapd', function () {
  this.timeout(180_000);
  const tz = 'Europe/Lisbon';
  let slapd: Slapd;
  let t: TenureHarness;
  let when: ReturnType<typeof instantFromNow>;
  const managerHrId = `LM${Date.now().toString(36)}`;
  const newManagerHrId = `LN${Date.now().toString(36)}`;
  let managerDn = '';
  let newManagerDn = '';

  before(async () => {
    await workflowBundle();
    slapd = await startSlapd({ mode: 'ad', groups: ['All Staff'] });
    await seedLdap(
      slapd,
      { hrId: managerHrId, userName: 'mara.lead@acme.example', givenName: 'Mara', familyName: 'Lead', active: true },
      'Engineering',
    );
    await seedLdap(
      slapd,
      { hrId: newManagerHrId, userName: 'nuno.head@acme.example', givenName: 'Nuno', familyName: 'Head', active: true },
      'Sales',
    );
    managerDn = (await slapd.find(`(employeeID=${managerHrId})`))[0]?.dn ?? '';
    newManagerDn = (await slapd.find(`(employeeID=${newManagerHrId})`))[0]?.dn ?? '';
    when = instantFromNow(40, tz);
    t = await startTenure({
      activationTime: when.activationTime,
      policy: (p) => ({
        ...p,
        timing: { ...p.timing, preProvisionDays: 1 },
        systems: p.systems.map((s) =>
          s.id === 'idp'
            ? {
                ...s,
                connector: ldapConnectorConfig(slapd, slapd.url, {
                  bindPasswordEnv: 'TENURE_TEST_LDAP_BIND_PASSWORD',
                  timeoutMs: 10_000,
                }) as never,
              }
            : s,
        ),
        birthright: [{ name: 'everyone', systems: [{ system: 'idp', groups: ['All Staff'] }, 'wiki'] }],
      }),
      vars: { TENURE_TEST_LDAP_BIND_PASSWORD: slapd.servicePassword },
    });
  });
  after(async () => {
    await t?.stop();
    await slapd?.stop();
  });

  /** The person's AD user, read as the directory's administrator; never more than one. */
  async function adUser(hrId: string): Promise<Entry | undefined> {
    const users = await slapd.find(`(&(objectClass=user)(employeeID=${hrId}))`);
    assert.ok(users.length <= 1, `${users.length} users carry employeeID ${hrId}`);
    return users[0];
  }
  const uac = async (hrId: string) => Number((await adUser(hrId))?.userAccountControl);
  const inAllStaff = async (dn: string) =>
    (await slapd.find(new EqualityFilter({ attribute: 'member', value: dn }), slapd.groupsDn)).some(
      (g) => g.dn === slapd.groupDn('All Staff'),
    );
  const wikiActive = (hrId: string) => t.app.users().some((x) => x.externalId === hrId && x.active);

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

  it('joiner: created disabled (514) in its OU a day ahead, with its manager and group; enabled at the hire instant', async () => {
    const record = makeRecord({
      hireDate: when.hireDate,
      managerHrId,
      location: { name: 'Lisbon', countryCode: 'PT', timeZone: tz },
    });
    const eventId = `hire-${record.hrId}`;
    const a = await t.tenure.sendEvent({ eventId, kind: 'hire', record });
    assert.equal(a.outcome, 'accepted', JSON.stringify(a));
    const run = t.client.workflow.getHandle<typeof onboardingWorkflow>(eventWorkflowId(record.hrId, 'hire', eventId));
    await waitFor(async () => (await run.query(onboardingStatusQuery)).stage === 'waiting', 60_000, 'pre-provisioning');
    assert.ok(Date.now() < when.at.getTime(), 'pre-provisioning finished before the hire instant');

    const u = await adUser(record.hrId);
    assert.ok(u, 'the AD user exists before the instant');
    assert.equal(u.userAccountControl, '514', 'NORMAL_ACCOUNT | ACCOUNTDISABLE');
    assert.equal(u.dn, `cn=Ana Lima,${slapd.ouDn('Engineering')}`, 'in the OU its department maps to');
    assert.equal(u.userPrincipalName, record.workEmail);
    assert.equal(u.sAMAccountName, (record.workEmail ?? '').split('@')[0]?.slice(0, 20));
    assert.deepEqual([u.givenName, u.sn, u.title, u.department], ['Ana', 'Lima', record.title, 'Engineering']);
    assert.equal(u.manager, managerDn, 'manager is the manager’s DN');
    assert.ok(await inAllStaff(u.dn), 'in All Staff (group by cn, member DN)');
    assert.equal(wikiActive(record.hrId), false, 'the wiki waits, disabled');

    const final = await run.result();
    assert.equal(final.stage, 'completed', JSON.stringify(final.steps));
    assert.equal(await uac(record.hrId), 512, 'enabled: only ACCOUNTDISABLE cleared');
    assert.ok(wikiActive(record.hrId), 'the wiki after the IdP');
    const activatedAt = Date.parse(final.steps.find((s) => s.id === 'activate_account:idp')?.startedAt ?? '');
    assert.ok(activatedAt >= when.at.getTime(), 'enabled no earlier than the hire instant');

    const ev = await evidenceOf(record.hrId);
    const id = String(u.entryUUID);
    const created = ev.find((e) => e.action === 'create_account' && e.systemId === 'idp');
    assert.equal(created?.outcome, 'created');
    assert.deepEqual(created?.readBack, { found: true, accountId: id, active: false });
    const activated = ev.find((e) => e.action === 'activate_account' && e.systemId === 'idp');
    assert.deepEqual(activated?.readBack, { found: true, accountId: id, active: true });
    assert.ok(!JSON.stringify(ev).includes(slapd.servicePassword), 'no bind password in the evidence');
  });

  it('mover: a department change moves the user to the new OU (same user), title and manager follow', async () => {
    const record = await hired();
    const before = await adUser(record.hrId);
    assert.ok(before?.dn.endsWith(slapd.ouDn('Engineering')), 'starts in the Engineering OU');
    const moved = { ...record, title: 'Account Executive', department: 'Sales', managerHrId: newManagerHrId };
    const run = await send('change', moved, `move-${record.hrId}`);
    assert.equal(run.stage, 'completed', JSON.stringify(run.steps));
    assert.equal(run.steps.find((s) => s.id === 'update_account:idp')?.outcome, 'updated');
    const after = await adUser(record.hrId);
    assert.equal(after?.entryUUID, before?.entryUUID, 'no second user');
    assert.equal(after?.dn, `cn=${String(before?.cn)},${slapd.ouDn('Sales')}`, 'moved to the Sales OU');
    assert.deepEqual(
      [after?.title, after?.department, after?.manager, after?.userAccountControl],
      ['Account Executive', 'Sales', newManagerDn, '512'],
    );
    assert.ok(await inAllStaff(after?.dn ?? ''), 'group membership follows the move (member DN renamed)');
    const ev = await evidenceOf(record.hrId);
    const updated = ev.find((e) => e.action === 'update_account' && e.systemId === 'idp');
    assert.equal(updated?.outcome, 'updated');
    assert.deepEqual(updated?.readBack, { found: true, accountId: before?.entryUUID, active: true });
  });

  it('leave disables and the return re-enables; the leaver is disabled, sessions not_supported, read back', async () => {
    const record = await hired();
    const id = String((await adUser(record.hrId))?.entryUUID);

    await send('leave_start', { ...record, status: 'on_leave' }, `leave-${record.hrId}`);
    assert.equal(await uac(record.hrId), 514, 'disabled for the leave');
    assert.equal(wikiActive(record.hrId), false);
    await send('leave_end', { ...record, status: 'active' }, `back-${record.hrId}`);
    assert.equal(await uac(record.hrId), 512, 're-enabled on return');
    assert.ok(wikiActive(record.hrId));

    const exit = await send(
      'termination',
      { ...record, status: 'terminated', exitKind: 'involuntary' },
      `exit-${record.hrId}`,
    );
    assert.equal(exit.stage, 'completed', JSON.stringify(exit.steps));
    const u = await adUser(record.hrId);
    assert.equal(u?.entryUUID, id, 'the same user');
    assert.equal(u?.userAccountControl, '514', 'disabled');
    assert.equal(wikiActive(record.hrId), false, 'the wiki is off too');

    const ev = await evidenceOf(record.hrId);
    const disabled = ev.filter((e) => e.action === 'disable_account' && e.systemId === 'idp');
    assert.deepEqual(
      disabled.map((e) => [e.outcome, e.readBack?.active]),
      [
        ['disabled', false],
        ['disabled', false],
      ],
      'the leave and the exit, each read back inactive',
    );
    const sessions = ev.filter((e) => e.action === 'revoke_sessions' && e.systemId === 'idp');
    assert.ok(sessions.length >= 1, 'the exit asked to end sessions');
    for (const s of sessions) {
      assert.equal(s.outcome, 'not_supported');
      assert.match(String(s.detail?.sessions), /no LDAP operation that ends sessions.*Kerberos/);
    }
    const verified = ev.find((e) => e.action === 'verify_exit');
    assert.equal(verified?.outcome, 'verified_inactive');
    assert.deepEqual(verified?.readBack, {
      systems: { idp: { found: true, active: false }, wiki: { found: true, active: false } },
    });
  });
});
