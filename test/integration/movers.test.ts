import assert from 'node:assert/strict';
import { ScimConnector, SCIM_ENTERPRISE_USER_SCHEMA } from '../../src/activities/scim/client';
import type { ScimPeer, ScimUserRecord } from '../../src/dev/scim-peer';
import type { EmployeeRecord } from '../../src/domain/employee';
import { employeeWorkflowId, eventWorkflowId } from '../../src/domain/ids';
import { employeeStatusQuery } from '../../src/workflows/employee/messages';
import type { OnboardingStatus } from '../../src/workflows/onboarding/messages';
import { onboardingStatusQuery } from '../../src/workflows/onboarding/messages';
import type { offboardingWorkflow } from '../../src/workflows/onboarding/onboarding';
import { instantFromNow, makeRecord } from '../helpers/records';
import { workflowBundle } from '../helpers/temporal';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { resultWhenStarted, waitFor } from '../helpers/wait';

/**
 * The hard cases of issue 8 on the real dev server and SCIM peers, one test per case, each asserting the final
 * state of every system: movers (grants now, revocations after the grace period, attributes everywhere),
 * conversion, moved and back-dated exits, changes during offboarding, and the leaver's sessions, licences and
 * retention deletion. (Leaves, rehires, cancelled hires, moved hire dates and out-of-order webhooks: leaver.test.ts.)
 */
