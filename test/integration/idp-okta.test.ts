import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { EmployeeRecord } from '../../src/domain/employee';
import { employeeWorkflowId, eventWorkflowId } from '../../src/domain/ids';
import type { PolicyInput } from '../../src/domain/policy';
import { employeeStatusQuery } from '../../src/workflows/employee/messages';
import type { OnboardingStatus } from '../../src/workflows/onboarding/messages';
import { onboardingStatusQuery } from '../../src/workflows/onboarding/messages';
import type { offboardingWorkflow } from '../../src/workflows/onboarding/onboarding';
import type { OktaStandin, StandinUser } from '../peers/okta-standin';
import { startOktaStandin } from '../peers/okta-standin';
import { instantFromNow, makeRecord } from '../helpers/records';
import { workflowBundle } from '../helpers/temporal';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { resultWhenStarted, waitFor } from '../helpers/wait';

const GROUP = 'Everyone at Acme';

/** The harness's default policy with the identity provider reached through the native Okta connector. */
function withOkta(p: PolicyInput, connector: Record<string, unknown>, activationTime?: string): PolicyInput {
  return {
    ...p,
    timing: { ...p.timing, preProvisionDays: 1, ...(activationTime ? { activationTime } : {}) },
    systems: p.systems.map((s) => (s.id === 'idp' ? { ...s, connector: connector as never } : s)),
    birthright: [{ name: 'everyone', systems: [{ system: 'idp', groups: [GROUP] }, 'wiki'] }],
  };
}

/** Shared steps of both harnesses: send an event, wait for its run, read Okta and the evidence. */
function scenario(get: () => { t: TenureHarness; s: OktaStandin }) {
  const send = (kind: 'hire' | 'change' | 'termination', record: EmployeeRecord, eventId: string) =>
    get().t.tenure.sendEvent({ eventId, kind, record: { ...record, sourceUpdatedAt: new Date().toISOString() } });
  const run = (hrId: string, kind: Parameters<typeof eventWorkflowId>[1], eventId: string) =>
    get().t.client.workflow.getHandle<typeof offboardingWorkflow>(eventWorkflowId(hrId, kind, eventId));
  const okta = (hrId: string): StandinUser | undefined => {
    const found = get()
      .s.users()
      .filter((u) => u.profile.employeeNumber === hrId);
    assert.ok(found.length <= 1, `one Okta user per person, found ${found.length}`);
    return found[0];
  };
  const wiki = (hrId: string) =>
    get()
      .t.app.users()
      .find((u) => u.externalId === hrId);
  async function settled(hrId: string): Promise<void> {
    const entity = get().t.client.workflow.getHandle(employeeWorkflowId(hrId));
    await waitFor(async () => {
      const st = await entity.query(employeeStatusQuery);
      return st.current === undefined && st.queued === 0;
    });
  }
  async function evidenceOf(hrId: string) {
    const out = [];
    for await (const e of get().t.audit.stream({ hrId })) out.push(e);
    return out;
  }
  async function hired(over: Partial<EmployeeRecord> = {}): Promise<EmployeeRecord> {
    const record = makeRecord({ hireDate: '2025-03-03', ...over });
    const a = await send('hire', record, `hire-${record.hrId}`);
    assert.equal(a.outcome, 'accepted', JSON.stringify(a));
    const final = await resultWhenStarted(run(record.hrId, 'hire', `hire-${record.hrId}`));
    assert.equal(final.stage, 'completed', JSON.stringify(final.steps));
    await settled(record.hrId);
    return record;
  }
  return { send, run, okta, wiki, settled, evidenceOf, hired };
}

const stepOf = (s: OnboardingStatus, id: string) => s.steps.find((x) => x.id === id);

