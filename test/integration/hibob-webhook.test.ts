import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { deriveHibobKind, hibobWebhookConfigFromPolicy, type HibobWebhookAnswer } from '../../src/client/hibob-webhook';
import { requiredVariables } from '../../src/app/settings';
import type { EmployeeRecord } from '../../src/domain/employee';
import { syncPolicySchema, syncSecretVariables } from '../../src/domain/policy-sync';
import { employeeWorkflowId } from '../../src/domain/ids';
import type { EmployeeStatus } from '../../src/workflows/employee/messages';
import { employeeStatusQuery } from '../../src/workflows/employee/messages';
import { workflowBundle } from '../helpers/temporal';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { waitFor } from '../helpers/wait';
import { startHibobStandin, type HibobStandin, type HibobStandinEmployee } from '../peers/hibob-standin';

/**
 * HiBob's signed webhooks on the intake server (`POST /webhooks/hibob`), on the real dev server: the policy's sync
 * source is HiBob with a webhook secret; the HiBob stand-in holds the people and signs the events as HiBob does.
 */
const SERVICE_USER = { id: 'SERVICE-TENURE-1', token: 'hibob-service-token-0123456789' };
const WEBHOOK_SECRET = 'hibob-webhook-secret-token';
const LOCATIONS = { Lisbon: { countryCode: 'PT', timeZone: 'Europe/Lisbon' } };

let seq = 0;
/** HiBob ids are long digit strings; unique per run so entities never collide on the shared dev server. */
function uniqueId(): string {
  seq += 1;
  return `${Date.now()}${String(seq).padStart(4, '0')}`;
}

function isoDay(offsetDays: number): string {
  return new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
}

function person(over: HibobStandinEmployee = {}): HibobStandinEmployee {
  const id = uniqueId();
  return {
    id,
    firstName: 'Inês',
    surname: `Bob${id.slice(-6)}`,
    email: `ines.${id}@acme.example`,
    department: 'Engineering',
    title: 'Engineer',
    site: 'Lisbon',
    startDate: isoDay(-30),
    lifecycleStatus: 'employed',
    ...over,
  };
}

