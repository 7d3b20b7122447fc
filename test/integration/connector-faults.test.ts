import assert from 'node:assert/strict';
import type { EmployeeRecord } from '../../src/domain/employee';
import { employeeWorkflowId, eventWorkflowId } from '../../src/domain/ids';
import type { ScimPeer } from '../../src/dev/scim-peer';
import { employeeStatusQuery } from '../../src/workflows/employee/messages';
import type { OnboardingStatus } from '../../src/workflows/onboarding/messages';
import type { onboardingWorkflow } from '../../src/workflows/onboarding/onboarding';
import { instantFromNow, makeRecord } from '../helpers/records';
import { workflowBundle } from '../helpers/temporal';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { resultWhenStarted, waitFor } from '../helpers/wait';

/** The connector timeout every system gets in this suite (the policy's `connector.timeoutMs`). */
const CONNECTOR_TIMEOUT_MS = 1_000;

/**
 * Idempotency under fault injection, through real workflows: signed webhook → intake → entity → onboarding →
 * activities → SCIM peers that misbehave. Temporal does the retrying; the connector must never create a
 * second account and the run must lose no step.
 */
describe('connector faults through real workflows: one account per person, no lost step', function () {
  this.timeout(120_000);
  const tz = 'Europe/Lisbon';
  let when: ReturnType<typeof instantFromNow>;
  let t: TenureHarness;

  before(async () => {
    await workflowBundle(); // bundle first, so the instant below is measured from a ready worker
    when = instantFromNow(6, tz);
    t = await startTenure({
      activationTime: when.activationTime,
      policy: (p) => ({
        ...p,
        systems: p.systems.map((s) => ({ ...s, connector: { ...s.connector, timeoutMs: CONNECTOR_TIMEOUT_MS } })),
      }),
    });
  });
  after(async () => {
    await t?.stop();
  });

  /** Send a hire (the first one waits for the instant; later ones are late and run at once) and wait for the run. */
  async function hire(): Promise<{ record: EmployeeRecord; final: OnboardingStatus }> {
    const record = makeRecord({
      hireDate: when.hireDate,
      location: { name: 'Lisbon', countryCode: 'PT', timeZone: tz },
    });
    const eventId = `evt-${record.hrId}`;
    const answer = await t.tenure.sendEvent({ eventId, kind: 'hire', record });
    assert.equal(answer.status, 202, JSON.stringify(answer));
    const child = t.client.workflow.getHandle<typeof onboardingWorkflow>(eventWorkflowId(record.hrId, 'hire', eventId));
    // The entity starts the run after it answered (a late one it carries out itself): wait for its result.
    const final = await resultWhenStarted(child, 20_000);
    // And the entity records the run as done once it sees the child finish.
    const entity = t.client.workflow.getHandle(employeeWorkflowId(record.hrId));
    await waitFor(
      async () => (await entity.query(employeeStatusQuery)).events.every((e) => e.state === 'done'),
      20_000,
      'the entity to record the run as done',
    );
    assert.deepEqual(
      (await entity.query(employeeStatusQuery)).events.map((e) => [e.eventId, e.outcome, e.state]),
      [[eventId, 'accepted', 'done']],
    );
    return { record, final };
  }

  function accountsOf(peer: ScimPeer, hrId: string): number {
    return peer.users().filter((u) => u.externalId === hrId).length;
  }

  function assertOneAccountEach(record: EmployeeRecord): void {
    assert.equal(accountsOf(t.idp, record.hrId), 1, 'exactly one identity-provider account');
    assert.equal(accountsOf(t.app, record.hrId), 1, 'exactly one app account');
    const [idpUser] = t.idp.users().filter((u) => u.externalId === record.hrId);
    assert.equal(idpUser?.active, true);
  }

  /**
   * No lost step: the run completed and every step of the plan succeeded. Returns what the account-creating
   * step of each system answered (`created` / `adopted` / `updated`).
   */
  function creations(final: OnboardingStatus): Record<string, string | undefined> {
    assert.equal(final.stage, 'completed', JSON.stringify(final));
    assert.deepEqual(
      final.steps.filter((s) => s.state !== 'succeeded').map((s) => [s.id, s.state, s.error]),
      [],
      'every step succeeded',
    );
    const out: Record<string, string | undefined> = {};
    for (const s of final.steps) {
      if (s.systemId !== undefined && /^(create|ensure)_account:/.test(s.id)) out[s.systemId] = s.outcome;
    }
    return out;
  }

  it('a timeout after the write: the retry adopts the account the lost answer created', async () => {
    t.idp.faults.delayResponse(1, CONNECTOR_TIMEOUT_MS * 3, { method: 'POST', path: '/Users' });
    const posts = t.idp.requests.filter((r) => r.method === 'POST').length;
    const { record, final } = await hire();

    assert.deepEqual(creations(final), { idp: 'adopted', wiki: 'created' });
    assertOneAccountEach(record);
    assert.equal(t.idp.requests.filter((r) => r.method === 'POST').length - posts, 1, 'one create, never a second');
    assert.equal(t.idp.faults.pending, 0, 'the fault fired');
  });

  it('a connection reset after the write: the retry adopts, one account', async () => {
    t.idp.faults.dropResponseAfterWrite(1, { method: 'POST', path: '/Users' });
    const posts = t.idp.requests.filter((r) => r.method === 'POST').length;
    const { record, final } = await hire();

    assert.deepEqual(creations(final), { idp: 'adopted', wiki: 'created' });
    assertOneAccountEach(record);
    assert.equal(t.idp.requests.filter((r) => r.method === 'POST').length - posts, 1);
    assert.equal(t.idp.faults.pending, 0);
  });

  it('429 with Retry-After: Temporal waits that long, then the step creates the one account', async () => {
    const retryAfterSeconds = 3;
    t.idp.faults.next(1, { method: 'POST', path: '/Users', status: 429, retryAfter: retryAfterSeconds });
    const seen = t.idp.requests.length;
    const { record, final } = await hire();

    // The 429 came before any write, so the retry is the first create.
    assert.deepEqual(creations(final), { idp: 'created', wiki: 'created' });
    assertOneAccountEach(record);
    const mine = t.idp.requests.slice(seen);
    const limited = mine.findIndex((r) => r.status === 429);
    assert.ok(limited >= 0, 'the peer answered 429');
    const next = mine[limited + 1];
    assert.ok(next, 'the step was retried');
    const waited = next.at - (mine[limited]?.at ?? 0);
    // Without Retry-After the first retry would come after the policy's 1 s initial interval.
    assert.ok(waited >= retryAfterSeconds * 1000 - 100, `retried after ${waited} ms, before Retry-After`);
  });

  it('a burst of 500s: retried with backoff until the create goes through, one account', async () => {
    const burst = 3;
    t.app.faults.next(burst, { method: 'POST', path: '/Users', status: 500 });
    const seen = t.app.requests.length;
    const { record, final } = await hire();

    assert.deepEqual(creations(final), { idp: 'created', wiki: 'created' });
    assertOneAccountEach(record);
    const posts = t.app.requests.slice(seen).filter((r) => r.method === 'POST');
    assert.deepEqual(
      posts.map((r) => r.status),
      [...Array<number>(burst).fill(500), 201],
    );
  });

  it('every fault at once, on both systems: still one account each and every step done', async () => {
    t.idp.faults.next(2, { method: 'GET', path: '/Users', status: 503 });
    t.idp.faults.dropResponseAfterWrite(1, { method: 'POST', path: '/Users' });
    t.app.faults.delayResponse(1, CONNECTOR_TIMEOUT_MS * 3, { method: 'POST', path: '/Users' });
    t.app.faults.next(1, { method: 'GET', path: '/Users', status: 429, retryAfter: 1 });
    const { record, final } = await hire();

    assert.deepEqual(creations(final), { idp: 'adopted', wiki: 'adopted' });
    assertOneAccountEach(record);
    assert.equal(t.idp.faults.pending + t.app.faults.pending, 0, 'every fault fired');
  });
});
