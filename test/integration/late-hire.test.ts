import assert from 'node:assert/strict';
import type { EvidenceRecord } from '../../src/activities/audit/types';
import { ScimConnector } from '../../src/activities/scim/client';
import { employeeWorkflowId, eventWorkflowId } from '../../src/domain/ids';
import { employeeStatusQuery } from '../../src/workflows/employee/messages';
import type { EmployeeRecord } from '../../src/domain/employee';
import type { OnboardingStatus } from '../../src/workflows/onboarding/messages';
import { daysAgo, makeRecord } from '../helpers/records';
import { historyActivities } from '../helpers/history';
import { workflowBundle } from '../helpers/temporal';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { resultWhenStarted } from '../helpers/wait';

/**
 * A hire whose instant has passed (issue 15, "steps that are due together in one task"): each create step carries
 * out its system's activation in the same activity (`createActiveAccount`) when nothing else stands between them,
 * still identity provider first, with the same status and the same evidence as two steps apart.
 */
describe('late hire: create and activate in one activity per system', function () {
  this.timeout(120_000);
  let t: TenureHarness;
  let engGroup = '';

  before(async () => {
    await workflowBundle();
    t = await startTenure({
      policy: (p) => ({
        ...p,
        birthright: [
          { name: 'everyone', systems: ['idp', 'wiki'] },
          { name: 'eng', match: { department: ['Engineering'] }, systems: [{ system: 'wiki', groups: ['eng'] }] },
        ],
      }),
    });
    engGroup = t.app.createGroup('eng');
  });
  after(async () => {
    await t?.stop();
  });

  /** A hire two days late; `prepare` runs before it is sent (e.g. an account someone else made). */
  async function hire(
    department: string,
    prepare?: (record: EmployeeRecord) => Promise<void>,
  ): Promise<{ hrId: string; final: OnboardingStatus; activities: string[] }> {
    const record = makeRecord({ hireDate: daysAgo(2), department });
    await prepare?.(record);
    const eventId = `h-${record.hrId}`;
    const answer = await t.tenure.sendEvent({ eventId, kind: 'hire', record });
    assert.equal(answer.outcome, 'accepted', JSON.stringify(answer));
    const handle = t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'hire', eventId));
    const final = await resultWhenStarted<OnboardingStatus>(handle);
    // Carried out by the person's entity (no approval or task in its plan: docs/decisions/0004), its activities are in
    // the entity's history; a run handed over has its own.
    const entity = t.client.workflow.getHandle(employeeWorkflowId(record.hrId));
    const carriedOut = (await entity.query(employeeStatusQuery)).events.find(
      (e) => e.workflowId === handle.workflowId,
    )?.carriedOut;
    assert.equal(carriedOut, 'entity', 'the entity carried the late hire out');
    const activities = historyActivities((await entity.fetchHistory()).events ?? []);
    return { hrId: record.hrId, final, activities };
  }

  const evidence = async (hrId: string): Promise<EvidenceRecord[]> => {
    const out: EvidenceRecord[] = [];
    for await (const e of t.audit.stream({ hrId })) out.push(e);
    return out;
  };

  it('runs one activity per system, activates the identity provider before the app exists, and records both steps', async () => {
    const { hrId, final, activities } = await hire('Sales');
    assert.deepEqual(activities, ['createActiveAccount', 'createActiveAccount']);
    assert.equal(final.stage, 'completed');
    assert.equal(final.late, true);
    assert.deepEqual(
      final.steps.map((s) => [s.id, s.state, s.outcome, s.runs]),
      [
        ['create_account:idp', 'succeeded', 'created', 1],
        ['create_account:wiki', 'succeeded', 'created', 1],
        ['activate_account:idp', 'succeeded', 'activated', 1],
        ['activate_account:wiki', 'succeeded', 'activated', 1],
      ],
    );
    for (const s of final.steps)
      assert.ok(s.accountId && s.startedAt && s.finishedAt, `${s.id} has its account and times`);

    const idpUser = t.idp.users().find((u) => u.externalId === hrId);
    const appUser = t.app.users().find((u) => u.externalId === hrId);
    assert.ok(idpUser?.active && appUser?.active, 'both accounts are active');
    // Each account is created on in its one write (no switch-on and second read-back), and SSO-first: the identity
    // provider's account existed, on, before the app's account was created.
    const created = (peer: typeof t.idp): (typeof t.idp.requests)[number] | undefined =>
      peer.requests.find(
        (r) =>
          r.method === 'POST' &&
          r.path.endsWith('/Users') &&
          r.status === 201 &&
          (r.body as { externalId?: string }).externalId === hrId,
      );
    const idpCreated = created(t.idp);
    const appCreated = created(t.app);
    assert.ok(idpCreated && appCreated, 'both creations were seen');
    assert.equal((idpCreated.body as { active?: boolean }).active, true, 'the identity provider account is created on');
    assert.equal((appCreated.body as { active?: boolean }).active, true, 'the app account is created on');
    assert.ok(idpCreated.at < appCreated.at, 'identity provider active before the app account exists');
    for (const [peer, user, creation] of [
      [t.idp, idpUser, idpCreated],
      [t.app, appUser, appCreated],
    ] as const) {
      const writes = peer.requests.filter(
        (r) => r.method !== 'GET' && (r === creation || r.path.includes(`/Users/${user.id}`)),
      );
      assert.deepEqual(
        writes.map((r) => r.method),
        ['POST'],
        'one write per system',
      );
    }

    const rows = (await evidence(hrId)).filter((e) => e.action === 'create_account' || e.action === 'activate_account');
    assert.deepEqual(rows.map((e) => [e.action, e.systemId, e.outcome]).sort(), [
      ['activate_account', 'idp', 'activated'],
      ['activate_account', 'wiki', 'activated'],
      ['create_account', 'idp', 'created'],
      ['create_account', 'wiki', 'created'],
    ]);
    for (const e of rows.filter((x) => x.action === 'activate_account')) {
      assert.equal((e.detail as { late?: boolean }).late, true, 'the activation evidence says late');
      assert.equal((e.detail as { withCreate?: boolean }).withCreate, true, 'activated by the create write');
      assert.deepEqual(e.readBack && { found: e.readBack.found, active: e.readBack.active }, {
        found: true,
        active: true,
      });
      assert.match(e.key, /activate_account:(idp|wiki)$/, 'under the activation step’s own key');
    }
  });

  it('keeps the steps apart where groups stand between creation and activation', async () => {
    const { hrId, final, activities } = await hire('Engineering');
    assert.deepEqual(activities, ['createActiveAccount', 'createAccount', 'assignGroups', 'activateAccount']);
    assert.ok(final.steps.every((s) => s.state === 'succeeded'));
    const appUser = t.app.users().find((u) => u.externalId === hrId);
    assert.ok(appUser?.active);
    const members = t.app.groupMembers(engGroup);
    assert.ok(members?.includes(appUser.id), 'the app account is in its group');
  });

  it('a lost answer to the creation is retried without a second account or a second record', async () => {
    // The identity provider creates the account on and the answer is lost: the activity fails and is retried whole.
    t.idp.faults.dropResponseAfterWrite(1, { method: 'POST' });
    const { hrId, final } = await hire('Sales');
    t.idp.faults.clear();
    assert.ok(final.steps.every((s) => s.state === 'succeeded'));
    const idpUsers = t.idp.users().filter((u) => u.externalId === hrId);
    assert.equal(idpUsers.length, 1, 'one account in the identity provider');
    assert.equal(idpUsers[0]?.active, true);
    const rows = await evidence(hrId);
    const done = (action: string) =>
      rows.filter((e) => e.action === action && e.systemId === 'idp' && e.outcome !== 'retrying');
    assert.deepEqual(
      done('create_account').map((e) => e.outcome),
      ['adopted'],
      'the retry adopts what the lost answer created',
    );
    assert.equal(done('activate_account').length, 1);
    assert.ok(
      rows.some((e) => e.action === 'create_account' && e.outcome === 'retrying'),
      'the lost answer is evidence too',
    );
  });

  it('an account someone left off is adopted and switched on in the same activity', async () => {
    const { hrId, final } = await hire('Sales', async (record) => {
      await new ScimConnector({ systemId: 'idp', baseUrl: t.idp.url }).ensureAccount({
        hrId: record.hrId,
        userName: `${record.hrId.toLowerCase()}.old@acme.example`,
        givenName: 'Old',
        familyName: 'Account',
        active: false,
      });
    });
    assert.ok(
      final.steps.every((s) => s.state === 'succeeded'),
      JSON.stringify(final.steps),
    );
    const idpUsers = t.idp.users().filter((u) => u.externalId === hrId);
    assert.equal(idpUsers.length, 1, 'adopted, not a second account');
    assert.equal(idpUsers[0]?.active, true, 'switched on');
    const rows = (await evidence(hrId)).filter((e) => e.systemId === 'idp' && e.outcome !== 'retrying');
    assert.deepEqual(
      rows
        .filter((e) => e.action === 'activate_account')
        .map((e) => [e.outcome, e.readBack?.active, e.detail?.withCreate]),
      [['activated', true, undefined]],
      'switched on by the activation itself: an existing account keeps its state at creation',
    );
  });
});
