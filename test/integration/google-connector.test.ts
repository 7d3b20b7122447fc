import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID, verify } from 'node:crypto';
import { createGoogleConnector, searchValue } from '../../src/activities/google/client';
import type { GoogleConnector } from '../../src/activities/google/client';
import {
  GOOGLE_SCOPES,
  GoogleTokenSource,
  parseServiceAccountKey,
  signAssertion,
} from '../../src/activities/google/token';
import { ConnectorError } from '../../src/activities/identity';
import type { GoogleConnectorConfig } from '../../src/domain/connectors/google';
import { googleConnectorSchema, googleSecretVariables, orgUnitFor } from '../../src/domain/connectors/google';
import { policySchema } from '../../src/domain/policy';
import type { GoogleStandin, GoogleStandinOptions } from '../peers/google-standin';
import { SCOPE, startGoogleWorkspace } from '../peers/google-standin';

/**
 * The Google connector on the wire, against the stand-in (test/peers/google-standin.ts), with requests and answers
 * shaped after Google's published reference pages: users.insert/list/patch/delete/signOut, members.insert/delete,
 * Data Transfer transfers.insert/get/list and applications.list, the standard error body, and the service-account JWT
 * bearer grant ("Using OAuth 2.0 for Server to Server Applications").
 */
const ADMIN = 'it.admin@acme.example';
const DOMAIN = 'acme.example';

interface Setup {
  standin: GoogleStandin;
  key: string;
  c: GoogleConnector;
  config: GoogleConnectorConfig;
}

const started: GoogleStandin[] = [];

async function setup(
  standinOptions: Partial<Omit<GoogleStandinOptions, 'publicKey' | 'clientEmail'>> = {},
  config: Record<string, unknown> = {},
): Promise<Setup> {
  const ws = await startGoogleWorkspace({
    admins: [ADMIN],
    domains: [DOMAIN],
    orgUnits: ['/Engineering', '/Engineering/Lisbon', '/Sales'],
    ...standinOptions,
  });
  started.push(ws.standin);
  const parsed = googleConnectorSchema.parse({
    type: 'google',
    domain: DOMAIN,
    adminSubject: ADMIN,
    serviceAccountKeyEnv: 'GOOGLE_TEST_KEY',
    directoryUrl: ws.standin.url,
    orgUnitRules: [
      { department: 'Engineering', location: 'Lisbon', orgUnitPath: '/Engineering/Lisbon' },
      { department: 'Engineering', orgUnitPath: '/Engineering' },
      { department: 'Sales', orgUnitPath: '/Sales' },
    ],
    timeoutMs: 800,
    ...config,
  });
  return {
    standin: ws.standin,
    key: ws.serviceAccountKey,
    config: parsed,
    c: createGoogleConnector('google', parsed, { GOOGLE_TEST_KEY: ws.serviceAccountKey }),
  };
}

function person(over: Record<string, unknown> = {}) {
  const n = randomUUID().slice(0, 8);
  return {
    hrId: `G-${n}`,
    userName: `ana.${n}@${DOMAIN}`,
    givenName: 'Ana',
    familyName: `Lima${n}`,
    email: `ana.${n}@${DOMAIN}`,
    title: 'Engineer',
    department: 'Engineering',
    location: 'Lisbon',
    active: false,
    ...over,
  };
}

async function rejects(p: Promise<unknown>): Promise<ConnectorError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ConnectorError, `a ConnectorError, not ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConnectorError');
}

/** A raw Admin SDK call with a token the stand-in issued (for what the stand-in itself refuses). */
async function raw(
  s: Setup,
  method: string,
  path: string,
  body?: string,
  auth?: string,
): Promise<{ status: number; json: unknown }> {
  const tokens = new GoogleTokenSource({
    systemId: 't',
    key: parseServiceAccountKey(s.key, 't'),
    subject: ADMIN,
    timeoutMs: 2000,
  });
  const res = await fetch(`${s.standin.url}${path}`, {
    method,
    headers: {
      authorization: auth ?? `Bearer ${await tokens.token()}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined };
}

type GoogleErrorBody = {
  error: { code: number; message: string; errors: { reason: string; domain: string }[]; status: string };
};

