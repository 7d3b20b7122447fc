import assert from 'node:assert/strict';
import { employeeWorkflowId, eventWorkflowId } from '../../src/domain/ids';
import { employeeStatusQuery } from '../../src/workflows/employee/messages';
import type { OnboardingStatus } from '../../src/workflows/onboarding/messages';
import { onboardingStatusQuery } from '../../src/workflows/onboarding/messages';
import type { onboardingWorkflow } from '../../src/workflows/onboarding/onboarding';
import { EMPLOYEE_ID, EVENT_KIND, STAGE } from '../../src/workflows/search-attributes';
import { instantFromNow, makeRecord } from '../helpers/records';
import { workflowBundle } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';

/** The first vertical slice, all real: signed webhook → intake → entity → onboarding → two SCIM systems. */
describe('hire: signed webhook to accounts in the identity provider, then the app', function () {
  this.timeout(120_000);
  const tz = 'America/Sao_Paulo';
  let when: ReturnType<typeof instantFromNow>;
  let t: TenureHarness;

  before(async () => {
    await workflowBundle(); // bundle first, so the instant below is measured from a ready worker
    when = instantFromNow(10, tz);
    t = await startTenure({ activationTime: when.activationTime });
  });
  after(async () => {
    await t?.stop();
  });

  it('waits for the hire instant, provisions the IdP first, and shows every step in status', async () => {
    const record = makeRecord({
      hireDate: when.hireDate,
      location: { name: 'São Paulo', countryCode: 'BR', timeZone: tz },
    });
    const eventId = `evt-${record.hrId}`;
    const answer = await t.tenure.sendEvent({ eventId, kind: 'hire', record });

    assert.equal(answer.status, 202, JSON.stringify(answer));
    assert.equal(answer.outcome, 'accepted');
    if (answer.outcome !== 'accepted') return;
    const childId = eventWorkflowId(record.hrId, 'hire', eventId);
    assert.equal(answer.workflowId, childId);
    assert.equal(answer.effectiveAt, when.at.toISOString());
    assert.deepEqual(answer.plan, [
      'create_account:idp',
      'create_account:wiki after create_account:idp',
      'activate_account:idp after create_account:idp',
      'activate_account:wiki after activate_account:idp, create_account:wiki',
    ]);

    // Before the instant: the run waits, findable by Tenure's search attributes, and no system was touched.
    const child = t.client.workflow.getHandle<typeof onboardingWorkflow>(childId);
    await waitFor(async () => (await child.describe()).status.name === 'RUNNING');
    const waiting = await child.query(onboardingStatusQuery);
    assert.equal(waiting.stage, 'waiting_pre_provision');
    assert.ok(waiting.steps.every((s) => s.state === 'pending'));
    const desc = await child.describe();
    assert.equal(desc.typedSearchAttributes.get(EMPLOYEE_ID), record.hrId);
    assert.equal(desc.typedSearchAttributes.get(EVENT_KIND), 'hire');
    assert.equal(desc.typedSearchAttributes.get(STAGE), 'waiting_pre_provision');
    await waitFor(async () => {
      for await (const wf of t.client.workflow.list({
        query: `TenureEmployeeId = "${record.hrId}" AND TenureStage = "waiting_pre_provision"`,
      })) {
        if (wf.workflowId === childId) return true;
      }
      return false;
    });
    assert.equal(t.idp.requests.length + t.app.requests.length, 0, 'no system may be touched before the hire instant');

    const final: OnboardingStatus = await child.result();
    assert.equal(final.stage, 'completed');
    assert.equal(final.late, false);
    assert.deepEqual(
      final.steps.map((s) => [s.id, s.state, s.outcome]),
      [
        ['create_account:idp', 'succeeded', 'created'],
        ['create_account:wiki', 'succeeded', 'created'],
        ['activate_account:idp', 'succeeded', 'activated'],
        ['activate_account:wiki', 'succeeded', 'activated'],
      ],
    );
    for (const s of final.steps) {
      assert.ok(s.startedAt && s.finishedAt, `${s.id} has timestamps`);
      assert.ok(Date.parse(s.startedAt) >= when.at.getTime(), `${s.id} started at or after the hire instant`);
    }

    // Nothing ran before the instant, and the IdP account existed before the app account.
    const firstRequest = Math.min(...[...t.idp.requests, ...t.app.requests].map((r) => r.at));
    assert.ok(firstRequest >= when.at.getTime(), `first SCIM request ${firstRequest} is before ${when.at.getTime()}`);
    const [idpUser] = t.idp.users();
    const [appUser] = t.app.users();
    assert.ok(idpUser && appUser);
    assert.equal(t.idp.users().length, 1);
    assert.equal(t.app.users().length, 1);
    assert.equal(idpUser.externalId, record.hrId);
    assert.equal(appUser.externalId, record.hrId);
    assert.equal(idpUser.userName, record.workEmail);
    assert.ok(idpUser.active && appUser.active);
    assert.ok(idpUser.seq < appUser.seq, 'identity-provider account created before the app account');
    const at = (id: string, f: 'startedAt' | 'finishedAt'): number =>
      Date.parse(final.steps.find((s) => s.id === id)?.[f] ?? '');
    assert.ok(
      at('create_account:wiki', 'startedAt') >= at('create_account:idp', 'finishedAt'),
      'app created after IdP',
    );
    assert.ok(
      at('activate_account:wiki', 'startedAt') >= at('activate_account:idp', 'finishedAt'),
      'app enabled after IdP',
    );

    // The entity records the event (once it has taken note of the finished child) and is findable too.
    const entityHandle = t.client.workflow.getHandle(employeeWorkflowId(record.hrId));
    await waitFor(async () => (await entityHandle.query(employeeStatusQuery)).current === undefined);
    const entity = await entityHandle.query(employeeStatusQuery);
    assert.deepEqual(
      entity.events.map((e) => [e.eventId, e.outcome, e.state]),
      [[eventId, 'accepted', 'done']],
    );
  });
});
