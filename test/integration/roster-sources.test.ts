import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { HIBOB_PEOPLE_FIELDS, hibobRequest, hibobWebhookRecord, HibobClient } from '../../src/activities/hris/hibob';
import type { HibobWebhookOutcome } from '../../src/activities/hris/hibob';
import { ConnectorError } from '../../src/activities/identity';
import { type EmployeeRecord, employeeRecordSchema } from '../../src/domain/employee';
import { syncPolicySchema, syncSecretVariables } from '../../src/domain/policy-sync';
import { rosterSourceFromPolicy } from '../../src/sync/activities';
import { hibobRosterSource } from '../../src/sync/hibob-source';
import type { RosterEntry, RosterSource } from '../../src/sync/roster-source';
import { workdayRosterSource } from '../../src/sync/workday-source';
import { startHibobStandin, type HibobStandin, type HibobStandinEmployee } from '../peers/hibob-standin';
import { startWorkdayStandin, type WorkdayStandin } from '../peers/workday-standin';

const run = Date.now().toString(36);
const today = new Date().toISOString().slice(0, 10);
const daysFrom = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
const LOCATIONS = {
  Lisbon: { countryCode: 'PT', timeZone: 'Europe/Lisbon' },
  'New York': { countryCode: 'US', timeZone: 'America/New_York' },
};

async function readAll(
  source: RosterSource,
): Promise<{ ok: EmployeeRecord[]; bad: Extract<RosterEntry, { ok: false }>[] }> {
  const ok: EmployeeRecord[] = [];
  const bad: Extract<RosterEntry, { ok: false }>[] = [];
  for await (const e of source.read()) {
    if (e.ok) ok.push(e.record);
    else bad.push(e);
  }
  return { ok, bad };
}