describe('google connector: the Admin SDK on the wire', function () {
  this.timeout(60_000);
  after(async () => {
    for (const s of started) await s.close();
  });

  describe('policy config', () => {
    it('has documented defaults, names its secret by variable, and refuses a key pasted into the policy', () => {
      const c = googleConnectorSchema.parse({
        type: 'google',
        domain: DOMAIN,
        adminSubject: ADMIN,
        serviceAccountKeyEnv: 'GOOGLE_SA_KEY',
      });
      assert.equal(c.customerId, 'my_customer');
      assert.equal(c.directoryUrl, 'https://admin.googleapis.com');
      assert.equal(c.externalIdType, 'organization');
      assert.equal(c.defaultOrgUnitPath, '/');
      assert.equal(c.tokenUrl, undefined);
      assert.deepEqual(googleSecretVariables(c), ['GOOGLE_SA_KEY']);
      const pasted = googleConnectorSchema.safeParse({ ...c, serviceAccountKeyEnv: '{"private_key":"-----BEGIN"}' });
      assert.equal(pasted.success, false);
      assert.equal(googleConnectorSchema.safeParse({ ...c, externalIdType: 'custom' }).success, false);
      assert.equal(googleConnectorSchema.safeParse({ ...c, orgUnitRules: [{ orgUnitPath: 'Sales' }] }).success, false);
      assert.equal(
        orgUnitFor(
          { orgUnitRules: [{ location: 'Lisbon', orgUnitPath: '/Lisbon' }], defaultOrgUnitPath: '/People' },
          { department: 'Sales', location: 'Porto' },
        ),
        '/People',
      );
      // The policy takes it as a system's connector (the hand-over by API: test/integration/idp-google.test.ts).
      const policy = policySchema.parse({
        systems: [{ id: 'google', name: 'Google', kind: 'identity-provider', connector: c }],
        birthright: [{ name: 'everyone', systems: ['google'] }],
      });
      assert.equal(policy.systems[0]?.connector.type, 'google');
    });

    it('reads the key from the environment when built, and never repeats it in an error', () => {
      const config = googleConnectorSchema.parse({
        type: 'google',
        domain: DOMAIN,
        adminSubject: ADMIN,
        serviceAccountKeyEnv: 'GOOGLE_SA_KEY',
      });
      assert.throws(() => createGoogleConnector('google', config, {}), /GOOGLE_SA_KEY is not set/);
      const secret = '{"client_email":"sa@x.iam.gserviceaccount.com","private_key":"SECRET-NOT-PEM"}';
      assert.throws(
        () => createGoogleConnector('google', config, { GOOGLE_SA_KEY: secret }),
        (err: Error) => /private_key is not a PEM/.test(err.message) && !err.message.includes('SECRET'),
      );
    });
  });

  describe('service account tokens (JWT bearer grant)', () => {
    it('signs an RS256 JWT with iss, sub, scope, aud, iat and exp one hour apart', () => {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const jwt = signAssertion(privateKey, {
        iss: 'sa@p.iam.gserviceaccount.com',
        sub: ADMIN,
        scope: GOOGLE_SCOPES.join(' '),
        aud: 'https://oauth2.googleapis.com/token',
        iat: 1_700_000_000,
        exp: 1_700_003_600,
      });
      const [h = '', p = '', sig = ''] = jwt.split('.');
      assert.deepEqual(JSON.parse(Buffer.from(h, 'base64url').toString()), { alg: 'RS256', typ: 'JWT' });
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
      assert.equal(claims.aud, 'https://oauth2.googleapis.com/token');
      assert.equal(claims.sub, ADMIN);
      assert.equal((claims.exp as number) - (claims.iat as number), 3600);
      assert.ok(verify('RSA-SHA256', Buffer.from(`${h}.${p}`), publicKey, Buffer.from(sig, 'base64url')));
    });

    it('gets one token and reuses it until it nears expiry', async () => {
      const s = await setup();
      for (let i = 0; i < 4; i++) await s.c.findByUserName(`nobody.${i}@${DOMAIN}`);
      assert.deepEqual(s.standin.tokenRequests(), { ok: 1, refused: 0 });
      const sent = s.standin.requests().map((r) => r.authorization);
      assert.ok(sent.every((a) => a === sent[0] && /^Bearer ya29\./.test(a ?? '')));
    });

    it('a token refused later (expired, revoked) is transient, and the retry fetches a new one', async () => {
      const s = await setup();
      await s.c.findByUserName(`nobody@${DOMAIN}`);
      s.standin.expireTokens();
      const err = await rejects(s.c.findByUserName(`nobody@${DOMAIN}`));
      assert.equal(err.type, 'transient');
      assert.equal(err.details.status, 401);
      assert.equal(err.details.vendorCode, 'authError');
      await s.c.findByUserName(`nobody@${DOMAIN}`);
      assert.equal(s.standin.tokenRequests().ok, 2);
    });

    it('a key Google does not know, an admin without delegation, or an ungranted scope is unauthorized', async () => {
      const s = await setup();
      const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const forged = JSON.stringify({
        ...(JSON.parse(s.key) as Record<string, unknown>),
        private_key: other.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      });
      const bad = createGoogleConnector('google', s.config, { GOOGLE_TEST_KEY: forged });
      const e1 = await rejects(bad.findByUserName(`x@${DOMAIN}`));
      assert.equal(e1.type, 'unauthorized');
      assert.equal(e1.details.vendorCode, 'invalid_grant');
      assert.ok(!e1.message.includes('Signature') && !e1.message.includes('PRIVATE KEY'), e1.message);

      const notAdmin = createGoogleConnector(
        'google',
        { ...s.config, adminSubject: `someone@${DOMAIN}` },
        { GOOGLE_TEST_KEY: s.key },
      );
      const e2 = await rejects(notAdmin.findByUserName(`x@${DOMAIN}`));
      assert.equal(e2.type, 'unauthorized');
      assert.equal(e2.details.vendorCode, 'unauthorized_client');

      const narrow = await setup({ grantedScopes: [SCOPE.user] });
      const e3 = await rejects(narrow.c.findByUserName(`x@${DOMAIN}`));
      assert.equal(e3.type, 'unauthorized');
      assert.equal(narrow.standin.tokenRequests().refused, 1);
    });

    it('a token endpoint that is down or throttling is retried by Temporal, not by the connector', async () => {
      const s = await setup();
      s.standin.faults.next({ method: 'POST', path: '/token', status: 503 });
      const down = await rejects(s.c.findByUserName(`x@${DOMAIN}`));
      assert.equal(down.type, 'transient');
      assert.equal(down.details.vendorCode, 'temporarily_unavailable');
      s.standin.faults.next({
        method: 'POST',
        path: '/token',
        status: 429,
        retryAfter: 3,
        reason: 'rate_limit_exceeded',
      });
      const slow = await rejects(s.c.findByUserName(`x@${DOMAIN}`));
      assert.equal(slow.type, 'rate_limited');
      assert.equal(slow.details.retryAfterMs, 3000);
      assert.deepEqual(s.standin.tokenRequests(), { ok: 0, refused: 2 }, 'one request per attempt');
      assert.equal(await s.c.findByUserName(`x@${DOMAIN}`), undefined);
    });

    it('an assertion outside its hour is refused by the token endpoint (invalid_grant)', async () => {
      const s = await setup();
      const stale = new GoogleTokenSource({
        systemId: 'google',
        key: parseServiceAccountKey(s.key, 't'),
        subject: ADMIN,
        timeoutMs: 2000,
        now: () => Date.now() - 3 * 3600_000,
      });
      const err = await rejects(stale.token());
      assert.equal(err.type, 'unauthorized');
      assert.equal(err.details.vendorCode, 'invalid_grant');
    });
  });

  describe('what the stand-in refuses, as Google does', () => {
    it('no bearer token, or another scheme: 401 in the standard error body', async () => {
      const s = await setup();
      const none = await raw(s, 'GET', '/admin/directory/v1/users?customer=my_customer', undefined, '');
      assert.equal(none.status, 401);
      const basic = await raw(
        s,
        'GET',
        '/admin/directory/v1/users?customer=my_customer',
        undefined,
        'Basic dXNlcjpwYXNz',
      );
      assert.equal(basic.status, 401);
      const body = basic.json as GoogleErrorBody;
      assert.equal(body.error.code, 401);
      assert.equal(body.error.status, 'UNAUTHENTICATED');
      assert.equal(body.error.errors[0]?.domain, 'global');
    });

    it('unknown user 404 "Resource Not Found: userKey"; malformed JSON and unknown fields 400; a taken address 409', async () => {
      const s = await setup();
      const missing = await raw(s, 'GET', '/admin/directory/v1/users/100000000000000000000');
      assert.equal(missing.status, 404);
      assert.equal((missing.json as GoogleErrorBody).error.message, 'Resource Not Found: userKey');
      assert.equal((missing.json as GoogleErrorBody).error.errors[0]?.reason, 'notFound');

      const malformed = await raw(s, 'POST', '/admin/directory/v1/users', '{"primaryEmail": ');
      assert.equal(malformed.status, 400);
      assert.equal((malformed.json as GoogleErrorBody).error.status, 'INVALID_ARGUMENT');

      const user = {
        primaryEmail: `liz.${randomUUID().slice(0, 6)}@${DOMAIN}`,
        name: { givenName: 'Elizabeth', familyName: 'Smith' },
        password: 'a-new-user-password',
        externalIds: [{ value: '12345', type: 'custom', customType: 'employee' }],
        organizations: [{ name: 'Acme', title: 'Engineer', primary: true, department: 'Engineering' }],
        ims: [{ type: 'work', protocol: 'gtalk', im: 'liz_im@talk.example.com', primary: true }],
        phones: [{ value: '+1 206 555 1212', type: 'work' }],
      };
      const unknownField = await raw(
        s,
        'POST',
        '/admin/directory/v1/users',
        JSON.stringify({ ...user, nickname: 'Liz' }),
      );
      assert.equal(unknownField.status, 400);
      const created = await raw(s, 'POST', '/admin/directory/v1/users', JSON.stringify(user));
      assert.equal(created.status, 200);
      const resource = created.json as Record<string, unknown>;
      assert.equal(resource.kind, 'admin#directory#user');
      assert.equal(resource.primaryEmail, user.primaryEmail);
      assert.equal(resource.password, undefined, 'a password is never answered');
      const dup = await raw(s, 'POST', '/admin/directory/v1/users', JSON.stringify(user));
      assert.equal(dup.status, 409);
      assert.equal((dup.json as GoogleErrorBody).error.message, 'Entity already exists.');
      assert.equal((dup.json as GoogleErrorBody).error.errors[0]?.reason, 'duplicate');

      const badOu = await raw(
        s,
        'POST',
        '/admin/directory/v1/users',
        JSON.stringify({ ...user, primaryEmail: `x${user.primaryEmail}`, orgUnitPath: '/Nowhere' }),
      );
      assert.equal(badOu.status, 400);
      const noCustomer = await raw(s, 'GET', '/admin/directory/v1/users');
      assert.equal(noCustomer.status, 400);
      const nothing = await raw(
        s,
        'GET',
        `/admin/directory/v1/users?customer=my_customer&query=${encodeURIComponent("externalId:'no-such-id'")}`,
      );
      assert.equal(nothing.status, 200);
      assert.equal((nothing.json as Record<string, unknown>).users, undefined, 'Google leaves `users` out');
      const signOutBody = await raw(s, 'POST', `/admin/directory/v1/users/${String(resource.id)}/signOut`, '{}');
      assert.equal(signOutBody.status, 400, 'signOut takes an empty body');
    });
  });

  describe('users', () => {
    it('creates suspended, with a random password, the HR id as an organization external id, in the mapped OU', async () => {
      const s = await setup();
      const boss = s.standin.seedUser({
        primaryEmail: `boss.${randomUUID().slice(0, 6)}@${DOMAIN}`,
        givenName: 'B',
        familyName: 'C',
      });
      const spec = { ...person(), managerId: boss.id };
      const r = await s.c.ensureAccount(spec);
      assert.equal(r.outcome, 'created');
      assert.equal(r.account.active, false);
      assert.equal(r.account.hrId, spec.hrId);
      const insert = s.standin.requests().find((q) => q.method === 'POST' && q.path === '/admin/directory/v1/users');
      const body = insert?.body as Record<string, unknown>;
      assert.equal(body.primaryEmail, spec.userName);
      assert.equal(body.suspended, true);
      assert.deepEqual(body.externalIds, [{ type: 'organization', value: spec.hrId }]);
      assert.equal(body.orgUnitPath, '/Engineering/Lisbon');
      assert.equal(body.hashFunction, undefined);
      assert.ok((body.password as { length: number }).length >= 24);
      assert.deepEqual(body.organizations, [{ primary: true, title: 'Engineer', department: 'Engineering' }]);
      assert.deepEqual(body.relations, [{ type: 'manager', value: boss.primaryEmail }], 'the manager, by address');
      // Lookups before the create: by external id, then by address, as documented search clauses.
      const queries = s.standin
        .requests()
        .filter((q) => q.method === 'GET' && q.path === '/admin/directory/v1/users')
        .map((q) => q.query);
      assert.deepEqual(
        queries.slice(0, 2).map((q) => q.query),
        [`externalId:${searchValue(spec.hrId)}`, `email:${searchValue(spec.userName)}`],
      );
      assert.ok(queries.every((q) => q.customer === 'my_customer'));
      const stored = s.standin.user(r.account.id);
      assert.equal(stored?.orgUnitPath, '/Engineering/Lisbon');
      assert.equal(stored?.suspended, true);
    });

    it('a mover is moved to the new OU, with title and department brought up to date', async () => {
      const s = await setup();
      const spec = person();
      const { account } = await s.c.ensureAccount(spec);
      const boss = s.standin.seedUser({
        primaryEmail: `lead.${randomUUID().slice(0, 6)}@${DOMAIN}`,
        givenName: 'L',
        familyName: 'D',
      });
      const moved = await s.c.ensureAccount({
        ...spec,
        department: 'Sales',
        title: 'Account executive',
        location: 'Porto',
        managerId: boss.id,
      });
      assert.equal(moved.outcome, 'updated');
      assert.equal(moved.account.id, account.id);
      const stored = s.standin.user(account.id);
      assert.equal(stored?.orgUnitPath, '/Sales');
      assert.deepEqual(
        stored?.organizations?.map((o) => [o.title, o.department, o.primary]),
        [['Account executive', 'Sales', true]],
      );
      assert.deepEqual(stored?.relations, [{ type: 'manager', value: boss.primaryEmail }]);
      const again = { ...spec, department: 'Sales', title: 'Account executive', managerId: boss.id };
      assert.equal((await s.c.ensureAccount(again)).outcome, 'adopted');
    });

    it('an address held by someone with a different HR id is a conflict, never a takeover', async () => {
      const s = await setup();
      const spec = person();
      s.standin.seedUser({
        primaryEmail: spec.userName,
        givenName: 'Other',
        familyName: 'Person',
        hrId: 'SOMEONE-ELSE',
      });
      const err = await rejects(s.c.ensureAccount(spec));
      assert.equal(err.type, 'conflict');
      assert.ok(!err.message.includes(spec.userName), err.message);
      assert.equal(await s.c.findByHrKey(spec.hrId, spec.userName), undefined);
      assert.equal(s.standin.users().filter((u) => u.primaryEmail === spec.userName).length, 1);
    });

    it('finds an account by an alias of its address', async () => {
      const s = await setup();
      const spec = person();
      const seeded = s.standin.seedUser({
        primaryEmail: `renamed.${randomUUID().slice(0, 6)}@${DOMAIN}`,
        givenName: 'Ana',
        familyName: 'Lima',
        aliases: [spec.userName],
      });
      assert.equal((await s.c.findByUserName(spec.userName))?.id, seeded.id);
    });

    it('suspends and unsuspends, each read back; an unknown user is not_found without its key in the message', async () => {
      const s = await setup();
      const { account } = await s.c.ensureAccount(person());
      assert.equal((await s.c.setActive(account.id, true)).active, true);
      assert.equal(s.standin.user(account.id)?.suspended, false);
      assert.equal((await s.c.setActive(account.id, false)).active, false);
      assert.equal(s.standin.user(account.id)?.suspended, true);
      const patches = s.standin.requests().filter((q) => q.method === 'PATCH');
      assert.deepEqual(
        patches.map((q) => q.body),
        [{ suspended: false }, { suspended: true }],
      );
      const err = await rejects(s.c.setActive('100000000000000000001', false));
      assert.equal(err.type, 'not_found');
      assert.equal(err.details.vendorCode, 'notFound');
      assert.match(err.message, /PATCH \/users\/\{userKey\} -> 404 \(notFound\)/);
      assert.ok(!err.message.includes('Resource Not Found'), 'never the vendor text');
    });

    it('signOut ends the sessions; the evidence says there is nothing to read back', async () => {
      const s = await setup();
      const { account } = await s.c.ensureAccount(person({ active: true }));
      s.standin.openSession(account.id);
      s.standin.openSession(account.id);
      const r = await s.c.revokeSessions(account.id);
      assert.equal(r.outcome, 'revoked');
      assert.match(r.detail, /no field to read this back/);
      assert.equal(r.readBack, undefined);
      assert.equal(s.standin.activeSessions(account.id), 0);
      assert.equal(s.standin.signOuts(account.id), 1);
    });

    it('deletes; a user already gone counts as deleted', async () => {
      const s = await setup();
      const spec = person();
      const { account } = await s.c.ensureAccount(spec);
      await s.c.delete(account.id);
      await s.c.delete(account.id);
      assert.equal(s.standin.user(account.id), undefined);
    });
  });

  describe('groups', () => {
    it('adds by the group email, by id, and removes; each is idempotent', async () => {
      const s = await setup();
      const g = s.standin.createGroup(`eng.${randomUUID().slice(0, 6)}@${DOMAIN}`);
      const { account } = await s.c.ensureAccount(person());
      assert.deepEqual(await s.c.addToGroup(g.email, account.id), { groupId: g.id, outcome: 'changed' });
      assert.deepEqual(await s.c.addToGroup(g.id, account.id), { groupId: g.id, outcome: 'unchanged' });
      assert.deepEqual(s.standin.groupMembers(g.id), [account.id]);
      const insert = s.standin.requests().find((q) => q.method === 'POST' && q.path.endsWith('/members'));
      assert.deepEqual(insert?.body, { email: s.standin.user(account.id)?.primaryEmail, role: 'MEMBER' });
      assert.equal((await s.c.removeFromGroup(g.email, account.id)).outcome, 'changed');
      assert.equal((await s.c.removeFromGroup(g.email, account.id)).outcome, 'unchanged');
      assert.deepEqual(s.standin.groupMembers(g.id), []);
      const missing = await rejects(s.c.addToGroup(`nope@${DOMAIN}`, account.id));
      assert.equal(missing.type, 'not_found');
    });
  });

  describe('error classification', () => {
    it('429 and 403 rate-limit reasons are rate_limited with Retry-After; 403 otherwise unauthorized; 5xx transient', async () => {
      const s = await setup();
      const USERS = '/admin/directory/v1/users';
      s.standin.faults.next({ method: 'GET', path: USERS, status: 429, retryAfter: 7 });
      const e429 = await rejects(s.c.findByUserName(`a@${DOMAIN}`));
      assert.equal(e429.type, 'rate_limited');
      assert.equal(e429.details.retryAfterMs, 7000);
      for (const reason of ['rateLimitExceeded', 'userRateLimitExceeded']) {
        s.standin.faults.next({ method: 'GET', path: USERS, status: 403, reason, retryAfter: 2 });
        const e = await rejects(s.c.findByUserName(`a@${DOMAIN}`));
        assert.equal(e.type, 'rate_limited', reason);
        assert.equal(e.details.vendorCode, reason);
      }
      s.standin.faults.next({ method: 'GET', path: USERS, status: 403, reason: 'forbidden' });
      assert.equal((await rejects(s.c.findByUserName(`a@${DOMAIN}`))).type, 'unauthorized');
      s.standin.faults.next({ method: 'GET', path: USERS, status: 503 });
      assert.equal((await rejects(s.c.findByUserName(`a@${DOMAIN}`))).type, 'transient');
      s.standin.faults.next({ method: 'GET', path: USERS, status: 501 });
      assert.equal((await rejects(s.c.findByUserName(`a@${DOMAIN}`))).type, 'invalid_request');
    });

    it('a 409 on create is resolved by adopting what the lost answer created', async () => {
      const s = await setup();
      const spec = person();
      s.standin.faults.delayAfterWrite({ method: 'POST', path: '/admin/directory/v1/users', delayMs: 2400 });
      const lost = await rejects(s.c.ensureAccount(spec));
      assert.equal(lost.type, 'transient');
      const again = await s.c.ensureAccount(spec);
      assert.notEqual(again.outcome, 'created');
      assert.equal(s.standin.users().filter((u) => u.primaryEmail === spec.userName).length, 1);
    });
  });

  describe('data transfer', () => {
    async function leaverAndManager(s: Setup) {
      const leaver = (await s.c.ensureAccount(person())).account;
      const manager = (await s.c.ensureAccount(person({ givenName: 'Maria' }))).account;
      return { leaver, manager };
    }

    it('starts one Drive and Calendar transfer, says in progress (transient) until it reads completed', async () => {
      const s = await setup({ transferCompletesAfterMs: 60_000 });
      const { leaver, manager } = await leaverAndManager(s);
      const pending = await rejects(s.c.transferData(leaver.id, manager.id));
      assert.equal(pending.type, 'transient');
      assert.match(pending.message, /inProgress/);
      // A retry while it runs finds the same transfer: never a second.
      assert.equal((await rejects(s.c.transferData(leaver.id, manager.id))).type, 'transient');
      assert.equal(s.standin.transfers().length, 1);
      const [t] = s.standin.transfers();
      assert.ok(t);
      assert.equal(t.oldOwnerUserId, leaver.id);
      assert.equal(t.newOwnerUserId, manager.id);
      assert.deepEqual(
        t.applicationDataTransfers.map((a) => [a.applicationId, a.applicationTransferParams]),
        [
          ['55656082996', [{ key: 'PRIVACY_LEVEL', value: ['PRIVATE', 'SHARED'] }]],
          ['435070579839', [{ key: 'RELEASE_RESOURCES', value: ['TRUE'] }]],
        ],
      );
      s.standin.completeTransfer(t.id);
      const done = await s.c.transferData(leaver.id, manager.id);
      assert.equal(done.outcome, 'transferred');
      assert.equal(done.transferId, t.id);
      assert.match(done.detail, /Drive and Docs, Calendar/);
      assert.equal(s.standin.transfers().length, 1);
      const lookup = s.standin
        .requests()
        .find((q) => q.method === 'GET' && q.path === '/admin/datatransfer/v1/transfers');
      assert.deepEqual(lookup?.query, { oldOwnerUserId: leaver.id, newOwnerUserId: manager.id });
    });

    it('a transfer whose answer was lost is found on retry, not started again', async () => {
      const s = await setup();
      const { leaver, manager } = await leaverAndManager(s);
      s.standin.faults.delayAfterWrite({ method: 'POST', path: '/admin/datatransfer/v1/transfers', delayMs: 2400 });
      assert.equal((await rejects(s.c.transferData(leaver.id, manager.id))).type, 'transient');
      const r = await s.c.transferData(leaver.id, manager.id);
      assert.equal(r.outcome, 'transferred');
      assert.equal(s.standin.transfers().length, 1);
      assert.equal(r.transferId, s.standin.transfers()[0]?.id);
    });
  });

  describe('listing', () => {
    it('pages with maxResults and pageToken until no nextPageToken', async () => {
      const s = await setup({ maxPageSize: 3 }, { pageSize: 3 });
      const ids = new Set<string>();
      for (let i = 0; i < 8; i++) {
        ids.add(
          s.standin.seedUser({
            primaryEmail: `p${i}.${randomUUID().slice(0, 6)}@${DOMAIN}`,
            givenName: 'P',
            familyName: `N${i}`,
          }).id,
        );
      }
      const listed: string[] = [];
      for await (const a of s.c.listAccounts()) listed.push(a.id);
      assert.deepEqual(new Set(listed), ids);
      assert.equal(listed.length, 8);
      const pages = s.standin.requests().filter((q) => q.method === 'GET' && q.path === '/admin/directory/v1/users');
      assert.equal(pages.length, 3);
      assert.equal(pages[0]?.query.maxResults, '3');
      assert.ok(pages[1]?.query.pageToken);
    });
  });
});
