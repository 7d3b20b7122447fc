import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AccountSpec } from '../../src/activities/identity';
import { ConnectorError } from '../../src/activities/identity';
import { createOktaConnector, type OktaConnector } from '../../src/activities/okta/client';
import { clientAssertion } from '../../src/activities/okta/token';
import { nextLink } from '../../src/activities/okta/transport';
import { oktaConnectorSchema, oktaSecretVariables } from '../../src/domain/connectors/okta';
import { connectorSecretVariables } from '../../src/domain/connectors';
import type { OktaStandin } from '../peers/okta-standin';
import { startOktaStandin } from '../peers/okta-standin';

/**
 * The Okta connector on the wire, against the stand-in and against raw answers in Okta's documented shapes (Users API,
 * User Lifecycle, Sessions, Groups, pagination `Link` headers, rate-limit headers, error bodies, OAuth 2.0 client
 * credentials with private_key_jwt).
 */

function person(over: Partial<AccountSpec> = {}): AccountSpec {
  const n = randomUUID().slice(0, 8);
  return {
    hrId: `okw-${n}`,
    userName: `isaac.brock.${n}@example.com`,
    givenName: 'Isaac',
    familyName: 'Brock',
    email: `isaac.brock.${n}@example.com`,
    title: 'Engineer',
    department: 'Engineering',
    countryCode: 'US',
    active: false,
    ...over,
  };
}