describe('identity provider on Okta (SSWS): joiner, mover, leave and leaver through the whole Tenure', function () {
  this.timeout(180_000);
  const token = `00${randomBytes(20).toString('base64url')}`;
  let t: TenureHarness;
  let s: OktaStandin;
  let when: ReturnType<typeof instantFromNow>;
  let groupId = '';
  const h = scenario(() => ({ t, s }));

  before(async () => {
    await workflowBundle();
    s = await startOktaStandin({ apiTokens: [token] });
    groupId = s.createGroup(GROUP);
    when = instantFromNow(20, 'UTC');
    t = await startTenure({
      activationTime: when.activationTime,
      policy: (p) =>
        withOkta(p, {
          type: 'okta',
          orgUrl: s.url,
          auth: { type: 'ssws', tokenEnv: 'TENURE_TEST_OKTA_TOKEN' },
          // Sign-in is federated: Okta activates users straight to ACTIVE.
          provider: { type: 'FEDERATION' },
        }),
      vars: { TENURE_TEST_OKTA_TOKEN: token },
    });
  });
  after(async () => {
    await t?.stop();
    await s?.close();
  });

  it('joiner: the Okta user is STAGED ahead of the start and ACTIVE at the hire instant, in its group', async () => {
    const record = makeRecord({
      hireDate: when.hireDate,
      location: { name: 'UTC', countryCode: 'PT', timeZone: 'UTC' },
    });
    const a = await h.send('hire', record, `hire-${record.hrId}`);
    assert.equal(a.outcome, 'accepted', JSON.stringify(a));
    const handle = h.run(record.hrId, 'hire', `hire-${record.hrId}`);
    await waitFor(
      async () => (await handle.query(onboardingStatusQuery)).stage === 'waiting',
      30_000,
      'pre-provisioned, waiting for the instant',
    );
    const staged = h.okta(record.hrId);
    assert.equal(staged?.status, 'STAGED');
    assert.equal(staged?.profile.login, record.workEmail);
    assert.equal(staged?.profile.department, 'Engineering');
    assert.equal(h.wiki(record.hrId)?.active, false);

    const final = await resultWhenStarted(handle, 60_000);
    assert.equal(final.stage, 'completed');
    assert.ok(Date.parse(stepOf(final, 'activate_account:idp')?.startedAt ?? '') >= when.at.getTime());
    const user = h.okta(record.hrId);
    assert.equal(user?.status, 'ACTIVE');
    assert.ok(s.groupMembers(groupId).includes(user?.id ?? ''), 'in the birthright group, found by name');
    assert.equal(h.wiki(record.hrId)?.active, true);

    const ev = await h.evidenceOf(record.hrId);
    const created = ev.find((e) => e.action === 'create_account' && e.systemId === 'idp');
    assert.equal(created?.outcome, 'created');
    assert.deepEqual(created?.readBack, { found: true, accountId: user?.id, active: false });
    const activated = ev.find((e) => e.action === 'activate_account' && e.systemId === 'idp');
    assert.deepEqual(activated?.readBack, { found: true, accountId: user?.id, active: true });
  });

  it('mover: the Okta profile follows HR (title, department), the account stays ACTIVE', async () => {
    const r = await h.hired({ department: 'Engineering', title: 'Software Engineer' });
    const id = h.okta(r.hrId)?.id;
    const a = await h.send('change', { ...r, department: 'Sales', title: 'Account Executive' }, `move-${r.hrId}`);
    assert.equal(a.outcome, 'accepted', JSON.stringify(a));
    const final = await resultWhenStarted(h.run(r.hrId, 'change', `move-${r.hrId}`));
    assert.equal(final.stage, 'completed');
    assert.equal(stepOf(final, 'update_account:idp')?.outcome, 'updated');
    const user = h.okta(r.hrId);
    assert.equal(user?.id, id, 'the same user, updated in place');
    assert.equal(user?.profile.title, 'Account Executive');
    assert.equal(user?.profile.department, 'Sales');
    assert.equal(user?.status, 'ACTIVE');
  });

  it('leave: the Okta user is SUSPENDED, and ACTIVE again on return (the same user)', async () => {
    const r = await h.hired();
    const id = h.okta(r.hrId)?.id;
    const away = await h.send('change', { ...r, status: 'on_leave' }, `away-${r.hrId}`);
    assert.equal(away.outcome, 'accepted', JSON.stringify(away));
    await resultWhenStarted(h.run(r.hrId, 'leave_start', `away-${r.hrId}`));
    assert.equal(h.okta(r.hrId)?.status, 'SUSPENDED');
    assert.equal(h.wiki(r.hrId)?.active, false);
    await h.settled(r.hrId);

    const back = await h.send('change', { ...r, status: 'active' }, `back-${r.hrId}`);
    assert.equal(back.outcome, 'accepted', JSON.stringify(back));
    await resultWhenStarted(h.run(r.hrId, 'leave_end', `back-${r.hrId}`));
    assert.equal(h.okta(r.hrId)?.status, 'ACTIVE');
    assert.equal(h.okta(r.hrId)?.id, id);
    assert.equal(h.wiki(r.hrId)?.active, true);
    const lifecycle = s.requests.filter((q) => q.path.startsWith(`/api/v1/users/${id ?? ''}/lifecycle/`));
    assert.deepEqual(
      lifecycle.map((q) => q.path.split('/').at(-1)),
      ['activate', 'suspend', 'unsuspend'],
    );
  });

  it('leaver: DEPROVISIONED, sessions and OAuth tokens revoked, every system read back inactive', async () => {
    const r = await h.hired();
    const id = h.okta(r.hrId)?.id ?? '';
    s.openSession(id);
    const gone = await h.send(
      'termination',
      { ...r, status: 'terminated', exitKind: 'involuntary' },
      `fired-${r.hrId}`,
    );
    assert.equal(gone.outcome, 'accepted', JSON.stringify(gone));
    const final = await resultWhenStarted(h.run(r.hrId, 'termination', `fired-${r.hrId}`));
    assert.equal(final.stage, 'completed');
    assert.equal(h.okta(r.hrId)?.status, 'DEPROVISIONED');
    assert.equal(s.activeSessions(id), 0);
    assert.equal(s.activeOAuthTokens(id), 0);
    assert.equal(h.wiki(r.hrId)?.active, false);

    const ev = await h.evidenceOf(r.hrId);
    const disabled = ev.find((e) => e.action === 'disable_account' && e.systemId === 'idp');
    assert.equal(disabled?.outcome, 'disabled');
    assert.deepEqual(disabled?.readBack, { found: true, accountId: id, active: false });
    const revoked = ev.find((e) => e.action === 'revoke_sessions' && e.systemId === 'idp');
    assert.equal(revoked?.outcome, 'revoked');
    assert.deepEqual(revoked?.readBack, { sessions: { userStatus: 'DEPROVISIONED' } });
    const verified = ev.find((e) => e.action === 'verify_exit');
    assert.equal(verified?.outcome, 'verified_inactive');
    assert.deepEqual(verified?.readBack, {
      systems: { idp: { found: true, active: false }, wiki: { found: true, active: false } },
    });
  });
});