describe('HiBob webhooks on the intake server (POST /webhooks/hibob)', function () {
  this.timeout(120_000);
  let bob: HibobStandin;
  let t: TenureHarness;
  let url: string;

  before(async () => {
    await workflowBundle();
    bob = await startHibobStandin({ serviceUsers: [SERVICE_USER] });
    t = await startTenure({
      policy: (p) => ({
        ...p,
        sync: {
          source: {
            type: 'hibob',
            baseUrl: bob.url,
            serviceUserIdEnv: 'TEST_HIBOB_ID',
            tokenEnv: 'TEST_HIBOB_TOKEN',
            webhookSecretEnv: 'TEST_HIBOB_WEBHOOK_SECRET',
            locations: LOCATIONS,
          },
          enabled: false,
        },
      }),
      vars: {
        TEST_HIBOB_ID: SERVICE_USER.id,
        TEST_HIBOB_TOKEN: SERVICE_USER.token,
        TEST_HIBOB_WEBHOOK_SECRET: WEBHOOK_SECRET,
      },
    });
    url = `${t.intake.url}/webhooks/hibob`;
  });
  after(async () => {
    await t?.stop();
    await bob?.close();
  });

  const answer = (body: unknown): HibobWebhookAnswer => body as HibobWebhookAnswer;
  const idpUser = (hrId: string) => t.idp.users().find((u) => u.externalId === hrId);
  const workflowsOf = async (hrId: string): Promise<string[]> => {
    const ids: string[] = [];
    for await (const wf of t.client.workflow.list({ query: `TenureEmployeeId = "${hrId}"` })) ids.push(wf.workflowId);
    return ids;
  };
  const evidence = async (hrId: string) => {
    const rows = [];
    for await (const r of t.audit.stream()) if (r.hrId === hrId) rows.push(r);
    return rows;
  };
  /** A joiner hired through a signed `employee.created`, their account active in the identity provider. */
  const hired = async (over: HibobStandinEmployee = {}): Promise<string> => {
    const id = bob.addEmployee(person(over));
    const res = await bob.sendWebhook(url, WEBHOOK_SECRET, { type: 'employee.created', employeeId: id });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    await waitFor(() => idpUser(id)?.active === true, 60_000, 'the joiner account is active');
    return id;
  };

  it('a signed employee.created for a new joiner is accepted as a hire; the account appears in the IdP', async () => {
    const id = bob.addEmployee(person());
    const res = await bob.sendWebhook(url, WEBHOOK_SECRET, { type: 'employee.created', employeeId: id });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const a = answer(res.body);
    assert.equal(a.outcome, 'accepted');
    assert.equal(a.kind, 'hire');
    assert.equal(a.employeeId, id);
    assert.match(a.eventId ?? '', new RegExp(`^hibob-${id}-[0-9a-f]{16}$`));
    assert.equal(a.workflowId, `employee/${id}/hire/${a.eventId}`);

    await waitFor(() => idpUser(id)?.active === true, 60_000, 'the joiner account is active');
    assert.equal(idpUser(id)?.userName, `ines.${id}@acme.example`);
    // HiBob was read through the People API with the service user, filtered on the employee's id.
    const read = bob.requests.filter((r) => r.path.endsWith('/people/search')).at(-1);
    assert.deepEqual((read?.body as { filters?: unknown }).filters, [
      { fieldPath: '/root/id', operator: 'equals', values: [id] },
    ]);

    const rows = await evidence(id);
    const received = rows.find((r) => r.action === 'hr_event_received');
    assert.equal(received?.outcome, 'accepted');
    assert.equal(received?.detail?.source, 'hibob');
    assert.ok(!JSON.stringify(rows).includes('Inês'), 'evidence holds no names');
    assert.ok(!JSON.stringify(t.logLines).includes('Inês'), 'the intake never logs personal data');
  });

  it('the same delivery again (HiBob retrying) is a duplicate: nothing runs twice', async () => {
    const id = bob.addEmployee(person());
    const event = { type: 'employee.created', employeeId: id, triggeredAt: '2026-03-02T10:11:12.345678' };
    const first = await bob.sendWebhook(url, WEBHOOK_SECRET, event);
    assert.equal(first.status, 202, JSON.stringify(first.body));
    const again = await bob.sendWebhook(url, WEBHOOK_SECRET, event);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(answer(again.body).outcome, 'duplicate');
    assert.equal(answer(again.body).kind, 'hire');
    assert.equal(answer(again.body).eventId, answer(first.body).eventId);
    await waitFor(() => idpUser(id)?.active === true, 60_000, 'the joiner account is active');
    assert.equal(t.idp.users().filter((u) => u.externalId === id).length, 1, 'one account');
    // One hire run: the entity accepted the hire once (and carried it out itself: no run workflow of its own).
    const entity = await t.client.workflow.getHandle(employeeWorkflowId(id)).query(employeeStatusQuery);
    const hires = entity.events.filter((e) => e.kind === 'hire' && e.outcome === 'accepted');
    assert.equal(hires.length, 1, 'one hire run');
    assert.ok((await workflowsOf(id)).filter((w) => w.includes('/hire/')).length <= 1, 'at most one hire workflow');
  });

  it('a bad signature is 401 JSON, audited as a counted refusal, and nothing is delivered', async () => {
    const id = bob.addEmployee(person());
    await t.intake.flushRefusals();
    const aggregated = async () => {
      const rows = [];
      for await (const r of t.audit.stream()) if (r.action === 'unauthenticated_requests_refused') rows.push(r);
      return rows;
    };
    const before = (await aggregated()).length;
    const forged = await bob.sendWebhook(
      url,
      WEBHOOK_SECRET,
      { type: 'employee.created', employeeId: id },
      { signature: Buffer.alloc(64, 7).toString('base64') },
    );
    assert.equal(forged.status, 401);
    assert.deepEqual(Object.keys(forged.body as object).sort(), ['error', 'message', 'requestId']);
    assert.equal((forged.body as { error: string }).error, 'bad_signature');
    const wrongSecret = await bob.sendWebhook(url, 'another-secret', { type: 'employee.created', employeeId: id });
    assert.equal(wrongSecret.status, 401);
    const unsigned = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'employee.created', triggeredAt: '2026-01-01T00:00:00', data: { employeeId: id } }),
    });
    assert.equal(unsigned.status, 401);
    assert.match(((await unsigned.json()) as { message: string }).message, /missing bob-signature/);

    await t.intake.flushRefusals();
    const rows = await aggregated();
    assert.equal(rows.length, before + 1, 'one aggregated row, not one per request');
    assert.deepEqual(await evidence(id), [], 'no row of its own');
    const reasons = (rows.at(-1)?.detail?.reasons ?? []) as { endpoint: string; status: number; error: string }[];
    assert.ok(
      reasons.some((r) => r.endpoint === '/webhooks/hibob' && r.status === 401 && r.error === 'bad_signature'),
      JSON.stringify(reasons),
    );
    assert.deepEqual(await workflowsOf(id), [], 'nothing refused reached Temporal');
    assert.equal(idpUser(id), undefined);
    assert.ok(!bob.requests.some((r) => JSON.stringify(r.body ?? '').includes(id)), 'HiBob was not even read');
  });

  it('a ping answers 200 and does nothing; a signed body that is no HiBob event is 400, audited', async () => {
    const ping = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'Bob-Signature': signed('Ping test') },
      body: 'Ping test',
    });
    assert.equal(ping.status, 200);
    assert.equal(((await ping.json()) as HibobWebhookAnswer).outcome, 'ignored');

    const junkBody = JSON.stringify({ hello: 'world' });
    const junk = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'Bob-Signature': signed(junkBody) },
      body: junkBody,
    });
    assert.equal(junk.status, 400);
    const requestId = ((await junk.json()) as { requestId: string }).requestId;
    const rows = [];
    for await (const r of t.audit.stream()) if (r.requestId === requestId) rows.push(r);
    assert.deepEqual(
      rows.map((r) => [r.action, r.outcome, r.detail?.endpoint, r.detail?.status]),
      [['hr_event_refused', 'refused', '/webhooks/hibob', 400]],
    );
  });

  it('employee.deleted is reported and audited, never a termination: the account stays as it is', async () => {
    const id = await hired();
    const res = await bob.sendWebhook(url, WEBHOOK_SECRET, { type: 'employee.deleted', employeeId: id });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(answer(res.body).outcome, 'reported');
    const reported = (await evidence(id)).filter((r) => r.action === 'hr_event_reported');
    assert.equal(reported.length, 1);
    assert.equal(reported[0]?.outcome, 'reported');
    assert.equal(reported[0]?.detail?.type, 'employee.deleted');

    // Gone from HiBob (no longer visible to the service user): reported the same way.
    bob.removeEmployee(id);
    const gone = await bob.sendWebhook(url, WEBHOOK_SECRET, { type: 'employee.updated', employeeId: id });
    assert.equal(gone.status, 200);
    assert.equal(answer(gone.body).outcome, 'reported');

    const exits = (await workflowsOf(id)).filter((w) => /\/(termination|cancel_hire)\//.test(w));
    assert.deepEqual(exits, [], 'no exit run');
    assert.equal(idpUser(id)?.active, true, 'the account is untouched');
  });

  it('a termination date set in HiBob and employee.updated is a termination; the account is disabled', async () => {
    const id = await hired();
    bob.updateEmployee(id, { terminationDate: isoDay(-1), lifecycleStatus: 'terminated', status: 'Inactive' });
    const res = await bob.sendWebhook(url, WEBHOOK_SECRET, { type: 'employee.updated', employeeId: id });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(answer(res.body).outcome, 'accepted');
    assert.equal(answer(res.body).kind, 'termination');
    await waitFor(() => idpUser(id)?.active === false, 60_000, 'the leaver account is disabled');
  });

  it('HiBob data that makes no valid record is 422 naming fields, never values', async () => {
    const id = bob.addEmployee(person({ site: 'Atlantis', email: null }));
    const res = await bob.sendWebhook(url, WEBHOOK_SECRET, { type: 'employee.created', employeeId: id });
    assert.equal(res.status, 422, JSON.stringify(res.body));
    const body = res.body as { error: string; issues: { path: string }[] };
    assert.equal(body.error, 'invalid_record');
    assert.deepEqual(body.issues.map((i) => i.path).sort(), ['/root/email', '/work/site']);
    assert.ok(!JSON.stringify(body).includes('Atlantis'));
    assert.deepEqual(await workflowsOf(id), []);
    const refused = (await evidence(id)).filter((r) => r.action === 'hr_event_refused');
    assert.equal(refused[0]?.detail?.status, 422);
  });

  it('HiBob throttling is 503 with Retry-After, so HiBob sends the event again; the retry is accepted', async () => {
    const id = bob.addEmployee(person());
    const body = JSON.stringify({
      companyId: 636192,
      type: 'employee.created',
      triggeredBy: '3332883804594373380',
      triggeredAt: '2026-03-03T08:00:00.000000',
      version: 'v2',
      data: { employeeId: id },
    });
    const send = () =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'Bob-Signature': signed(body) },
        body,
      });
    bob.throttle(1, 7);
    const throttled = await send();
    assert.equal(throttled.status, 503);
    assert.equal(throttled.headers.get('retry-after'), '7');
    assert.equal(((await throttled.json()) as { error: string }).error, 'hris_unavailable');
    assert.deepEqual(await workflowsOf(id), []);
    const retry = await send();
    assert.equal(retry.status, 202);
    assert.equal(((await retry.json()) as HibobWebhookAnswer).outcome, 'accepted');
  });

  it('is configured from the sync source, and the intake requires its secrets', () => {
    const sync = syncPolicySchema.parse({
      source: {
        type: 'hibob',
        serviceUserIdEnv: 'HIBOB_ID',
        tokenEnv: 'HIBOB_TOKEN',
        webhookSecretEnv: 'HIBOB_WEBHOOK_SECRET',
      },
    });
    assert.deepEqual(syncSecretVariables(sync), ['HIBOB_ID', 'HIBOB_TOKEN'], 'the worker reads the roster');
    assert.deepEqual(syncSecretVariables(sync, 'intake'), ['HIBOB_WEBHOOK_SECRET', 'HIBOB_ID', 'HIBOB_TOKEN']);
    const intakeVars = requiredVariables('intake', { ...t.policy.policy, sync });
    assert.ok(['HIBOB_WEBHOOK_SECRET', 'HIBOB_ID', 'HIBOB_TOKEN'].every((v) => intakeVars.includes(v)));
    assert.ok(!requiredVariables('worker', { ...t.policy.policy, sync }).includes('HIBOB_WEBHOOK_SECRET'));

    const withoutWebhook = syncPolicySchema.parse({
      source: { type: 'hibob', serviceUserIdEnv: 'HIBOB_ID', tokenEnv: 'HIBOB_TOKEN' },
    });
    assert.equal(hibobWebhookConfigFromPolicy(withoutWebhook, {}), undefined, 'no webhook secret: not mounted');
    assert.deepEqual(syncSecretVariables(withoutWebhook, 'intake'), []);
    assert.throws(
      () => hibobWebhookConfigFromPolicy(sync, { HIBOB_ID: 'i', HIBOB_TOKEN: 't' }),
      /HIBOB_WEBHOOK_SECRET is not set/,
    );
    assert.throws(
      () => hibobWebhookConfigFromPolicy(sync, { HIBOB_WEBHOOK_SECRET: 's', HIBOB_ID: 'i' }),
      /HIBOB_TOKEN is not set/,
    );
    assert.equal(
      syncPolicySchema.safeParse({
        source: { type: 'hibob', serviceUserIdEnv: 'A', tokenEnv: 'B', webhookSecretEnv: 'not a name' },
      }).success,
      false,
    );
  });

  it('derives the kind as BambooHR does, against what the entity last accepted', () => {
    const record = (status: EmployeeRecord['status']): EmployeeRecord =>
      ({ hrId: '1', status }) as unknown as EmployeeRecord;
    const entity = (last: EmployeeRecord['status'], hired = true): EmployeeStatus => ({
      hrId: '1',
      queued: 0,
      events: hired ? [{ eventId: 'h', kind: 'hire', outcome: 'accepted', receivedAt: '', state: 'done' }] : [],
      pendingRevocations: [],
      exceptions: [],
      record: record(last),
    });
    assert.equal(deriveHibobKind(record('active'), 'e'), 'hire');
    assert.equal(deriveHibobKind(record('pre_hire'), 'e'), 'hire');
    assert.equal(deriveHibobKind(record('terminated'), 'e'), null, 'a leaver Tenure never knew');
    assert.equal(deriveHibobKind(record('active'), 'e', entity('active')), 'change');
    assert.equal(deriveHibobKind(record('terminated'), 'e', entity('active')), 'termination');
    assert.equal(deriveHibobKind(record('terminated'), 'e', entity('terminated')), 'change');
    assert.equal(deriveHibobKind(record('on_leave'), 'e', entity('active')), 'leave_start');
    assert.equal(deriveHibobKind(record('on_leave'), 'e', entity('on_leave')), 'change');
    assert.equal(deriveHibobKind(record('active'), 'e', entity('on_leave')), 'leave_end');
    assert.equal(deriveHibobKind(record('active'), 'h', entity('active')), 'hire', 'a seen event keeps its kind');
    assert.equal(deriveHibobKind(record('active'), 'e', entity('active', false)), 'hire');
  });
});

/** Base64 HMAC-SHA512 over the raw body, as HiBob signs (computed here, independently of the code under test). */
function signed(body: string): string {
  return createHmac('sha512', WEBHOOK_SECRET).update(body).digest('base64');
}
