import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import pino from 'pino';
import { ConnectorError } from '../../src/activities/identity';
import {
  BAMBOO_EMPLOYEE_FIELDS,
  BambooClient,
  bambooBaseUrl,
  createBambooHrisConnector,
  mapBambooEmployee,
  parseBambooWebhook,
  signBambooWebhook,
  verifyBambooWebhook,
  type BambooEmployee,
} from '../../src/activities/hris/bamboohr';
import {
  BAMBOO_WEBHOOK_PATH,
  bambooWebhookConfigFromEnv,
  createBambooWebhookRouter,
  type BambooEmployeeOutcome,
} from '../../src/client/bamboohr-webhook';
import { startBambooStandin, type BambooStandin, type StandinEmployee } from '../../src/dev/bamboohr-standin';
import { employeeWorkflowId } from '../../src/domain/ids';
import { EMPLOYEE_ID } from '../../src/workflows/search-attributes';
import { workflowBundle } from '../helpers/temporal';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';

const API_KEY = 'bamboo-api-key-0123456789';
const PRIVATE_KEY = 'bamboo-webhook-private-key';
const LOCATIONS = {
  Lisbon: { countryCode: 'PT', timeZone: 'Europe/Lisbon' },
  'New York': { countryCode: 'US', timeZone: 'America/New_York' },
};