describe('identity provider on Okta (OAuth 2.0, private_key_jwt): hire and exit', function () {
  this.timeout(180_000);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  let t: TenureHarness;
  let s: OktaStandin;
  const h = scenario(() => ({ t, s }));

  before(async () => {
    await workflowBundle();
    s = await startOktaStandin({
      oauthClients: [
        {
          clientId: '0oa-tenure-svc',
          publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
          scopes: ['okta.users.manage', 'okta.groups.manage'],
        },
      ],
    });
    s.createGroup(GROUP);
    t = await startTenure({
      policy: (p) =>
        withOkta(p, {
          type: 'okta',
          orgUrl: s.url,
          auth: {
            type: 'oauth',
            clientId: '0oa-tenure-svc',
            privateKeyEnv: 'TENURE_TEST_OKTA_KEY',
            keyId: 'tenure-key-1',
            tokenUrl: s.tokenUrl,
          },
        }),
      vars: { TENURE_TEST_OKTA_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
    });
  });
  after(async () => {
    await t?.stop();
    await s?.close();
  });

  it('a hire is provisioned and an exit deprovisions it, every API call with a Bearer token from the JWT grant', async () => {
    const r = await h.hired();
    // No provider and no password: activated users are PROVISIONED until they finish Okta's activation flow.
    assert.equal(h.okta(r.hrId)?.status, 'PROVISIONED');
    const gone = await h.send('termination', { ...r, status: 'terminated', exitKind: 'involuntary' }, `exit-${r.hrId}`);
    assert.equal(gone.outcome, 'accepted', JSON.stringify(gone));
    const final = await resultWhenStarted(h.run(r.hrId, 'termination', `exit-${r.hrId}`));
    assert.equal(final.stage, 'completed');
    assert.equal(h.okta(r.hrId)?.status, 'DEPROVISIONED');
    const api = s.requests.filter((q) => q.path.startsWith('/api/'));
    assert.ok(api.length > 0 && api.every((q) => q.scheme === 'Bearer'));
    assert.ok(s.requests.some((q) => q.path === '/oauth2/v1/token'));
  });
});