describe('movers and the hard cases: every system ends as HR says', function () {
  this.timeout(240_000);
  const tz = 'Europe/Lisbon';
  const GRACE_S = 12;
  const RETENTION_S = 12;
  let t: TenureHarness;
  let exit: ReturnType<typeof instantFromNow>;
  const managerHrId = `MGR${Date.now().toString(36)}M`;
  const WIKI_GROUPS = ['all-staff', 'employees', 'eng-wiki', 'sales-wiki', 'wiki-seats'];
  const wikiGroups = new Map<string, string>();

  before(async () => {
    await workflowBundle();
    // The moved-exit case moves an exit to this instant: the policy's exit hour on its date.
    exit = instantFromNow(30, tz);
    t = await startTenure({
      extraApps: ['crm', 'code'],
      idpSessions: true,
      policy: (p) => ({
        ...p,
        timing: { ...p.timing, exitTime: exit.activationTime, moverGrace: `${GRACE_S}s`, retention: `${RETENTION_S}s` },
        systems: p.systems.map((s) =>
          s.id === 'wiki' ? { ...s, licence: 'wiki-seat', licenceGroup: 'wiki-seats' } : s,
        ),
        birthright: [
          { name: 'everyone', systems: ['idp', { system: 'wiki', groups: ['all-staff'] }] },
          {
            name: 'employees',
            match: { employmentType: ['employee'] },
            systems: [{ system: 'wiki', groups: ['employees'] }],
          },
          {
            name: 'engineering',
            match: { department: ['Engineering'] },
            systems: [
              { system: 'code', groups: ['engineers'] },
              { system: 'wiki', groups: ['eng-wiki'] },
            ],
          },
          {
            name: 'sales',
            match: { department: ['Sales'] },
            systems: ['crm', { system: 'wiki', groups: ['sales-wiki'] }],
          },
        ],
      }),
    });
    for (const g of WIKI_GROUPS) wikiGroups.set(g, t.app.createGroup(g));
    t.apps.code?.createGroup('engineers');
    // The manager has accounts in the identity provider and the wiki.
    for (const [systemId, peer] of [
      ['idp', t.idp],
      ['wiki', t.app],
    ] as const) {
      await new ScimConnector({ systemId, baseUrl: peer.url }).ensureAccount({
        hrId: managerHrId,
        userName: 'mara.lead@acme.example',
        givenName: 'Mara',
        familyName: 'Lead',
        active: true,
      });
    }
  });
  after(async () => {
    await t?.stop();
  });

  const peers = (): Record<string, ScimPeer> => ({ idp: t.idp, wiki: t.app, crm: t.apps.crm!, code: t.apps.code! });

  /** Each system's account(s) for this person. */
  const accountsIn = (hrId: string): Record<string, ScimUserRecord[]> =>
    Object.fromEntries(Object.entries(peers()).map(([id, p]) => [id, p.users().filter((u) => u.externalId === hrId)]));

  /** Every system's state for this person: `active`, `inactive` or `none` (and never two accounts). */
  function systemsOf(hrId: string): Record<string, 'active' | 'inactive' | 'none'> {
    const out: Record<string, 'active' | 'inactive' | 'none'> = {};
    for (const [id, list] of Object.entries(accountsIn(hrId))) {
      assert.ok(list.length <= 1, `${id} holds ${list.length} accounts for ${hrId}`);
      out[id] = list[0] ? (list[0].active ? 'active' : 'inactive') : 'none';
    }
    return out;
  }

  function wikiGroupsOf(hrId: string): string[] {
    const account = accountsIn(hrId).wiki?.[0];
    if (!account) return [];
    return WIKI_GROUPS.filter((g) => (t.app.groupMembers(wikiGroups.get(g) ?? '') ?? []).includes(account.id));
  }

  async function send(kind: 'hire' | 'change' | 'termination', record: EmployeeRecord, eventId: string) {
    return t.tenure.sendEvent({ eventId, kind, record: { ...record, sourceUpdatedAt: new Date().toISOString() } });
  }

  async function hired(over: Partial<EmployeeRecord>): Promise<EmployeeRecord> {
    const record = makeRecord({
      hireDate: '2025-03-03',
      managerHrId,
      location: { name: 'Lisbon', countryCode: 'PT', timeZone: tz },
      ...over,
    });
    const a = await send('hire', record, `hire-${record.hrId}`);
    assert.equal(a.outcome, 'accepted', JSON.stringify(a));
    await resultWhenStarted(t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'hire', `hire-${record.hrId}`)));
    // A contractor's end date keeps their exit waiting as the entity's current run.
    if (!record.exitDate) await settled(record.hrId);
    return record;
  }

  /** The entity has taken note of its finished child: nothing running, nothing queued. */
  async function settled(hrId: string): Promise<void> {
    const entity = t.client.workflow.getHandle(employeeWorkflowId(hrId));
    await waitFor(async () => {
      const s = await entity.query(employeeStatusQuery);
      return s.current === undefined && s.queued === 0;
    });
  }

  const entityStatus = (hrId: string) =>
    t.client.workflow.getHandle(employeeWorkflowId(hrId)).query(employeeStatusQuery);

  const run = (hrId: string, kind: 'change' | 'termination', eventId: string) =>
    t.client.workflow.getHandle<typeof offboardingWorkflow>(eventWorkflowId(hrId, kind, eventId));

  async function evidenceOf(hrId: string) {
    const out = [];
    for await (const e of t.audit.stream({ hrId })) out.push(e);
    return out;
  }

  const stepOf = (s: OnboardingStatus, id: string) => s.steps.find((x) => x.id === id);

  it('moved exit date: an exit moved earlier takes effect at the new instant and not before', async () => {
    const r = await hired({ department: 'Sales' });
    const first = await send('termination', { ...r, status: 'terminated', exitDate: '2031-12-31' }, `exit-${r.hrId}`);
    assert.equal(first.outcome, 'accepted', JSON.stringify(first));
    const handle = run(r.hrId, 'termination', `exit-${r.hrId}`);
    await waitFor(async () => (await handle.query(onboardingStatusQuery)).stage === 'waiting');

    const earlier = await send('change', { ...r, status: 'terminated', exitDate: exit.hireDate }, `sooner-${r.hrId}`);
    assert.equal(earlier.outcome, 'accepted', JSON.stringify(earlier));
    assert.match(earlier.outcome === 'accepted' ? (earlier.reason ?? '') : '', /exit moved to/);
    await waitFor(async () => (await handle.query(onboardingStatusQuery)).effectiveAt === exit.at.toISOString());
    assert.deepEqual(systemsOf(r.hrId), { idp: 'active', wiki: 'active', crm: 'active', code: 'none' });

    const final = await resultWhenStarted(handle, 90_000);
    assert.equal(final.stage, 'completed');
    assert.equal(final.late, false);
    assert.ok(Date.parse(final.steps[0]?.startedAt ?? '') >= exit.at.getTime(), 'not before the new instant');
    assert.deepEqual(systemsOf(r.hrId), { idp: 'inactive', wiki: 'inactive', crm: 'inactive', code: 'none' });
  });

  it('mover: grants the new role at once, updates attributes everywhere, revokes the old role after the grace period', async () => {
    const r = await hired({ department: 'Engineering', title: 'Software Engineer' });
    assert.deepEqual(systemsOf(r.hrId), { idp: 'active', wiki: 'active', crm: 'none', code: 'active' });
    assert.deepEqual(wikiGroupsOf(r.hrId), ['all-staff', 'employees', 'eng-wiki', 'wiki-seats']);
    const ids = Object.fromEntries(Object.entries(accountsIn(r.hrId)).map(([k, v]) => [k, v[0]?.id]));

    const moved = { ...r, department: 'Sales', title: 'Account Executive' };
    const a = await send('change', moved, `move-${r.hrId}`);
    assert.equal(a.outcome, 'accepted', JSON.stringify(a));
    assert.match(a.outcome === 'accepted' ? (a.reason ?? '') : '', /department: Engineering → Sales/);
    assert.match(a.outcome === 'accepted' ? (a.reason ?? '') : '', /code account/);
    const grants = await resultWhenStarted(run(r.hrId, 'change', `move-${r.hrId}`));
    assert.equal(grants.stage, 'completed');
    assert.equal(grants.late, false);
    assert.equal(stepOf(grants, 'create_account:crm')?.state, 'succeeded');
    assert.equal(stepOf(grants, 'update_account:idp')?.outcome, 'updated');

    // The new role's access is there at once; the old one's stays through the grace period.
    assert.deepEqual(systemsOf(r.hrId), { idp: 'active', wiki: 'active', crm: 'active', code: 'active' });
    assert.deepEqual(wikiGroupsOf(r.hrId), ['all-staff', 'employees', 'eng-wiki', 'sales-wiki', 'wiki-seats']);
    for (const peer of [t.idp, t.app]) {
      const u = peer.users().find((x) => x.externalId === r.hrId);
      assert.equal(u?.raw.title, 'Account Executive');
      const ext = u?.raw[SCIM_ENTERPRISE_USER_SCHEMA] as { department?: string; manager?: { value?: string } };
      assert.equal(ext.department, 'Sales');
      const manager = peer.users().find((x) => x.externalId === managerHrId);
      assert.equal(ext.manager?.value, manager?.id, `${peer.name}: the manager is the manager's account there`);
    }
    const pending = (await entityStatus(r.hrId)).pendingRevocations;
    assert.deepEqual(
      pending.flatMap((p) => p.revocations),
      [{ systemId: 'wiki', groups: ['eng-wiki'] }, { systemId: 'code' }],
    );

    const revoked = await resultWhenStarted(run(r.hrId, 'change', `move-${r.hrId}.grace`), 60_000);
    assert.equal(revoked.stage, 'completed');
    assert.equal(revoked.late, false);
    assert.ok(
      Date.parse(revoked.startedAt) >= Date.parse(pending[0]?.dueAt ?? ''),
      'nothing was revoked before the grace period ended',
    );
    assert.deepEqual(systemsOf(r.hrId), { idp: 'active', wiki: 'active', crm: 'active', code: 'inactive' });
    assert.deepEqual(wikiGroupsOf(r.hrId), ['all-staff', 'employees', 'sales-wiki', 'wiki-seats']);
    // Same identity throughout: no account was replaced.
    for (const id of ['idp', 'wiki', 'code']) assert.equal(accountsIn(r.hrId)[id]?.[0]?.id, ids[id]);
    const ev = await evidenceOf(r.hrId);
    assert.ok(ev.some((e) => e.action === 'disable_account' && e.systemId === 'code' && e.readBack?.active === false));
    assert.ok(ev.some((e) => e.action === 'remove_groups' && e.systemId === 'wiki' && e.outcome === 'removed'));
  });

  it('mover: moving back within the grace period keeps the access the role gets again', async () => {
    const r = await hired({ department: 'Engineering' });
    const away = await send('change', { ...r, department: 'Sales' }, `away-${r.hrId}`);
    assert.equal(away.outcome, 'accepted', JSON.stringify(away));
    await resultWhenStarted(run(r.hrId, 'change', `away-${r.hrId}`));
    const back = await send('change', { ...r, department: 'Engineering' }, `back-${r.hrId}`);
    assert.equal(back.outcome, 'accepted', JSON.stringify(back));
    await resultWhenStarted(run(r.hrId, 'change', `back-${r.hrId}`));
    const pending = (await entityStatus(r.hrId)).pendingRevocations;
    assert.deepEqual(
      pending.map((p) => [p.eventId, p.revocations]),
      [[`back-${r.hrId}`, [{ systemId: 'wiki', groups: ['sales-wiki'] }, { systemId: 'crm' }]]],
      'the code revocation is dropped: engineering gets it again',
    );
    await resultWhenStarted(run(r.hrId, 'change', `back-${r.hrId}.grace`), 60_000);
    assert.deepEqual(systemsOf(r.hrId), { idp: 'active', wiki: 'active', crm: 'inactive', code: 'active' });
    assert.deepEqual(wikiGroupsOf(r.hrId), ['all-staff', 'employees', 'eng-wiki', 'wiki-seats']);
  });

  it('conversion: a contractor who becomes an employee keeps their accounts, gets the employee set, and their end date is cancelled', async () => {
    const r = await hired({ employmentType: 'contractor', department: 'Sales', exitDate: '2031-06-30' });
    assert.deepEqual(systemsOf(r.hrId), { idp: 'active', wiki: 'active', crm: 'active', code: 'none' });
    assert.deepEqual(wikiGroupsOf(r.hrId), ['all-staff', 'sales-wiki', 'wiki-seats']);
    const derivedExit = `hire-${r.hrId}.exit`;
    await waitFor(
      async () => (await entityStatus(r.hrId)).current === eventWorkflowId(r.hrId, 'termination', derivedExit),
    );
    const ids = Object.fromEntries(Object.entries(accountsIn(r.hrId)).map(([k, v]) => [k, v[0]?.id]));

    const converted: EmployeeRecord = { ...r, employmentType: 'employee' };
    delete converted.exitDate;
    const a = await send('change', converted, `convert-${r.hrId}`);
    assert.equal(a.outcome, 'accepted', JSON.stringify(a));
    const reason = a.outcome === 'accepted' ? (a.reason ?? '') : '';
    assert.match(reason, /end date removed/);
    assert.match(reason, /employmentType: contractor → employee/);
    // The change starts once the entity has cancelled the waiting exit: on a loaded machine that takes more than 30 s.
    await resultWhenStarted(run(r.hrId, 'change', `convert-${r.hrId}`), 120_000);
    await settled(r.hrId);

    const s = await entityStatus(r.hrId);
    assert.equal(s.events.find((e) => e.eventId === derivedExit)?.state, 'superseded');
    assert.deepEqual(systemsOf(r.hrId), { idp: 'active', wiki: 'active', crm: 'active', code: 'none' });
    assert.deepEqual(wikiGroupsOf(r.hrId), ['all-staff', 'employees', 'sales-wiki', 'wiki-seats']);
    for (const id of ['idp', 'wiki', 'crm'])
      assert.equal(accountsIn(r.hrId)[id]?.[0]?.id, ids[id], `${id}: same account`);
    assert.equal(s.pendingRevocations.length, 0, 'the employee set includes the contractor set: nothing to revoke');
  });

  it('back-dated exit: a date already past runs at once and is flagged late in status and evidence', async () => {
    const r = await hired({ department: 'Sales' });
    const a = await send('termination', { ...r, status: 'terminated', exitDate: '2025-06-30' }, `late-${r.hrId}`);
    assert.equal(a.outcome, 'accepted', JSON.stringify(a));
    const final = await resultWhenStarted(run(r.hrId, 'termination', `late-${r.hrId}`));
    assert.equal(final.stage, 'completed');
    assert.equal(final.late, true);
    assert.deepEqual(systemsOf(r.hrId), { idp: 'inactive', wiki: 'inactive', crm: 'inactive', code: 'none' });
    const ev = await evidenceOf(r.hrId);
    const disabled = ev.filter((e) => e.action === 'disable_account' && e.outcome === 'disabled');
    assert.ok(disabled.length >= 3 && disabled.every((e) => e.detail?.late === true), 'the evidence says late');
  });

  it('a change during the notice period applies at once; the waiting exit still takes effect after it', async () => {
    const r = await hired({ department: 'Sales', title: 'Account Executive' });
    const exitId = `notice-${r.hrId}`;
    const term = await send('termination', { ...r, status: 'terminated', exitDate: '2031-12-31' }, exitId);
    assert.equal(term.outcome, 'accepted', JSON.stringify(term));
    const handle = run(r.hrId, 'termination', exitId);
    await waitFor(async () => (await handle.query(onboardingStatusQuery)).stage === 'waiting');

    const promoted = { ...r, status: 'terminated' as const, exitDate: '2031-12-31', title: 'Sales Lead' };
    const a = await send('change', promoted, `promo-${r.hrId}`);
    assert.equal(a.outcome, 'accepted', JSON.stringify(a));
    await resultWhenStarted(run(r.hrId, 'change', `promo-${r.hrId}`));
    assert.equal(t.idp.users().find((u) => u.externalId === r.hrId)?.raw.title, 'Sales Lead');
    // The exit waits again, for the same instant.
    await waitFor(async () => (await entityStatus(r.hrId)).current === eventWorkflowId(r.hrId, 'termination', exitId));
    await waitFor(async () => {
      const d = await handle.describe();
      return d.status.name === 'RUNNING';
    });
    const waiting = await handle.query(onboardingStatusQuery);
    assert.equal(waiting.stage, 'waiting');
    assert.ok(waiting.effectiveAt.startsWith('2031-12-31'));
    assert.deepEqual(systemsOf(r.hrId), { idp: 'active', wiki: 'active', crm: 'active', code: 'none' });

    // HR moves it to now (involuntary): it takes effect at once.
    const now = await send(
      'termination',
      { ...promoted, exitKind: 'involuntary', exitDate: '2031-12-31' },
      `now-${r.hrId}`,
    );
    assert.equal(now.outcome, 'accepted', JSON.stringify(now));
    const final = await resultWhenStarted(handle);
    assert.equal(final.stage, 'completed');
    assert.deepEqual(systemsOf(r.hrId), { idp: 'inactive', wiki: 'inactive', crm: 'inactive', code: 'none' });
  });

  it('a plain "employee updated" webhook is enough: the status it carries derives leave, return and exit', async () => {
    const r = await hired({ department: 'Sales', status: 'active' });
    const away = await send('change', { ...r, status: 'on_leave' }, `upd1-${r.hrId}`);
    assert.equal(away.outcome, 'accepted', JSON.stringify(away));
    await resultWhenStarted(t.client.workflow.getHandle(eventWorkflowId(r.hrId, 'leave_start', `upd1-${r.hrId}`)));
    assert.deepEqual(systemsOf(r.hrId), { idp: 'inactive', wiki: 'inactive', crm: 'inactive', code: 'none' });
    await settled(r.hrId);
    const back = await send('change', { ...r, status: 'active' }, `upd2-${r.hrId}`);
    assert.equal(back.outcome, 'accepted', JSON.stringify(back));
    await resultWhenStarted(t.client.workflow.getHandle(eventWorkflowId(r.hrId, 'leave_end', `upd2-${r.hrId}`)));
    assert.deepEqual(systemsOf(r.hrId), { idp: 'active', wiki: 'active', crm: 'active', code: 'none' });
    await settled(r.hrId);
    const gone = await send('change', { ...r, status: 'terminated', exitKind: 'involuntary' }, `upd3-${r.hrId}`);
    assert.equal(gone.outcome, 'accepted', JSON.stringify(gone));
    await resultWhenStarted(run(r.hrId, 'termination', `upd3-${r.hrId}`));
    assert.deepEqual(systemsOf(r.hrId), { idp: 'inactive', wiki: 'inactive', crm: 'inactive', code: 'none' });
    const kinds = (await entityStatus(r.hrId)).events.filter((e) => e.eventId.startsWith('upd')).map((e) => e.kind);
    assert.deepEqual(kinds, ['leave_start', 'leave_end', 'termination']);
  });

  it('a termination while onboarding runs (a step in exception) cancels it and leaves nothing active', async () => {
    t.app.faults.next(1, {
      method: 'POST',
      path: '/Users',
      status: 400,
      body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', detail: 'bad' },
    });
    const r = makeRecord({ hireDate: '2025-03-03', department: 'Sales', managerHrId });
    const a = await send('hire', r, `hire-${r.hrId}`);
    assert.equal(a.outcome, 'accepted', JSON.stringify(a));
    const onboarding = t.client.workflow.getHandle(eventWorkflowId(r.hrId, 'hire', `hire-${r.hrId}`));
    await waitFor(
      async () => (await onboarding.query(onboardingStatusQuery)).exceptions.includes('create_account:wiki'),
      30_000,
      'the wiki step in exception',
    );
    const exitId = `fired-${r.hrId}`;
    const e = await send('termination', { ...r, status: 'terminated', exitKind: 'involuntary' }, exitId);
    assert.equal(e.outcome, 'accepted', JSON.stringify(e));
    const final = await resultWhenStarted(run(r.hrId, 'termination', exitId));
    assert.equal(final.stage, 'completed');
    await settled(r.hrId);
    const s = await entityStatus(r.hrId);
    assert.equal(s.events.find((x) => x.eventId === `hire-${r.hrId}`)?.state, 'superseded');
    const states = systemsOf(r.hrId);
    assert.ok(
      Object.values(states).every((v) => v !== 'active'),
      JSON.stringify(states),
    );
    assert.equal(states.idp, 'inactive');
  });

  it('a change after the exit took effect is refused and gives nothing back', async () => {
    const r = await hired({ department: 'Sales' });
    const term = await send('termination', { ...r, status: 'terminated', exitKind: 'involuntary' }, `gone-${r.hrId}`);
    assert.equal(term.outcome, 'accepted', JSON.stringify(term));
    await resultWhenStarted(run(r.hrId, 'termination', `gone-${r.hrId}`));
    await settled(r.hrId);
    const a = await send('change', { ...r, department: 'Engineering' }, `late-move-${r.hrId}`);
    assert.equal(a.outcome, 'refused', JSON.stringify(a));
    assert.match(a.outcome === 'refused' ? a.message : '', /has left/);
    assert.deepEqual(systemsOf(r.hrId), { idp: 'inactive', wiki: 'inactive', crm: 'inactive', code: 'none' });
  });

  it('leaver: sessions revoked at the IdP, licence reclaimed, verified, then deleted when the retention period ends', async () => {
    const r = await hired({ department: 'Engineering' });
    const idpAccount = accountsIn(r.hrId).idp?.[0];
    assert.ok(idpAccount);
    t.idp.openSession(idpAccount.id);
    t.idp.openSession(idpAccount.id);
    assert.equal(t.idp.activeSessions(idpAccount.id), 2);

    const exitId = `leave-${r.hrId}`;
    const a = await send('termination', { ...r, status: 'terminated', exitKind: 'involuntary' }, exitId);
    assert.equal(a.outcome, 'accepted', JSON.stringify(a));
    const final = await resultWhenStarted(run(r.hrId, 'termination', exitId));
    assert.equal(final.stage, 'completed');
    assert.equal(final.late, false, 'an involuntary exit runs at once, which is on time');
    assert.equal(stepOf(final, 'revoke_sessions:idp')?.outcome, 'revoked');
    assert.equal(stepOf(final, 'reclaim_licence:wiki')?.outcome, 'reclaimed');
    assert.equal(t.idp.activeSessions(idpAccount.id), 0, 'no session outlives the exit');
    assert.deepEqual(systemsOf(r.hrId), { idp: 'inactive', wiki: 'inactive', crm: 'none', code: 'inactive' });
    assert.ok(!wikiGroupsOf(r.hrId).includes('wiki-seats'), 'the seat is free');
    const idpDisabled = Date.parse(stepOf(final, 'disable_account:idp')?.finishedAt ?? '');
    assert.ok(Date.parse(stepOf(final, 'revoke_sessions:idp')?.startedAt ?? '') >= idpDisabled);
    assert.ok(Date.parse(stepOf(final, 'disable_account:code')?.startedAt ?? '') >= idpDisabled);

    const ev = await evidenceOf(r.hrId);
    const verified = ev.find((e) => e.action === 'verify_exit');
    assert.equal(verified?.outcome, 'verified_inactive');
    // The summary: every step of the exit with its outcome, in the same evidence record as the read-back.
    const summary = verified?.detail?.steps as { id: string; state: string; outcome?: string }[];
    assert.deepEqual(
      summary.filter((x) => x.id.startsWith('revoke_sessions') || x.id.startsWith('reclaim')),
      [
        { id: 'revoke_sessions:idp', state: 'succeeded', outcome: 'revoked' },
        { id: 'reclaim_licence:wiki', state: 'succeeded', outcome: 'reclaimed' },
      ],
    );
    assert.ok(ev.some((e) => e.action === 'reclaim_licence' && e.detail?.licence === 'wiki-seat'));
    assert.ok(ev.some((e) => e.action === 'revoke_sessions' && e.outcome === 'revoked'));

    // Retention: the disabled accounts are deleted later, by a run of their own.
    await waitFor(async () => (await entityStatus(r.hrId)).deletion !== undefined, 20_000, 'deletion scheduled');
    const status = await entityStatus(r.hrId);
    const deleted = await resultWhenStarted(run(r.hrId, 'termination', `${exitId}.retention`), 60_000);
    assert.equal(deleted.stage, 'completed');
    assert.ok(Date.parse(deleted.startedAt) >= Date.parse(status.deletion?.deleteAt ?? ''));
    assert.deepEqual(systemsOf(r.hrId), { idp: 'none', wiki: 'none', crm: 'none', code: 'none' });
    const after = await evidenceOf(r.hrId);
    assert.deepEqual(
      after
        .filter((e) => e.action === 'delete_account' && e.outcome === 'deleted')
        .map((e) => e.systemId)
        .sort(),
      ['code', 'idp', 'wiki'],
    );
  });
});