async function rejection(promise: Promise<unknown>): Promise<ConnectorError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ConnectorError, `expected ConnectorError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

let people = 0;
function person(over: StandinEmployee = {}): StandinEmployee {
  people += 1;
  return {
    firstName: 'Rita',
    lastName: `Sousa${people}`,
    preferredName: null,
    workEmail: `rita.sousa${people}.${Date.now().toString(36)}@acme.example`,
    homeEmail: null,
    department: 'Engineering',
    jobTitle: 'Engineer',
    location: 'Lisbon',
    status: 'Active',
    employmentHistoryStatus: 'Full-Time',
    hireDate: '2031-03-03',
    terminationDate: '0000-00-00',
    supervisorEId: null,
    ...over,
  };
}

describe('BambooHR: stand-in, REST client, mapping, signed webhook into real workflows', function () {
  this.timeout(60_000);
  let bamboo: BambooStandin;
  let client: BambooClient;

  before(async () => {
    bamboo = await startBambooStandin({ companyDomain: 'acme', apiKeys: [API_KEY] });
    client = new BambooClient({ baseUrl: bamboo.url, apiKey: API_KEY, timeoutMs: 2_000 });
  });
  after(async () => {
    await bamboo?.close();
  });

  describe('the REST client against the stand-in', () => {
    it('builds the documented base URL from the company domain', () => {
      assert.equal(bambooBaseUrl('acme'), 'https://api.bamboohr.com/api/gateway.php/acme/v1');
      assert.throws(() => bambooBaseUrl('acme/../x'), RangeError);
    });

    it('reads an employee with the fields asked for, as JSON', async () => {
      const id = bamboo.addEmployee(person({ firstName: 'Ana' }));
      const e = await client.getEmployee(id, ['firstName', 'hireDate', 'terminationDate', 'homeEmail']);
      assert.deepEqual(e, {
        id,
        firstName: 'Ana',
        hireDate: '2031-03-03',
        terminationDate: '0000-00-00',
        homeEmail: null,
      });
      const last = bamboo.requests.at(-1);
      assert.equal(last?.path, `/api/gateway.php/acme/v1/employees/${id}/`);
    });

    it('rejects what BambooHR rejects: no auth or a bad key 401, unknown employee 404, bad fields 400', async () => {
      const id = bamboo.addEmployee(person());
      const anonymous = await fetch(`${bamboo.url}/employees/${id}/?fields=firstName`, {
        headers: { accept: 'application/json' },
      });
      assert.equal(anonymous.status, 401);
      assert.match(anonymous.headers.get('x-bamboohr-error-message') ?? '', /API key/);

      const wrongKey = 'not-the-key-0000';
      const bad = await rejection(
        new BambooClient({ baseUrl: bamboo.url, apiKey: wrongKey }).getEmployee(id, ['firstName']),
      );
      assert.equal(bad.type, 'unauthorized');
      assert.equal(bad.retryable, false);
      assert.ok(!bad.message.includes(wrongKey) && !JSON.stringify(bad.details).includes(wrongKey));
      assert.ok(!bad.message.includes(Buffer.from(`${wrongKey}:x`).toString('base64')));

      const missing = await rejection(client.getEmployee('999999', ['firstName']));
      assert.equal(missing.type, 'not_found');

      const field = await rejection(client.getEmployee(id, ['firstName', 'shoeSize']));
      assert.equal(field.type, 'invalid_request');
      assert.match(field.message, /-> 400$/);
      assert.ok(!field.message.includes('shoeSize'), 'the error header text is not quoted');

      const noFields = await fetch(`${bamboo.url}/employees/${id}/`, {
        headers: {
          authorization: `Basic ${Buffer.from(`${API_KEY}:x`).toString('base64')}`,
          accept: 'application/json',
        },
      });
      assert.equal(noFields.status, 400);

      const otherCompany = await rejection(
        new BambooClient({ baseUrl: bamboo.url.replace('/acme/', '/other/'), apiKey: API_KEY }).getEmployee(id, [
          'firstName',
        ]),
      );
      assert.equal(otherCompany.type, 'not_found');
    });

    it('answers XML unless asked for JSON, as BambooHR does; the client always asks for JSON', async () => {
      const id = bamboo.addEmployee(person({ firstName: 'Zé' }));
      const res = await fetch(`${bamboo.url}/employees/${id}/?fields=firstName`, {
        headers: { authorization: `Basic ${Buffer.from(`${API_KEY}:x`).toString('base64')}` },
      });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /xml/);
      assert.match(await res.text(), /<field id="firstName">Zé<\/field>/);
    });

    it('throttling (503 with Retry-After) is rate_limited with the delay', async () => {
      const id = bamboo.addEmployee(person());
      bamboo.throttle(1, 7);
      const err = await rejection(client.getEmployee(id, ['firstName']));
      assert.equal(err.type, 'rate_limited');
      assert.equal(err.details.retryAfterMs, 7_000);
      assert.equal((await client.getEmployee(id, ['firstName'])).id, id);
    });

    it('writes the work email back, and BambooHR rejects a bad one', async () => {
      const id = bamboo.addEmployee(person({ workEmail: null }));
      await client.updateWorkEmail(id, 'rita.new@acme.example');
      assert.equal(bamboo.employee(id)?.workEmail, 'rita.new@acme.example');
      assert.equal((await client.getEmployee(id, ['workEmail'])).workEmail, 'rita.new@acme.example');
      assert.equal(bamboo.requests.at(-2)?.method, 'POST');

      assert.equal((await rejection(client.updateWorkEmail(id, 'not-an-email'))).type, 'invalid_request');
      const raw = await fetch(`${bamboo.url}/employees/${id}/`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${API_KEY}:x`).toString('base64')}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ workEmail: 'nope' }),
      });
      assert.equal(raw.status, 400);
      assert.equal((await rejection(client.updateWorkEmail('424242', 'a@acme.example'))).type, 'not_found');
      assert.equal((await rejection(client.updateWorkEmail('../x', 'a@acme.example'))).type, 'invalid_request');

      // The same write-back through the HrisConnector interface the workflow's write-back step uses.
      const hris = createBambooHrisConnector({ type: 'bamboohr', baseUrl: bamboo.url }, API_KEY);
      assert.equal(hris.name, 'bamboohr');
      await hris.writeWorkEmail(id, 'rita.final@acme.example');
      await hris.writeWorkEmail(id, 'rita.final@acme.example');
      assert.equal(bamboo.employee(id)?.workEmail, 'rita.final@acme.example');
    });
  });

  describe('mapping BambooHR fields to an EmployeeRecord', () => {
    const now = () => new Date('2030-06-15T12:00:00Z');
    const employee = (over: Partial<BambooEmployee> = {}): BambooEmployee => ({
      id: '7',
      firstName: 'Maria',
      lastName: 'Costa',
      preferredName: 'Mia',
      workEmail: 'mia@acme.example',
      homeEmail: 'mia@home.example',
      department: 'Sales',
      jobTitle: 'Account Executive',
      location: 'New York',
      status: 'Active',
      employmentHistoryStatus: 'Contractor',
      hireDate: '2030-07-01',
      terminationDate: '0000-00-00',
      supervisorEId: '3',
      lastChanged: '2030-06-14T10:00:00+00:00',
      ...over,
    });

    it('maps every field, with preferred name, location table and employment type', () => {
      const r = mapBambooEmployee(employee(), { locations: LOCATIONS, now });
      assert.ok(r.ok, JSON.stringify(r));
      assert.deepEqual(r.record, {
        hrId: '7',
        legalFirstName: 'Maria',
        legalLastName: 'Costa',
        preferredFirstName: 'Mia',
        personalEmail: 'mia@home.example',
        workEmail: 'mia@acme.example',
        department: 'Sales',
        title: 'Account Executive',
        location: { name: 'New York', countryCode: 'US', timeZone: 'America/New_York' },
        managerHrId: '3',
        employmentType: 'contractor',
        status: 'pre_hire',
        hireDate: '2030-07-01',
        sourceUpdatedAt: '2030-06-14T10:00:00.000Z',
      });
    });

    it('derives status from the dates in the location time zone', () => {
      const status = (over: Partial<BambooEmployee>) => {
        const r = mapBambooEmployee(employee(over), { locations: LOCATIONS, now });
        assert.ok(r.ok, JSON.stringify(r));
        return [r.record.status, r.record.exitDate];
      };
      assert.deepEqual(status({ hireDate: '2020-01-01' }), ['active', undefined]);
      assert.deepEqual(status({ hireDate: '2020-01-01', terminationDate: '2030-06-15' }), ['terminated', '2030-06-15']);
      assert.deepEqual(status({ hireDate: '2020-01-01', terminationDate: '2030-07-31' }), ['active', '2030-07-31']);
      assert.deepEqual(status({ hireDate: '2020-01-01', status: 'Inactive' }), ['terminated', undefined]);
      assert.deepEqual(status({ hireDate: '2020-01-01', employmentHistoryStatus: 'Leave of Absence' }), [
        'on_leave',
        undefined,
      ]);
      // 2030-06-15T12:00Z is already the 15th in New York: a hire on the 15th is active, not pre-hire.
      assert.deepEqual(status({ hireDate: '2030-06-15' }), ['active', undefined]);
    });

    it('refuses what it cannot map, naming BambooHR fields', () => {
      const r = mapBambooEmployee(
        employee({ location: 'Mars', hireDate: '0000-00-00', homeEmail: 'x', department: '' }),
        {
          locations: LOCATIONS,
          now,
        },
      );
      assert.ok(!r.ok);
      assert.deepEqual(r.issues.map((i) => i.field).sort(), ['department', 'hireDate', 'homeEmail', 'location']);
      const fallback = mapBambooEmployee(employee({ location: 'Mars' }), {
        locations: LOCATIONS,
        defaultLocation: { name: 'Remote', countryCode: 'PT', timeZone: 'Europe/Lisbon' },
        now,
      });
      assert.ok(fallback.ok);
      assert.equal(fallback.record.location.name, 'Remote');
    });
  });

  describe('webhook signing and payloads', () => {
    const body = Buffer.from('{"employees":[{"id":"7","action":"Updated"}]}');
    const ts = '1760000000';

    it('signs hex HMAC-SHA256 over the raw body followed by the timestamp', () => {
      const expected = createHmac('sha256', PRIVATE_KEY)
        .update(body.toString() + ts)
        .digest('hex');
      assert.equal(signBambooWebhook(PRIVATE_KEY, body, ts), expected);
      const ok = verifyBambooWebhook({
        secret: PRIVATE_KEY,
        timestamp: ts,
        signature: expected,
        rawBody: body,
        nowSeconds: 1760000100,
      });
      assert.deepEqual(ok, { ok: true });
      const upper = verifyBambooWebhook({
        secret: PRIVATE_KEY,
        timestamp: ts,
        signature: expected.toUpperCase(),
        rawBody: body,
        nowSeconds: 1760000000,
      });
      assert.deepEqual(upper, { ok: true });
    });

    it('refuses a bad signature, a changed body, a stale or future timestamp, missing headers', () => {
      const sig = signBambooWebhook(PRIVATE_KEY, body, ts);
      const verify = (o: Partial<Parameters<typeof verifyBambooWebhook>[0]>) =>
        verifyBambooWebhook({
          secret: PRIVATE_KEY,
          timestamp: ts,
          signature: sig,
          rawBody: body,
          nowSeconds: 1760000000,
          ...o,
        });
      assert.equal(verify({ signature: sig.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')) }).ok, false);
      assert.equal(verify({ rawBody: Buffer.from(`${body.toString()} `) }).ok, false);
      assert.equal(verify({ secret: 'other' }).ok, false);
      assert.equal(verify({ nowSeconds: 1760000000 + 301 }).ok, false);
      assert.equal(verify({ nowSeconds: 1760000000 - 301 }).ok, false);
      assert.equal(verify({ timestamp: undefined }).ok, false);
      assert.equal(verify({ signature: undefined }).ok, false);
      assert.equal(verify({ timestamp: 'yesterday' }).ok, false);
    });

    it('accepts an ISO 8601 timestamp header', () => {
      const iso = '2025-10-09T08:53:20+0000';
      const sig = signBambooWebhook(PRIVATE_KEY, body, iso);
      assert.deepEqual(
        verifyBambooWebhook({
          secret: PRIVATE_KEY,
          timestamp: iso,
          signature: sig,
          rawBody: body,
          nowSeconds: 1760000000,
        }),
        { ok: true },
      );
    });

    it('reads both payload shapes', () => {
      assert.deepEqual(
        parseBambooWebhook({
          type: 'employee.updated',
          timestamp: '2026-01-31T18:42:00+0000',
          data: { companyId: '12345', employeeId: '67890', changedFields: ['firstName'] },
        }),
        {
          ok: true,
          changes: [
            { employeeId: '67890', action: 'updated', at: '2026-01-31T18:42:00+0000', changedFields: ['firstName'] },
          ],
        },
      );
      const fields = parseBambooWebhook({
        employees: [
          { id: '5', action: 'Created', timestamp: 't1', changedFields: [], fields: {} },
          { id: 6, action: 'Deleted' },
          { id: '5', action: 'Updated', timestamp: 't2', changedFields: ['First Name'], fields: { 'First Name': 'X' } },
        ],
      });
      assert.deepEqual(fields, {
        ok: true,
        changes: [
          { employeeId: '6', action: 'deleted', changedFields: [] },
          { employeeId: '5', action: 'updated', at: 't2', changedFields: ['First Name'] },
        ],
      });
      assert.equal(parseBambooWebhook({ employees: [] }).ok, false);
      assert.equal(parseBambooWebhook({ employees: [{ id: '../1' }] }).ok, false);
    });
  });

  describe('the webhook router on a real Temporal worker', function () {
    this.timeout(120_000);
    let t: TenureHarness;
    let server: Server;
    let url: string;
    const logLines: Record<string, unknown>[] = [];

    before(async () => {
      await workflowBundle();
      t = await startTenure();
      const logger = pino(
        { level: 'debug' },
        { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) },
      );
      const app = express();
      app.use(
        createBambooWebhookRouter({
          client: t.client,
          taskQueue: t.taskQueue,
          secret: PRIVATE_KEY,
          bamboo: client,
          logger,
          mapping: { locations: LOCATIONS },
        }),
      );
      server = await new Promise<Server>((resolve) => {
        const s = app.listen(0, '127.0.0.1', () => resolve(s));
      });
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${BAMBOO_WEBHOOK_PATH}`;
    });
    after(async () => {
      server?.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve));
      await t?.stop();
    });

    const results = (body: unknown): BambooEmployeeOutcome[] => (body as { results: BambooEmployeeOutcome[] }).results;

    it('a signed webhook for a new employee starts their workflow; the same delivery again is a duplicate', async () => {
      const id = bamboo.addEmployee(person());
      const payload = {
        employees: [{ id, action: 'Created', timestamp: '2026-01-31T18:42:00+0000', changedFields: [], fields: {} }],
      };
      const first = await bamboo.sendWebhook(url, PRIVATE_KEY, payload);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const [outcome] = results(first.body);
      assert.equal(outcome?.outcome, 'accepted', JSON.stringify(outcome));
      assert.equal(outcome?.kind, 'hire');
      assert.match(outcome?.eventId ?? '', new RegExp(`^bamboohr-${id}-[0-9a-f]{16}$`));
      assert.equal(outcome?.workflowId, `employee/${id}/hire/${outcome?.eventId}`);

      const entity = await t.client.workflow.getHandle(employeeWorkflowId(id)).describe();
      assert.equal(entity.typedSearchAttributes.get(EMPLOYEE_ID), id);
      const child = await t.client.workflow.getHandle(outcome?.workflowId ?? '').describe();
      assert.equal(child.status.name, 'RUNNING', 'waiting for the hire date');

      const again = await bamboo.sendWebhook(url, PRIVATE_KEY, payload);
      assert.equal(again.status, 200);
      assert.equal(results(again.body)[0]?.outcome, 'duplicate');

      const update = await bamboo.sendWebhook(url, PRIVATE_KEY, {
        type: 'employee.updated',
        timestamp: '2026-02-01T09:00:00+0000',
        data: { companyId: '1', employeeId: id, changedFields: ['jobTitle'] },
      });
      assert.equal(update.status, 200);
      assert.equal(results(update.body)[0]?.kind, 'change', 'Tenure already has their hire');

      assert.ok(!JSON.stringify(logLines).includes('Sousa'), 'the router never logs personal data');
    });

    it('answers per employee: invalid, ignored (deleted, gone) and accepted in one delivery', async () => {
      const good = bamboo.addEmployee(person());
      const unmapped = bamboo.addEmployee(person({ location: 'Atlantis' }));
      const gone = bamboo.addEmployee(person());
      bamboo.removeEmployee(gone);
      const res = await bamboo.sendWebhook(url, PRIVATE_KEY, {
        employees: [
          { id: good, action: 'Created' },
          { id: unmapped, action: 'Updated' },
          { id: gone, action: 'Updated' },
          { id: '31337', action: 'Deleted' },
        ],
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(
        results(res.body).map((r) => [r.employeeId, r.outcome]),
        [
          [good, 'accepted'],
          [unmapped, 'invalid'],
          [gone, 'ignored'],
          ['31337', 'ignored'],
        ],
      );
      assert.deepEqual(
        results(res.body)[1]?.issues?.map((i) => i.field),
        ['location'],
      );
    });

    it('asks BambooHR to retry (503) when it could not read an employee for a passing reason', async () => {
      const id = bamboo.addEmployee(person());
      const payload = { employees: [{ id, action: 'Created', timestamp: '2026-03-01T10:00:00+0000' }] };
      bamboo.throttle(1, 1);
      const throttled = await bamboo.sendWebhook(url, PRIVATE_KEY, payload);
      assert.equal(throttled.status, 503);
      assert.deepEqual(
        results(throttled.body).map((r) => [r.outcome, r.retryable]),
        [['failed', true]],
      );
      const retried = await bamboo.sendWebhook(url, PRIVATE_KEY, payload);
      assert.equal(retried.status, 200);
      assert.equal(results(retried.body)[0]?.outcome, 'accepted');
    });

    it('refuses a bad signature, a stale or future timestamp, and junk', async () => {
      const id = bamboo.addEmployee(person());
      const payload = { employees: [{ id, action: 'Created' }] };
      const now = Math.floor(Date.now() / 1000);
      const badSig = await bamboo.sendWebhook(url, PRIVATE_KEY, payload, { signature: 'ab'.repeat(32) });
      assert.equal(badSig.status, 401);
      assert.equal((badSig.body as { error: string }).error, 'bad_signature');
      const wrongKey = await bamboo.sendWebhook(url, 'another-key', payload);
      assert.equal(wrongKey.status, 401);
      const stale = await bamboo.sendWebhook(url, PRIVATE_KEY, payload, { timestamp: String(now - 600) });
      assert.equal(stale.status, 401);
      assert.match((stale.body as { message: string }).message, /stale or future/);
      const future = await bamboo.sendWebhook(url, PRIVATE_KEY, payload, { timestamp: String(now + 600) });
      assert.equal(future.status, 401);
      const junk = await bamboo.sendWebhook(url, PRIVATE_KEY, { hello: 'world' });
      assert.equal(junk.status, 400);
      const workflows: string[] = [];
      for await (const wf of t.client.workflow.list({ query: `TenureEmployeeId = "${id}"` }))
        workflows.push(wf.workflowId);
      assert.deepEqual(workflows, [], 'nothing refused reached Temporal');
    });
  });

  it('reads its configuration from the environment, and refuses half a configuration', () => {
    assert.equal(bambooWebhookConfigFromEnv({}), undefined, 'BambooHR not in use');
    assert.throws(() => bambooWebhookConfigFromEnv({ BAMBOOHR_WEBHOOK_SECRET: 's' }), /BAMBOOHR_API_KEY/);
    assert.throws(
      () => bambooWebhookConfigFromEnv({ BAMBOOHR_WEBHOOK_SECRET: 's', BAMBOOHR_API_KEY: 'k' }),
      /BAMBOOHR_COMPANY/,
    );
    const env = { BAMBOOHR_WEBHOOK_SECRET: 's', BAMBOOHR_API_KEY: 'k', BAMBOOHR_COMPANY: 'acme' };
    assert.throws(
      () =>
        bambooWebhookConfigFromEnv({
          ...env,
          BAMBOOHR_LOCATIONS: '{"Lisbon":{"countryCode":"PT","timeZone":"Mars/X"}}',
        }),
      /BAMBOOHR_LOCATIONS/,
    );
    const config = bambooWebhookConfigFromEnv({
      ...env,
      BAMBOOHR_LOCATIONS: JSON.stringify(LOCATIONS),
      BAMBOOHR_DEFAULT_LOCATION: '{"name":"Remote","countryCode":"PT","timeZone":"Europe/Lisbon"}',
    });
    assert.equal(config?.secret, 's');
    assert.deepEqual(config?.mapping, {
      locations: LOCATIONS,
      defaultLocation: { name: 'Remote', countryCode: 'PT', timeZone: 'Europe/Lisbon' },
    });
  });

  it('fetches exactly the fields the mapping reads', () => {
    assert.ok(BAMBOO_EMPLOYEE_FIELDS.includes('hireDate') && BAMBOO_EMPLOYEE_FIELDS.includes('terminationDate'));
  });
});