async function rejection(p: Promise<unknown>): Promise<ConnectorError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ConnectorError, `expected a ConnectorError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

/** Nothing personal, and no secret, in an error a log or the evidence would carry. */
function assertNoLeak(err: ConnectorError, secrets: string[]): void {
  const text = `${err.message} ${JSON.stringify(err.details)}`;
  for (const s of secrets) assert.ok(!text.includes(s), `error quotes ${s}`);
}

describe('Roster sources: HiBob People search and Workday RaaS against honest stand-ins', function () {
  this.timeout(60_000);

  describe('HiBob', () => {
    const user = { id: `SERVICE-${run}`, token: `tok-${run}-0123456789abcdef` };
    const WEBHOOK_SECRET = `bob-secret-${run}`;
    let bob: HibobStandin;
    let receiver: Server;
    let receiverUrl: string;
    const ids: Record<string, string> = {};
    let n = 0;
    const person = (over: HibobStandinEmployee = {}): HibobStandinEmployee => {
      n += 1;
      return {
        firstName: 'Rita',
        surname: `Sousa${n}`,
        email: `rita.sousa${n}.${run}@acme.example`,
        department: n % 2 ? 'Engineering' : 'Sales',
        title: n % 3 ? 'Engineer' : 'Account Executive',
        site: n % 4 ? 'Lisbon' : 'New York',
        startDate: '2023-05-02',
        status: 'Active',
        lifecycleStatus: 'employed',
        employmentType: 'Full-time',
        ...over,
      };
    };

    before(async () => {
      bob = await startHibobStandin({ serviceUsers: [user] });
      ids.manager = bob.addEmployee(person({ title: 'Head of Engineering' }));
      for (let i = 0; i < 13; i += 1) ids[`p${i}`] = bob.addEmployee(person({ reportsTo: ids.manager }));
      ids.contractor = bob.addEmployee(person({ employmentType: 'Contractor' }));
      ids.leaver = bob.addEmployee(
        person({ status: 'Inactive', lifecycleStatus: 'terminated', terminationDate: daysFrom(-30) }),
      );
      ids.leaving = bob.addEmployee(person({ terminationDate: daysFrom(-1) }));
      ids.joiner = bob.addEmployee(person({ startDate: daysFrom(20), lifecycleStatus: 'hired' }));
      ids.onLeave = bob.addEmployee(person({ lifecycleStatus: 'leave' }));
      ids.noStart = bob.addEmployee(person({ startDate: null }));
      ids.nowhere = bob.addEmployee(person({ site: 'Atlantis' }));
      ids.badEmail = bob.addEmployee(person({ email: `not-an-email-${run}` }));

      // The intake side: a real HTTP endpoint around the exported function, raw body in, outcome out.
      const client = new HibobClient({ baseUrl: bob.url, serviceUserId: user.id, token: user.token });
      const app = express();
      app.post('/webhooks/hibob', express.raw({ type: () => true }), (req, res) => {
        hibobWebhookRecord({
          secret: WEBHOOK_SECRET,
          signature: req.get('bob-signature'),
          rawBody: req.body as Buffer,
          client,
          mapping: { locations: LOCATIONS },
        }).then(
          (o) => res.status(o.outcome === 'refused' ? o.httpStatus : 200).json(o),
          (err: unknown) => res.status(503).json({ error: err instanceof ConnectorError ? err.type : 'failed' }),
        );
      });
      receiver = await new Promise((resolve) => {
        const s = app.listen(0, '127.0.0.1', () => resolve(s));
      });
      receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/hibob`;
    });
    after(async () => {
      await bob?.close();
      await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
    });

    const source = () =>
      hibobRosterSource({
        baseUrl: bob.url,
        serviceUserId: user.id,
        token: user.token,
        mapping: { locations: LOCATIONS },
      });

    it('reads all 22 people in one documented People search, valid and invalid rows apart', async () => {
      const before = bob.requests.length;
      const { ok, bad } = await readAll(source());
      assert.equal(ok.length, 19);
      assert.deepEqual(
        bad.map((b) => b.ref).sort(),
        [ids.badEmail, ids.noStart, ids.nowhere].map((i) => `employee ${i}`).sort(),
      );
      const issues = Object.fromEntries(bad.map((b) => [b.ref.slice('employee '.length), b.issues]));
      assert.deepEqual(issues[ids.noStart!], ['/work/startDate: is empty']);
      assert.match(issues[ids.nowhere!]!.join(), /^\/work\/site: /);
      assert.match(issues[ids.badEmail!]!.join(), /^\/root\/email: /);
      assert.ok(!JSON.stringify(bad).includes('Atlantis') && !JSON.stringify(bad).includes('not-an-email'));

      // Wire format: one POST, the documented body and Basic auth with the service user id and token.
      const calls = bob.requests.slice(before);
      assert.equal(calls.length, 1);
      assert.equal(calls[0]!.method, 'POST');
      assert.equal(calls[0]!.path, '/v1/people/search');
      assert.deepEqual(calls[0]!.body, {
        fields: [...HIBOB_PEOPLE_FIELDS],
        showInactive: true,
        humanReadable: 'APPEND',
      });
      assert.equal(calls[0]!.authorization, `Basic ${Buffer.from(`${user.id}:${user.token}`).toString('base64')}`);

      const byId = new Map(ok.map((r) => [r.hrId, r]));
      assert.equal(byId.get(ids.leaver!)?.status, 'terminated');
      assert.equal(byId.get(ids.leaver!)?.exitDate, daysFrom(-30));
      assert.equal(byId.get(ids.leaving!)?.status, 'terminated');
      assert.equal(byId.get(ids.joiner!)?.status, 'pre_hire');
      assert.equal(byId.get(ids.onLeave!)?.status, 'on_leave');
      assert.equal(byId.get(ids.contractor!)?.employmentType, 'contractor');
      const p0 = byId.get(ids.p0!);
      assert.equal(p0?.managerHrId, ids.manager);
      assert.equal(p0?.department, 'Sales'); // the display name, not HiBob's list item id
      assert.deepEqual(p0?.location, { name: 'Lisbon', ...LOCATIONS.Lisbon });
      for (const r of ok) assert.deepEqual(employeeRecordSchema.parse(r), r);
    });

    it('yields the same EmployeeRecords a signed HiBob webhook gives for each person', async () => {
      const { ok } = await readAll(source());
      const sample = [ids.p3!, ids.leaver!, ids.joiner!, ids.onLeave!, ids.contractor!];
      for (const id of sample) {
        const triggeredAt = '2026-01-08T13:06:26.915906';
        const res = await bob.sendWebhook(receiverUrl, WEBHOOK_SECRET, {
          type: 'employee.updated',
          employeeId: id,
          triggeredAt,
        });
        assert.equal(res.status, 200);
        const o = res.body as Extract<HibobWebhookOutcome, { outcome: 'record' }>;
        assert.equal(o.outcome, 'record');
        const fromRoster = ok.find((r) => r.hrId === id);
        assert.ok(fromRoster);
        assert.deepEqual({ ...o.record, sourceUpdatedAt: 'x' }, { ...fromRoster, sourceUpdatedAt: 'x' });
        assert.equal(o.record.sourceUpdatedAt, '2026-01-08T13:06:26.915Z');
        assert.match(o.eventId, new RegExp(`^hibob-${id}-[0-9a-f]{16}$`));
      }
    });

    it('webhooks: a bad signature is 401, a deleted or vanished person is gone, a bad row names fields', async () => {
      const forged = await bob.sendWebhook(receiverUrl, 'wrong-secret', {
        type: 'employee.updated',
        employeeId: ids.p1!,
      });
      assert.equal(forged.status, 401);
      const deleted = await bob.sendWebhook(receiverUrl, WEBHOOK_SECRET, {
        type: 'employee.deleted',
        employeeId: ids.p1!,
      });
      assert.equal((deleted.body as HibobWebhookOutcome).outcome, 'gone');
      const unknown = await bob.sendWebhook(receiverUrl, WEBHOOK_SECRET, {
        type: 'employee.updated',
        employeeId: '999',
      });
      assert.equal((unknown.body as HibobWebhookOutcome).outcome, 'gone');
      const invalid = await bob.sendWebhook(receiverUrl, WEBHOOK_SECRET, {
        type: 'employee.joined',
        employeeId: ids.noStart!,
      });
      assert.deepEqual(invalid.body, {
        outcome: 'invalid',
        change: (invalid.body as { change: unknown }).change,
        eventId: (invalid.body as { eventId: unknown }).eventId,
        issues: ['/work/startDate: is empty'],
      });
      bob.throttle(1, 3);
      const throttled = await bob.sendWebhook(receiverUrl, WEBHOOK_SECRET, {
        type: 'employee.updated',
        employeeId: ids.p2!,
      });
      assert.deepEqual([throttled.status, throttled.body], [503, { error: 'rate_limited' }]);
    });

    it('errors are ConnectorErrors with HiBob status and key, and no token or personal data', async () => {
      const wrong = await rejection(
        readAll(
          hibobRosterSource({ baseUrl: bob.url, serviceUserId: user.id, token: 'nope', mapping: { locations: {} } }),
        ),
      );
      assert.deepEqual(
        [wrong.type, wrong.details.status, wrong.details.vendorCode],
        ['unauthorized', 401, 'unauthorized'],
      );
      assert.equal(wrong.retryable, false);

      bob.throttle(1, 7);
      const limited = await rejection(readAll(source()));
      assert.deepEqual(
        [limited.type, limited.details.status, limited.details.retryAfterMs],
        ['rate_limited', 429, 7000],
      );
      assert.equal(limited.retryable, true);

      const cfg = { baseUrl: bob.url, serviceUserId: user.id, token: user.token };
      const unknownField = await rejection(
        hibobRequest(cfg, { method: 'POST', path: '/people/search', body: { fields: ['/work/shoeSize'] } }),
      );
      assert.deepEqual([unknownField.type, unknownField.details.vendorCode], ['invalid_request', 'field.not.found']);
      const unknownProp = await rejection(
        hibobRequest(cfg, { method: 'POST', path: '/people/search', body: { fields: [], limit: 10 } }),
      );
      assert.deepEqual([unknownProp.type, unknownProp.details.status], ['invalid_request', 400]);
      const notFound = await rejection(hibobRequest(cfg, { method: 'GET', path: '/no/such/endpoint' }));
      assert.equal(notFound.type, 'not_found');
      for (const e of [wrong, limited, unknownField, unknownProp, notFound]) {
        assertNoLeak(e, [user.token, 'nope', 'Rita', `@acme.example`, 'shoeSize']);
      }
    });

    it('honours showInactive: without it HiBob returns active employees only', async () => {
      const client = new HibobClient({ baseUrl: bob.url, serviceUserId: user.id, token: user.token });
      const active = await client.searchPeople({ showInactive: false });
      assert.ok(!active.some((e) => e.id === ids.leaver));
      assert.ok((await client.searchPeople()).some((e) => e.id === ids.leaver));
    });

    it("is built from the policy's sync.source, its secrets read from the variables it names", async () => {
      const policy = syncPolicySchema.parse({
        source: {
          type: 'hibob',
          baseUrl: bob.url,
          serviceUserIdEnv: 'HIBOB_ID',
          tokenEnv: 'HIBOB_TOKEN',
          locations: LOCATIONS,
        },
      });
      assert.deepEqual(syncSecretVariables(policy), ['HIBOB_ID', 'HIBOB_TOKEN']);
      const src = rosterSourceFromPolicy(policy, { HIBOB_ID: user.id, HIBOB_TOKEN: user.token });
      assert.equal(src.name, 'hibob');
      assert.equal((await readAll(src)).ok.length, 19);
      assert.throws(() => rosterSourceFromPolicy(policy, { HIBOB_ID: user.id }), /HIBOB_TOKEN is not set/);
      assert.equal(
        syncPolicySchema.safeParse({ source: { type: 'hibob', serviceUserIdEnv: 'x', tokenEnv: 'T' } }).success,
        false,
      );
    });
  });

  describe('Workday', () => {
    const user = { username: `ISU_Tenure_${run}`, password: `pw-${run}-secret` };
    let wd: WorkdayStandin;
    let n = 0;
    const ids: Record<string, string> = {};
    const row = (over: Record<string, string | null> = {}) => {
      n += 1;
      const id = `${run}-${n}`;
      wd.addRow({
        Employee_ID: id,
        Legal_Name_First_Name: 'Logan',
        Legal_Name_Last_Name: `McNeil${n}`,
        Work_Email: `logan.mcneil${n}.${run}@acme.example`,
        Supervisory_Organization: n % 2 ? 'Global Support' : 'Finance',
        Business_Title: 'Analyst',
        Location: n % 3 ? 'Lisbon' : 'New York',
        Manager_Employee_ID: ids.manager ?? null,
        Worker_Type: 'Employee',
        Employee_Type: 'Regular',
        Active_Status: '1',
        Terminated: '0',
        Hire_Date: '2019-07-01-07:00',
        ...over,
      });
      return id;
    };

    before(async () => {
      wd = await startWorkdayStandin({ user, prompts: ['Include_Terminated_Workers'] });
      ids.manager = row({ Business_Title: 'Director' });
      for (let i = 0; i < 12; i += 1) ids[`p${i}`] = row();
      ids.contingent = row({ Worker_Type: 'Contingent Worker', Employee_Type: 'Contractor' });
      ids.intern = row({ Employee_Type: 'Intern' });
      ids.leaver = row({ Active_Status: '0', Terminated: '1', Termination_Date: `${daysFrom(-10)}-08:00` });
      ids.joiner = row({ Active_Status: '0', Hire_Date: daysFrom(14) });
      ids.onLeave = row({ On_Leave: '1' });
      ids.noEmail = row({ Work_Email: null });
      ids.badDate = row({ Hire_Date: '07/01/2019' });
      ids.nowhere = row({ Location: 'Atlantis' });
    });
    after(async () => {
      await wd?.close();
    });

    const source = (prompts: Record<string, string> = { Include_Terminated_Workers: '1' }) =>
      workdayRosterSource({ reportUrl: wd.reportUrl, ...user, prompts, mapping: { locations: LOCATIONS } });

    it('reads all 21 rows of the RaaS report as JSON, valid and invalid rows apart', async () => {
      const before = wd.requests.length;
      const { ok, bad } = await readAll(source());
      assert.equal(ok.length, 18);
      assert.deepEqual(Object.fromEntries(bad.map((b) => [b.ref, b.issues])), {
        [`employee ${ids.noEmail}`]: ['Work_Email or Home_Email: both are empty'],
        [`employee ${ids.badDate}`]: ['Hire_Date: must be a calendar date YYYY-MM-DD'],
        [`employee ${ids.nowhere}`]: ['Location: has no country and time zone in the Workday location map'],
      });
      const calls = wd.requests.slice(before);
      assert.equal(calls.length, 1);
      assert.equal(calls[0]!.method, 'GET');
      assert.deepEqual(calls[0]!.query, { Include_Terminated_Workers: '1', format: 'json' });
      assert.equal(
        calls[0]!.authorization,
        `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`,
      );

      const byId = new Map(ok.map((r) => [r.hrId, r]));
      assert.equal(byId.get(ids.leaver!)?.status, 'terminated');
      assert.equal(byId.get(ids.leaver!)?.exitDate, daysFrom(-10));
      assert.equal(byId.get(ids.joiner!)?.status, 'pre_hire');
      assert.equal(byId.get(ids.onLeave!)?.status, 'on_leave');
      assert.equal(byId.get(ids.contingent!)?.employmentType, 'contractor');
      assert.equal(byId.get(ids.intern!)?.employmentType, 'intern');
      assert.equal(byId.get(ids.p0!)?.managerHrId, ids.manager);
      assert.equal(byId.get(ids.p0!)?.hireDate, '2019-07-01');
      assert.ok(today >= '2019-07-01');
      // What intake's webhook schema accepts, unchanged: the same records a webhook would carry.
      for (const r of ok) assert.deepEqual(employeeRecordSchema.parse(r), r);
    });

    it('errors are ConnectorErrors with the Workday status and code, and no password or personal data', async () => {
      const wrong = await rejection(
        readAll(
          workdayRosterSource({
            reportUrl: wd.reportUrl,
            username: user.username,
            password: 'nope',
            mapping: { locations: {} },
          }),
        ),
      );
      assert.deepEqual(
        [wrong.type, wrong.details.status, wrong.details.vendorCode],
        ['unauthorized', 401, 'invalid_credentials'],
      );
      const prompt = await rejection(readAll(source({ Include_Contractors: '1' })));
      assert.deepEqual(
        [prompt.type, prompt.details.status, prompt.details.vendorCode],
        ['invalid_request', 400, 'invalid_prompt'],
      );
      wd.throttle(1, 5);
      const limited = await rejection(readAll(source()));
      assert.deepEqual([limited.type, limited.details.retryAfterMs], ['rate_limited', 5000]);
      const missing = await rejection(
        readAll(
          workdayRosterSource({
            reportUrl: wd.reportUrl.replace(/Tenure_Workers$/, 'Other'),
            ...user,
            mapping: { locations: {} },
          }),
        ),
      );
      assert.equal(missing.type, 'not_found');
      for (const e of [wrong, prompt, limited, missing])
        assertNoLeak(e, [user.password, 'nope', 'Logan', '@acme.example', 'Include_']);
    });

    it("is built from the policy's sync.source with its field map, prompts and worker types", async () => {
      const policy = syncPolicySchema.parse({
        source: {
          type: 'workday',
          reportUrl: wd.reportUrl,
          usernameEnv: 'WD_USER',
          passwordEnv: 'WD_PASSWORD',
          prompts: { Include_Terminated_Workers: '1' },
          fields: { title: 'Supervisory_Organization', department: 'Business_Title' },
          workerTypes: { Regular: 'temporary' },
          locations: LOCATIONS,
        },
      });
      assert.deepEqual(syncSecretVariables(policy), ['WD_USER', 'WD_PASSWORD']);
      const { ok } = await readAll(
        rosterSourceFromPolicy(policy, { WD_USER: user.username, WD_PASSWORD: user.password }),
      );
      const p0 = ok.find((r) => r.hrId === ids.p0);
      assert.deepEqual([p0?.department, p0?.title, p0?.employmentType], ['Analyst', 'Finance', 'temporary']);
      const badKey = syncPolicySchema.safeParse({
        source: {
          type: 'workday',
          reportUrl: wd.reportUrl,
          usernameEnv: 'A',
          passwordEnv: 'B',
          fields: { shoeSize: 'X' },
        },
      });
      assert.equal(badKey.success, false);
    });
  });
});