async function failure(p: Promise<unknown>): Promise<ConnectorError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ConnectorError, `a ConnectorError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConnectorError');
}

function ssws(standin: OktaStandin, token: string, over: Record<string, unknown> = {}): OktaConnector {
  const config = oktaConnectorSchema.parse({
    type: 'okta',
    orgUrl: standin.url,
    auth: { type: 'ssws', tokenEnv: 'OKTA_TEST_TOKEN' },
    timeoutMs: 2_000,
    ...over,
  });
  return createOktaConnector('okta', config, { OKTA_TEST_TOKEN: token }) as OktaConnector;
}

describe('okta connector: wire format against the stand-in (SSWS)', function () {
  this.timeout(30_000);
  const token = `00${randomBytes(20).toString('base64url')}`;
  let s: OktaStandin;
  let c: OktaConnector;

  before(async () => {
    s = await startOktaStandin({ apiTokens: [token], maxLimit: 3 });
    c = ssws(s, token);
  });
  after(async () => {
    await s?.close();
  });

  it('creates STAGED with POST /api/v1/users?activate=false, the HR key in profile.employeeNumber, SSWS auth', async () => {
    const spec = person();
    const from = s.requests.length;
    const r = await c.ensureAccount(spec);
    assert.equal(r.outcome, 'created');
    assert.equal(r.account.status, 'STAGED');
    assert.equal(r.account.active, false);
    assert.equal(r.account.hrId, spec.hrId);
    const create = s.requests.slice(from).find((q) => q.method === 'POST' && q.path === '/api/v1/users');
    assert.ok(create);
    assert.equal(create.scheme, 'SSWS');
    assert.equal(create.query.activate, 'false');
    assert.deepEqual(create.body, {
      profile: {
        login: spec.userName,
        email: spec.email,
        firstName: 'Isaac',
        lastName: 'Brock',
        employeeNumber: spec.hrId,
        title: 'Engineer',
        department: 'Engineering',
        countryCode: 'US',
      },
    });
    // Looked up first: by HR key with `search`, then by login with `filter`.
    const lookups = s.requests.slice(from).filter((q) => q.method === 'GET' && q.path === '/api/v1/users');
    assert.equal(lookups[0]?.query.search, `profile.employeeNumber eq "${spec.hrId}"`);
    assert.equal(lookups[1]?.query.filter, `profile.login eq "${spec.userName}"`);
  });

  it('the stand-in answers the documented example create (no credentials, activate=false) as STAGED', async () => {
    const n = randomUUID().slice(0, 6);
    const res = await fetch(`${s.url}/api/v1/users?activate=false`, {
      method: 'POST',
      headers: { Authorization: `SSWS ${token}`, 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({
        profile: {
          firstName: 'Isaac',
          lastName: 'Brock',
          email: `isaac.brock+${n}@example.com`,
          login: `isaac.brock+${n}@example.com`,
          mobilePhone: '555-415-1337',
        },
      }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { id: string; status: string; activated: unknown; profile: { login: string } };
    assert.match(body.id, /^00u/);
    assert.equal(body.status, 'STAGED');
    assert.equal(body.activated, null);
    for (const h of ['x-rate-limit-limit', 'x-rate-limit-remaining', 'x-rate-limit-reset'])
      assert.match(res.headers.get(h) ?? '', /^\d+$/, `${h} on every answer`);
  });

  it('refuses what Okta refuses: wrong scheme, malformed JSON, undefined profile property, duplicate login', async () => {
    const bearer = await fetch(`${s.url}/api/v1/users`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(bearer.status, 401);
    const e1 = (await bearer.json()) as Record<string, unknown>;
    assert.equal(e1.errorCode, 'E0000011');
    assert.deepEqual(Object.keys(e1).sort(), ['errorCauses', 'errorCode', 'errorId', 'errorLink', 'errorSummary']);

    const post = (body: string) =>
      fetch(`${s.url}/api/v1/users?activate=false`, {
        method: 'POST',
        headers: { Authorization: `SSWS ${token}`, 'Content-Type': 'application/json' },
        body,
      });
    const malformed = await post('{"profile": {');
    assert.equal(malformed.status, 400);
    assert.equal(((await malformed.json()) as { errorCode: string }).errorCode, 'E0000003');

    const n = randomUUID().slice(0, 6);
    const profile = { firstName: 'A', lastName: 'B', email: `a.${n}@example.com`, login: `a.${n}@example.com` };
    const unknown = await post(JSON.stringify({ profile: { ...profile, shoeSize: '42' } }));
    assert.equal(unknown.status, 400);
    assert.equal(((await unknown.json()) as { errorCode: string }).errorCode, 'E0000001');

    assert.equal((await post(JSON.stringify({ profile }))).status, 200);
    const dup = await post(JSON.stringify({ profile }));
    assert.equal(dup.status, 400);
    const e = (await dup.json()) as { errorCode: string; errorCauses: { errorSummary: string }[] };
    assert.equal(e.errorCode, 'E0000001');
    assert.match(e.errorCauses[0]?.errorSummary ?? '', /already exists/);
  });

  it('a login taken by another HR key is a conflict whose message names no person', async () => {
    const spec = person();
    s.seedUser({
      profile: {
        login: spec.userName,
        email: spec.userName,
        firstName: 'Other',
        lastName: 'Person',
        employeeNumber: 'SOMEONE-ELSE',
      },
    });
    const err = await failure(c.ensureAccount(spec));
    assert.equal(err.type, 'conflict');
    assert.doesNotMatch(err.message, /@|already exists/);
    assert.equal(s.users().filter((u) => u.profile.login === spec.userName).length, 1);
  });

  it('a create that races another (400 E0000001, login exists) looks again and adopts the account', async () => {
    const spec = person();
    let id = '';
    // Someone creates the same login between the connector's lookups and its create.
    s.faults.beforeNext({ method: 'POST', path: '/api/v1/users', exact: true }, () => {
      id = s.seedUser({
        profile: { login: spec.userName, email: spec.userName, firstName: 'Isaac', lastName: 'Brock' },
      });
    });
    const from = s.requests.length;
    const r = await c.ensureAccount(spec);
    assert.equal(r.account.id, id);
    assert.equal(r.outcome, 'updated');
    assert.equal(s.user(id)?.profile.employeeNumber, spec.hrId, 'the HR key is written to the adopted user');
    assert.ok(s.requests.slice(from).some((q) => q.method === 'POST' && q.path === `/api/v1/users/${id}`));
    assert.equal(s.users().filter((u) => u.profile.login === spec.userName).length, 1);
  });

  it('a 5xx is transient with the vendor code; the retry completes', async () => {
    const spec = person();
    s.faults.next(1, { method: 'GET', path: '/api/v1/users', exact: true, status: 503 });
    const first = await failure(c.ensureAccount(spec));
    assert.equal(first.type, 'transient');
    assert.equal(first.details.vendorCode, 'E0000009');
    assert.equal((await c.ensureAccount(spec)).outcome, 'created');
  });

  it('lifecycle: hire activates, leave suspends, return unsuspends, exit deactivates; each read back', async () => {
    // A user with a password becomes ACTIVE on activation.
    const spec = person();
    const id = s.seedUser({
      profile: { login: spec.userName, email: spec.userName, firstName: 'I', lastName: 'B', employeeNumber: spec.hrId },
      password: true,
    });
    const from = s.requests.length;
    assert.equal((await c.setActive(id, true, { reason: 'hire' })).status, 'ACTIVE');
    assert.equal((await c.setActive(id, false, { reason: 'leave' })).status, 'SUSPENDED');
    assert.equal((await c.setActive(id, true, { reason: 'return' })).status, 'ACTIVE');
    assert.equal((await c.setActive(id, false, { reason: 'exit' })).status, 'DEPROVISIONED');
    assert.equal((await c.setActive(id, false, { reason: 'exit' })).status, 'DEPROVISIONED', 'a retry is a no-op');
    const calls = s.requests
      .slice(from)
      .filter((q) => q.path.includes('/lifecycle/'))
      .map((q) => `${q.path.split('/').at(-1) ?? ''}${q.query.sendEmail ? `?sendEmail=${q.query.sendEmail}` : ''}`);
    assert.deepEqual(calls, ['activate?sendEmail=false', 'suspend', 'unsuspend', 'deactivate?sendEmail=false']);
    // A rehire: a DEPROVISIONED user comes back with activate (Okta's reactivate is for PROVISIONED users only).
    assert.equal((await c.setActive(id, true, { reason: 'hire' })).status, 'ACTIVE');
  });

  it('without a password the activated user is PROVISIONED (enabled); with a FEDERATION provider, ACTIVE', async () => {
    const plain = await c.ensureAccount(person());
    const on = await c.setActive(plain.account.id, true, { reason: 'hire' });
    assert.equal(on.status, 'PROVISIONED');
    assert.equal(on.active, true);
    const federated = ssws(s, token, { provider: { type: 'FEDERATION' } });
    const from = s.requests.length;
    const f = await federated.ensureAccount(person());
    const create = s.requests.slice(from).find((q) => q.method === 'POST' && q.path === '/api/v1/users');
    assert.equal(create?.query.provider, 'true');
    assert.deepEqual((create?.body as { credentials?: unknown }).credentials, { provider: { type: 'FEDERATION' } });
    assert.equal((await federated.setActive(f.account.id, true, { reason: 'hire' })).status, 'ACTIVE');
  });

  it('illegal transitions are refused by the stand-in as documented', async () => {
    const staged = (await c.ensureAccount(person())).account.id;
    const call = (id: string, op: string) =>
      fetch(`${s.url}/api/v1/users/${id}/lifecycle/${op}`, {
        method: 'POST',
        headers: { Authorization: `SSWS ${token}` },
      });
    const suspend = await call(staged, 'suspend');
    assert.equal(suspend.status, 400);
    assert.equal(((await suspend.json()) as { errorCode: string }).errorCode, 'E0000001');
    assert.equal((await call(staged, 'unsuspend')).status, 400);
    assert.equal((await call(staged, 'reactivate')).status, 400, 'reactivate is for PROVISIONED/RECOVERY users');
    assert.equal((await call(staged, 'activate')).status, 200);
    const again = await call(staged, 'activate');
    assert.equal(again.status, 403);
    assert.equal(((await again.json()) as { errorCode: string }).errorCode, 'E0000016');
    const missing = await call('00uDoesNotExist000000', 'activate');
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { errorCode: string }).errorCode, 'E0000007');
  });

  it('an asynchronous transition still under way is transient; the retry finds it done', async () => {
    const id = (await c.ensureAccount(person())).account.id;
    s.faults.slowTransition(1);
    const err = await failure(c.setActive(id, true, { reason: 'hire' }));
    assert.equal(err.type, 'transient');
    assert.equal((await c.setActive(id, true, { reason: 'hire' })).active, true);
  });

  it('unknown ids: findById is undefined, setActive is not_found (E0000007), delete succeeds', async () => {
    assert.equal(await c.findById('00uNoSuchUser00000000'), undefined);
    const err = await failure(c.setActive('00uNoSuchUser00000000', false, { reason: 'exit' }));
    assert.equal(err.type, 'not_found');
    assert.equal(err.details.vendorCode, 'E0000007');
    await c.delete('00uNoSuchUser00000000');
  });

  it('delete deactivates first, then deletes; DELETE on an active user only deactivates (documented)', async () => {
    const spec = person();
    const id = s.seedUser({
      profile: { login: spec.userName, email: spec.userName, firstName: 'I', lastName: 'B' },
      status: 'ACTIVE',
      password: true,
    });
    const raw = await fetch(`${s.url}/api/v1/users/${id}`, {
      method: 'DELETE',
      headers: { Authorization: `SSWS ${token}` },
    });
    assert.equal(raw.status, 204);
    assert.equal(s.user(id)?.status, 'DEPROVISIONED', 'the first DELETE deactivates');
    await c.delete(id);
    assert.equal(s.user(id), undefined);
    await c.delete(id);
  });

  it('sessions: DELETE /api/v1/users/{id}/sessions?oauthTokens=true clears sessions and tokens', async () => {
    const id = (await c.ensureAccount(person())).account.id;
    s.openSession(id);
    s.openSession(id);
    const from = s.requests.length;
    const r = await c.revokeSessions(id);
    assert.equal(r.outcome, 'revoked');
    assert.equal(r.readBack?.userStatus, 'STAGED');
    assert.equal(s.activeSessions(id), 0);
    assert.equal(s.activeOAuthTokens(id), 0);
    const call = s.requests.slice(from).find((q) => q.method === 'DELETE');
    assert.equal(call?.path, `/api/v1/users/${id}/sessions`);
    assert.equal(call?.query.oauthTokens, 'true');
  });

  it('groups by name or id: PUT/DELETE /api/v1/groups/{gid}/users/{uid}, read back, idempotent', async () => {
    const gid = s.createGroup(`Engineering ${randomUUID().slice(0, 4)}`);
    s.createGroup('Engineering Managers'); // `q` is a prefix search: only the exact name counts
    const id = (await c.ensureAccount(person())).account.id;
    const name = s.groupName(gid);
    assert.deepEqual(await c.addToGroup(name, id), { groupId: gid, outcome: 'changed' });
    assert.equal((await c.addToGroup(name, id)).outcome, 'unchanged');
    assert.deepEqual(s.groupMembers(gid), [id]);
    assert.equal((await c.removeFromGroup(gid, id)).outcome, 'changed');
    assert.equal((await c.removeFromGroup(gid, id)).outcome, 'unchanged');
    const err = await failure(c.addToGroup('No Such Group', id));
    assert.equal(err.type, 'not_found');
  });

  it('listAccounts follows Link rel="next" (after cursor) and includes DEPROVISIONED users', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await c.ensureAccount(person())).account.id);
    await c.setActive(ids[0] ?? '', false, { reason: 'exit' });
    const from = s.requests.length;
    const listed: string[] = [];
    for await (const a of c.listAccounts()) listed.push(a.id);
    assert.equal(new Set(listed).size, listed.length);
    for (const id of ids) assert.ok(listed.includes(id), `${id} listed`);
    const pages = s.requests.slice(from).filter((q) => q.path === '/api/v1/users');
    assert.ok(pages.length > 3, 'several pages of 3');
    assert.ok(pages.some((q) => q.query.after !== undefined));
    assert.ok(pages.some((q) => q.query.filter === 'status eq "DEPROVISIONED"'));
  });

  it('rate limit: 429 E0000047 is rate_limited, retryAfterMs from X-Rate-Limit-Reset', async () => {
    s.faults.next(1, { method: 'GET', path: '/api/v1/users', status: 429, resetInSeconds: 30 });
    const err = await failure(c.findByHrKey('whoever'));
    assert.equal(err.type, 'rate_limited');
    assert.equal(err.details.vendorCode, 'E0000047');
    assert.ok((err.details.retryAfterMs ?? 0) > 25_000 && (err.details.retryAfterMs ?? 0) <= 31_000);
  });

  it('a custom HR key attribute works once the org defines it, and is refused (400) where it does not', async () => {
    const custom = await startOktaStandin({ apiTokens: [token], customAttributes: ['workdayId'] });
    try {
      const c2 = ssws(custom, token, { hrKeyAttribute: 'workdayId' });
      const spec = person();
      const r = await c2.ensureAccount(spec);
      assert.equal(custom.user(r.account.id)?.profile.workdayId, spec.hrId);
      assert.equal((await c2.findByHrKey(spec.hrId))?.id, r.account.id);
    } finally {
      await custom.close();
    }
    const undefinedHere = ssws(s, token, { hrKeyAttribute: 'workdayId' });
    const err = await failure(undefinedHere.ensureAccount(person()));
    assert.equal(err.type, 'invalid_request');
    assert.equal(err.details.vendorCode, 'E0000031');
  });

  it('a bad API token is unauthorized (E0000011) and the message carries no token', async () => {
    const bad = ssws(s, 'not-the-token');
    const err = await failure(bad.findByHrKey('x'));
    assert.equal(err.type, 'unauthorized');
    assert.equal(err.details.vendorCode, 'E0000011');
    assert.doesNotMatch(err.message, /not-the-token/);
  });
});

describe('okta connector: documented answers from a raw server', function () {
  let server: http.Server;
  let url = '';
  let answer: { status: number; headers: Record<string, string>; body: string } = {
    status: 200,
    headers: {},
    body: '[]',
  };

  before(async () => {
    server = http.createServer((_req, res) => {
      res.writeHead(answer.status, { 'Content-Type': 'application/json', ...answer.headers });
      res.end(answer.body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const connector = () =>
    createOktaConnector(
      'okta',
      oktaConnectorSchema.parse({ type: 'okta', orgUrl: url, auth: { type: 'ssws', tokenEnv: 'T' } }),
      { T: 'tok' },
    );

  it('parses the documented Link headers (self and next)', () => {
    const header =
      '<https://acme.okta.com/api/v1/users?limit=200>; rel="self", <https://acme.okta.com/api/v1/users?after=00ubfjQEMYBLRUWIEDKK&limit=200>; rel="next"';
    assert.equal(nextLink(header), 'https://acme.okta.com/api/v1/users?after=00ubfjQEMYBLRUWIEDKK&limit=200');
    assert.equal(nextLink('<https://acme.okta.com/api/v1/users?limit=200>; rel="self"'), undefined);
  });

  it('refuses a next link to another host (the token never leaves the org)', async () => {
    answer = {
      status: 200,
      headers: { Link: '<https://evil.example/api/v1/users?after=x>; rel="next"' },
      body: '[]',
    };
    const it = connector().listAccounts()[Symbol.asyncIterator]();
    const err = await failure(it.next());
    assert.equal(err.type, 'invalid_request');
  });

  it('maps the documented error bodies: E0000001 (login exists), E0000006, E0000009, E0000047', async () => {
    const body = (code: string, summary: string, causes: string[] = []) =>
      JSON.stringify({
        errorCode: code,
        errorSummary: summary,
        errorLink: code,
        errorId: 'oaeXXXXXXXXXXXX',
        errorCauses: causes.map((c) => ({ errorSummary: c })),
      });
    const cases: [number, string, Record<string, string>, string][] = [
      [
        400,
        body('E0000001', 'Api validation failed: login', [
          'login: An object with this field already exists in the current organization',
        ]),
        {},
        'conflict',
      ],
      [
        400,
        body('E0000001', 'Api validation failed: email', ['email: Does not match required pattern']),
        {},
        'invalid_request',
      ],
      [403, body('E0000006', 'You do not have permission to perform the requested action'), {}, 'unauthorized'],
      [500, body('E0000009', 'Internal Server Error'), {}, 'transient'],
      [
        429,
        body('E0000047', 'API call exceeded rate limit due to too many requests.'),
        { 'X-Rate-Limit-Limit': '1200', 'X-Rate-Limit-Remaining': '0', 'X-Rate-Limit-Reset': '1609459200' },
        'rate_limited',
      ],
    ];
    for (const [status, text, headers, type] of cases) {
      answer = { status, headers, body: text };
      const err = await failure(connector().findByUserName('ana@acme.example'));
      assert.equal(err.type, type, text);
      assert.doesNotMatch(err.message, /@|already exists|permission|pattern/, 'no vendor text, no person');
      if (status === 429) assert.equal(err.details.retryAfterMs, 0, 'a reset in the past: retry now');
    }
  });
});

describe('okta connector: OAuth 2.0 client credentials with private_key_jwt', function () {
  this.timeout(30_000);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const pub = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  let s: OktaStandin;

  before(async () => {
    s = await startOktaStandin({
      oauthClients: [
        { clientId: '0oa-tenure', publicKeyPem: pub, scopes: ['okta.users.manage', 'okta.groups.manage'] },
        { clientId: '0oa-reader', publicKeyPem: pub, scopes: ['okta.users.read'] },
      ],
    });
  });
  after(async () => {
    await s?.close();
  });

  const oauth = (auth: Record<string, unknown>, key = pem) =>
    createOktaConnector(
      'okta',
      oktaConnectorSchema.parse({
        type: 'okta',
        orgUrl: s.url,
        auth: { type: 'oauth', privateKeyEnv: 'OKTA_KEY', keyId: 'kid-1', ...auth },
      }),
      { OKTA_KEY: key },
    );

  it('signs an RS256 assertion (iss = sub = client id, aud = token URL, jti, exp), then calls with Bearer', async () => {
    const c = oauth({ clientId: '0oa-tenure' });
    const from = s.requests.length;
    const r = await c.ensureAccount(person());
    assert.equal(r.outcome, 'created');
    const seen = s.requests.slice(from);
    assert.equal(seen.filter((q) => q.path === '/oauth2/v1/token').length, 1, 'one token, cached');
    assert.ok(seen.filter((q) => q.path.startsWith('/api/')).every((q) => q.scheme === 'Bearer'));
  });

  it('the assertion claims are what Okta requires', () => {
    const jwt = clientAssertion(
      { clientId: '0oa-x', audience: s.tokenUrl, privateKey: pem, keyId: 'k1' },
      1_700_000_000_000,
    );
    const [h, p] = jwt
      .split('.')
      .slice(0, 2)
      .map((x) => JSON.parse(Buffer.from(x, 'base64url').toString()) as Record<string, unknown>);
    assert.deepEqual(h, { alg: 'RS256', typ: 'JWT', kid: 'k1' });
    assert.equal(p?.iss, '0oa-x');
    assert.equal(p?.sub, '0oa-x');
    assert.equal(p?.aud, s.tokenUrl);
    assert.equal(p?.iat, 1_700_000_000);
    assert.equal(p?.exp, 1_700_000_300);
    assert.match(String(p?.jti), /^[0-9a-f-]{36}$/);
  });

  it('a key Okta does not know is unauthorized (invalid_client); the message carries no key or assertion', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const err = await failure(oauth({ clientId: '0oa-tenure' }, other).findByHrKey('x'));
    assert.equal(err.type, 'unauthorized');
    assert.equal(err.details.vendorCode, 'invalid_client');
    assert.doesNotMatch(err.message, /eyJ|BEGIN/);
  });

  it('asking for a scope the app was not granted is invalid_scope; a read-only app cannot write (403 E0000006)', async () => {
    const greedy = await failure(oauth({ clientId: '0oa-reader' }).findByHrKey('x'));
    assert.equal(greedy.details.vendorCode, 'invalid_scope');
    const reader = oauth({ clientId: '0oa-reader', scopes: ['okta.users.read'] });
    assert.equal(await reader.findByHrKey('nobody'), undefined, 'reads work');
    const err = await failure(reader.ensureAccount(person()));
    assert.equal(err.type, 'unauthorized');
    assert.equal(err.details.vendorCode, 'E0000006');
  });

  it('an access token that expired is dropped: the call is transient, the retry gets a new token', async () => {
    const c = oauth({ clientId: '0oa-tenure' });
    await c.findByHrKey('warm-up');
    s.expireAccessTokens();
    const err = await failure(c.findByHrKey('x'));
    assert.equal(err.type, 'transient');
    assert.equal(await c.findByHrKey('x'), undefined);
  });

  it('the default token URL is {orgUrl}/oauth2/v1/token; secrets are named, never held', () => {
    const cfg = oktaConnectorSchema.parse({
      type: 'okta',
      orgUrl: 'https://acme.okta.com',
      auth: { type: 'oauth', clientId: '0oa1', privateKeyEnv: 'OKTA_PRIVATE_KEY' },
    });
    assert.deepEqual(oktaSecretVariables(cfg), ['OKTA_PRIVATE_KEY']);
    assert.deepEqual(connectorSecretVariables(cfg), ['OKTA_PRIVATE_KEY']);
    assert.equal(cfg.hrKeyAttribute, 'employeeNumber');
    assert.equal(cfg.sendActivationEmail, false);
    assert.deepEqual(cfg.auth.type === 'oauth' && cfg.auth.scopes, ['okta.users.manage', 'okta.groups.manage']);
    assert.throws(() =>
      oktaConnectorSchema.parse({
        type: 'okta',
        orgUrl: 'https://acme.okta.com',
        auth: { type: 'ssws', tokenEnv: '00abc-secret' },
      }),
    );
  });
});
