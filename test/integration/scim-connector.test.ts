import assert from 'node:assert/strict';
import { ConnectorError, type AccountSpec } from '../../src/activities/identity';
import { ScimConnector, scimEqFilter } from '../../src/activities/scim/client';
import { parseRetryAfter } from '../../src/activities/scim/transport';
import { startScimPeer, type ScimPeer } from '../../src/dev/scim-peer';

const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

function spec(n: number | string, overrides: Partial<AccountSpec> = {}): AccountSpec {
  return {
    hrId: `hr-${n}`,
    userName: `user${n}@example.com`,
    givenName: `Given${n}`,
    familyName: `Family${n}`,
    email: `user${n}@example.com`,
    title: 'Engineer',
    department: 'R&D',
    active: true,
    ...overrides,
  };
}

/** POST a user straight to the peer, as "someone else" (an admin, another tool) would. */
async function createDirectly(peer: ScimPeer, body: Record<string, unknown>, token?: string): Promise<Response> {
  return fetch(`${peer.url}/Users`, {
    method: 'POST',
    headers: { 'content-type': 'application/scim+json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ schemas: [USER_SCHEMA], ...body }),
  });
}

async function rejection(promise: Promise<unknown>): Promise<ConnectorError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ConnectorError, `expected ConnectorError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('SCIM connector against a real SCIM peer', function () {
  this.timeout(20_000);
  let peer: ScimPeer;
  let scim: ScimConnector;

  beforeEach(async () => {
    peer = await startScimPeer({ name: 'app' });
    scim = new ScimConnector({ systemId: 'app', baseUrl: peer.url, timeoutMs: 2_000 });
  });
  afterEach(async () => {
    await peer.close();
  });

  describe('ensureAccount', () => {
    it('creates, then adopts on the second call: one account', async () => {
      const first = await scim.ensureAccount(spec(1));
      assert.equal(first.outcome, 'created');
      assert.deepEqual(first.account, {
        id: first.account.id,
        hrId: 'hr-1',
        userName: 'user1@example.com',
        active: true,
      });

      const second = await scim.ensureAccount(spec(1));
      assert.equal(second.outcome, 'adopted');
      assert.equal(second.account.id, first.account.id);

      const users = peer.users();
      assert.equal(users.length, 1);
      const [user] = users;
      assert.equal(user?.externalId, 'hr-1');
      assert.deepEqual(user?.name, { givenName: 'Given1', familyName: 'Family1' });
      assert.deepEqual(user?.emails, [{ value: 'user1@example.com', type: 'work', primary: true }]);
      assert.equal(user?.raw.title, 'Engineer');
      assert.deepEqual(user?.raw[ENTERPRISE], { department: 'R&D' });
    });

    it('updates an existing account whose attributes differ', async () => {
      const created = await scim.ensureAccount(spec(2));
      const moved = await scim.ensureAccount(
        spec(2, { familyName: 'Married', title: 'Manager', department: 'Ops', email: 'new2@example.com' }),
      );
      assert.equal(moved.outcome, 'updated');
      assert.equal(moved.account.id, created.account.id);
      const [user] = peer.users();
      assert.deepEqual(user?.name, { givenName: 'Given2', familyName: 'Married' });
      assert.equal(user?.raw.title, 'Manager');
      assert.deepEqual(user?.raw[ENTERPRISE], { department: 'Ops' });
      assert.deepEqual(user?.emails, [{ value: 'new2@example.com', type: 'work', primary: true }]);
      assert.equal(
        (
          await scim.ensureAccount(
            spec(2, { familyName: 'Married', title: 'Manager', department: 'Ops', email: 'new2@example.com' }),
          )
        ).outcome,
        'adopted',
      );
    });

    it('adopts on 409 when someone else creates the same userName between lookup and create', async () => {
      peer.faults.before(
        1,
        async () => {
          const res = await createDirectly(peer, {
            userName: 'user3@example.com',
            name: { givenName: 'Manual', familyName: 'Entry' },
          });
          assert.equal(res.status, 201);
        },
        { method: 'POST', path: '/Users' },
      );

      const result = await scim.ensureAccount(spec(3));
      assert.equal(result.outcome, 'updated', 'adopted, then brought up to date');
      assert.ok(
        peer.requests.some((r) => r.method === 'POST' && r.status === 409),
        'our create was refused with 409',
      );

      const users = peer.users();
      assert.equal(users.length, 1);
      assert.equal(users[0]?.id, result.account.id);
      assert.equal(users[0]?.externalId, 'hr-3');
      assert.deepEqual(users[0]?.name, { givenName: 'Given3', familyName: 'Family3' });
    });

    it('adopts an account made by someone else (same userName, no externalId) found by lookup', async () => {
      await createDirectly(peer, {
        userName: 'user4@example.com',
        name: { givenName: 'Given4', familyName: 'Family4' },
      });
      const result = await scim.ensureAccount(spec(4));
      assert.equal(result.outcome, 'updated');
      assert.equal(peer.users().length, 1);
      assert.equal(peer.users()[0]?.externalId, 'hr-4');
      assert.equal(peer.requests.filter((r) => r.method === 'POST').length, 1, 'only the direct create');
    });

    it('refuses to take over a userName held by another person (different externalId)', async () => {
      await createDirectly(peer, { userName: 'user5@example.com', externalId: 'hr-other' });
      const err = await rejection(scim.ensureAccount(spec(5)));
      assert.equal(err.type, 'conflict');
      assert.equal(err.retryable, false);
      assert.equal(peer.users().length, 1);
      assert.equal(peer.users()[0]?.externalId, 'hr-other');
    });

    it('lost response after the write, then a retry: exactly one account, adopted', async () => {
      peer.faults.dropResponseAfterWrite(1, { method: 'POST', path: '/Users' });
      const err = await rejection(scim.ensureAccount(spec(6)));
      assert.equal(err.type, 'transient');
      assert.equal(peer.users().length, 1, 'the write happened');

      const retry = await scim.ensureAccount(spec(6));
      assert.equal(retry.outcome, 'adopted');
      assert.equal(peer.users().length, 1);
      assert.equal(retry.account.id, peer.users()[0]?.id);
    });

    it('finds accounts whose keys contain quotes and backslashes', async () => {
      const odd = spec(7, { hrId: 'hr "7" \\ x', userName: 'o"brien\\7@example.com' });
      const created = await scim.ensureAccount(odd);
      assert.equal(created.outcome, 'created');
      assert.equal((await scim.findByHrKey(odd.hrId))?.id, created.account.id);
      assert.equal((await scim.ensureAccount(odd)).outcome, 'adopted');
      assert.equal(scimEqFilter('externalId', 'a"b\\c'), 'externalId eq "a\\"b\\\\c"');
    });

    it('creates inactive accounts when asked to', async () => {
      const result = await scim.ensureAccount(spec(8, { active: false }));
      assert.equal(result.account.active, false);
      assert.equal(peer.users()[0]?.active, false);
    });
  });

  describe('findByHrKey', () => {
    it('finds by externalId, then by userName, and not someone else', async () => {
      const { account } = await scim.ensureAccount(spec(10));
      assert.equal((await scim.findByHrKey('hr-10'))?.id, account.id);
      assert.equal(await scim.findByHrKey('hr-missing'), undefined);
      await createDirectly(peer, { userName: 'manual@example.com' });
      assert.equal((await scim.findByHrKey('hr-11', 'manual@example.com'))?.userName, 'manual@example.com');
      assert.equal(
        (await scim.findByHrKey('hr-11', 'MANUAL@example.com'))?.userName,
        'manual@example.com',
        'userName is case-insensitive',
      );
      assert.equal(await scim.findByHrKey('hr-12', 'user10@example.com'), undefined, 'held by hr-10');
    });
  });

  describe('setActive and delete', () => {
    it('deactivates with PATCH (value form) and reads it back', async () => {
      const { account } = await scim.ensureAccount(spec(20));
      const off = await scim.setActive(account.id, false);
      assert.equal(off.active, false);
      assert.equal((await scim.findByHrKey('hr-20'))?.active, false);
      assert.equal(peer.users()[0]?.active, false);
      const patch = peer.requests.find((r) => r.method === 'PATCH');
      assert.equal(patch?.status, 200);

      // Again: nothing changes, SCIMMY answers 204, the connector re-reads.
      assert.equal((await scim.setActive(account.id, false)).active, false);
      assert.equal((await scim.setActive(account.id, true)).active, true);
    });

    it('deactivates with PATCH in the path form', async () => {
      const byPath = new ScimConnector({ systemId: 'app', baseUrl: peer.url, patchStyle: 'path' });
      const { account } = await byPath.ensureAccount(spec(21));
      assert.equal((await byPath.setActive(account.id, false)).active, false);
      assert.equal(peer.users()[0]?.active, false);
      assert.equal((await byPath.ensureAccount(spec(21, { title: 'Lead' }))).outcome, 'updated');
      assert.equal(peer.users()[0]?.raw.title, 'Lead');
      assert.equal(peer.users()[0]?.active, true, 'spec says active');
    });

    it('setActive on a missing account is not_found', async () => {
      const err = await rejection(scim.setActive('no-such-id', false));
      assert.equal(err.type, 'not_found');
      assert.equal(err.details.status, 404);
    });

    it('deletes, and deleting again is fine', async () => {
      const { account } = await scim.ensureAccount(spec(22));
      await scim.delete(account.id);
      assert.equal(peer.users().length, 0);
      await scim.delete(account.id);
      assert.equal(await scim.findByHrKey('hr-22'), undefined);
    });
  });

  describe('listAccounts', () => {
    it('pages across more users than the server page cap', async () => {
      const total = 123;
      for (let i = 0; i < total; i++) {
        const res = await createDirectly(peer, { userName: `bulk${i}@example.com`, externalId: `bulk-${i}` });
        assert.equal(res.status, 201);
      }
      const accounts = await collect(scim.listAccounts());
      assert.equal(accounts.length, total);
      assert.equal(new Set(accounts.map((a) => a.id)).size, total);
      assert.deepEqual(
        accounts.map((a) => a.hrId),
        Array.from({ length: total }, (_, i) => `bulk-${i}`),
      );
      const pages = peer.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/Users'));
      assert.deepEqual(
        pages.map((r) => new URL(r.url, 'http://x').searchParams.get('startIndex')),
        ['1', '51', '101'],
        'the server caps count at 50; the client advances by what it got',
      );
    });

    it('lists nothing from an empty server', async () => {
      assert.deepEqual(await collect(scim.listAccounts()), []);
    });

    it('pages with a small page size too', async () => {
      for (let i = 0; i < 7; i++) await createDirectly(peer, { userName: `p${i}@example.com` });
      const small = new ScimConnector({ systemId: 'app', baseUrl: peer.url, pageSize: 3 });
      assert.equal((await collect(small.listAccounts())).length, 7);
    });
  });

  describe('error classification', () => {
    it('429 with Retry-After seconds is rate_limited with retryAfterMs', async () => {
      peer.faults.next(1, { status: 429, retryAfter: 7 });
      const err = await rejection(scim.findByHrKey('hr-1'));
      assert.equal(err.type, 'rate_limited');
      assert.equal(err.retryable, true);
      assert.equal(err.details.retryAfterMs, 7_000);
      assert.equal(err.details.status, 429);
      assert.equal(err.details.systemId, 'app');
    });

    it('429 with an HTTP-date Retry-After', async () => {
      peer.faults.next(1, { status: 429, retryAfter: new Date(Date.now() + 30_000).toUTCString() });
      const err = await rejection(scim.ensureAccount(spec(30)));
      assert.equal(err.type, 'rate_limited');
      const ms = err.details.retryAfterMs ?? -1;
      assert.ok(ms > 27_000 && ms <= 30_000, `retryAfterMs ${ms}`);
    });

    it('parseRetryAfter handles seconds, dates, the past and junk', () => {
      const now = Date.parse('2025-01-01T00:00:00Z');
      assert.equal(parseRetryAfter('120', now), 120_000);
      assert.equal(parseRetryAfter(' 0 ', now), 0);
      assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:01:00 GMT', now), 60_000);
      assert.equal(parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now), 0);
      assert.equal(parseRetryAfter('soon', now), undefined);
      assert.equal(parseRetryAfter('-5', now), undefined);
      assert.equal(parseRetryAfter(undefined, now), undefined);
    });

    it('500 is transient', async () => {
      peer.faults.next(1, { status: 500 });
      const err = await rejection(scim.ensureAccount(spec(31)));
      assert.equal(err.type, 'transient');
      assert.equal(err.retryable, true);
      assert.equal(err.details.status, 500);
      assert.equal(peer.users().length, 0);
    });

    it('503 is transient and keeps Retry-After', async () => {
      peer.faults.next(1, { status: 503, retryAfter: 2 });
      const err = await rejection(scim.findByHrKey('hr-1'));
      assert.equal(err.type, 'transient');
      assert.equal(err.details.retryAfterMs, 2_000);
    });

    it('a timeout is transient', async () => {
      const impatient = new ScimConnector({ systemId: 'app', baseUrl: peer.url, timeoutMs: 100 });
      peer.faults.delay(1, 500, { method: 'GET' });
      const err = await rejection(impatient.findByHrKey('hr-1'));
      assert.equal(err.type, 'transient');
    });

    it('a refused connection is transient', async () => {
      const gone = await startScimPeer();
      await gone.close();
      const err = await rejection(new ScimConnector({ systemId: 'gone', baseUrl: gone.url }).findByHrKey('hr-1'));
      assert.equal(err.type, 'transient');
      assert.match(err.message, /^gone: GET \/Users failed/);
    });

    it('400 is invalid_request and the message carries scimType and detail', async () => {
      peer.faults.next(1, {
        status: 400,
        body: {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
          status: '400',
          scimType: 'invalidValue',
          detail: 'title is too long',
        },
      });
      const err = await rejection(scim.ensureAccount(spec(32)));
      assert.equal(err.type, 'invalid_request');
      assert.equal(err.retryable, false);
      assert.equal(err.details.scimType, 'invalidValue');
      assert.match(err.message, /400 \(invalidValue\)$/);
      assert.ok(!err.message.includes('title is too long'), "the server's detail text is not quoted");
    });

    it('404 is not_found, 409 is conflict', async () => {
      peer.faults.next(1, { status: 404 });
      assert.equal((await rejection(scim.findByHrKey('x'))).type, 'not_found');
      peer.faults.next(1, { status: 409 });
      assert.equal((await rejection(scim.findByHrKey('x'))).type, 'conflict');
    });

    it('403 is unauthorized, but a 403 that signals a rate limit (GitHub) is rate_limited', async () => {
      peer.faults.next(1, { status: 403 });
      const plain = await rejection(scim.findByHrKey('x'));
      assert.equal(plain.type, 'unauthorized');
      assert.equal(plain.retryable, false);

      peer.faults.next(1, { status: 403, retryAfter: 60 });
      const secondary = await rejection(scim.findByHrKey('x'));
      assert.equal(secondary.type, 'rate_limited');
      assert.equal(secondary.details.retryAfterMs, 60_000);

      const reset = Math.floor(Date.now() / 1000) + 30;
      peer.faults.next(1, {
        status: 403,
        headers: { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': String(reset) },
      });
      const primary = await rejection(scim.findByHrKey('x'));
      assert.equal(primary.type, 'rate_limited');
      const ms = primary.details.retryAfterMs ?? -1;
      assert.ok(ms > 25_000 && ms <= 30_000, `retryAfterMs ${ms}`);

      peer.faults.next(1, { status: 403, headers: { 'X-RateLimit-Remaining': '12' } });
      assert.equal((await rejection(scim.findByHrKey('x'))).type, 'unauthorized');
    });

    it('a timeout after the write: the account exists, the retry adopts it', async () => {
      const impatient = new ScimConnector({ systemId: 'app', baseUrl: peer.url, timeoutMs: 200 });
      peer.faults.delayResponse(1, 600, { method: 'POST', path: '/Users' });
      const err = await rejection(impatient.ensureAccount(spec(33)));
      assert.equal(err.type, 'transient');
      assert.match(err.message, /failed: (ECONNABORTED|ETIMEDOUT)$/);
      assert.equal(peer.users().length, 1, 'the write happened');
      const retry = await impatient.ensureAccount(spec(33));
      assert.equal(retry.outcome, 'adopted');
      assert.equal(peer.users().length, 1);
    });

    it('a non-SCIM 200 body is invalid_request', async () => {
      peer.faults.next(1, { status: 200, body: { hello: 'world' } });
      const err = await rejection(scim.findByHrKey('x'));
      assert.equal(err.type, 'invalid_request');
    });
  });

  describe('authentication', () => {
    const token = 's3cr3t-token-value';
    let locked: ScimPeer;

    beforeEach(async () => {
      locked = await startScimPeer({ name: 'locked', token });
    });
    afterEach(async () => {
      await locked.close();
    });

    it('requires the bearer token when configured; 401 is unauthorized and never echoes the token', async () => {
      const anonymous = await rejection(
        new ScimConnector({ systemId: 'locked', baseUrl: locked.url }).ensureAccount(spec(40)),
      );
      assert.equal(anonymous.type, 'unauthorized');
      assert.equal(anonymous.details.status, 401);

      const wrongToken = 'wrong-token-value';
      const wrong = await rejection(
        new ScimConnector({ systemId: 'locked', baseUrl: locked.url, token: wrongToken }).ensureAccount(spec(40)),
      );
      assert.equal(wrong.type, 'unauthorized');
      assert.ok(!wrong.message.includes(wrongToken));
      assert.ok(!JSON.stringify(wrong.details).includes(wrongToken));
      assert.equal(locked.users().length, 0);

      const right = new ScimConnector({ systemId: 'locked', baseUrl: locked.url, token });
      assert.equal((await right.ensureAccount(spec(40))).outcome, 'created');
      assert.equal(locked.users().length, 1);
    });

    it('keeps the token and request body out of error messages', async () => {
      const right = new ScimConnector({ systemId: 'locked', baseUrl: locked.url, token });
      locked.faults.next(1, { status: 500, body: { detail: 'boom' } });
      const err = await rejection(right.ensureAccount(spec(41, { givenName: 'Zebediah' })));
      assert.ok(!err.message.includes(token));
      assert.ok(!err.message.includes('Zebediah'));
      assert.ok(!err.message.includes('hr-41'), 'not even the filter in the query string');
    });
  });

  describe('two peers in one process', () => {
    it('keep separate stores and share one creation sequence', async () => {
      const idp = await startScimPeer({ name: 'idp' });
      try {
        const idpScim = new ScimConnector({ systemId: 'idp', baseUrl: idp.url });
        const inIdp = await idpScim.ensureAccount(spec(50));
        const inApp = await scim.ensureAccount(spec(50));
        assert.equal(inIdp.outcome, 'created');
        assert.equal(inApp.outcome, 'created', 'the app peer did not see the idp account');
        assert.notEqual(inIdp.account.id, inApp.account.id);

        await idpScim.ensureAccount(spec(51));
        assert.deepEqual(
          idp.users().map((u) => u.userName),
          ['user50@example.com', 'user51@example.com'],
        );
        assert.deepEqual(
          peer.users().map((u) => u.userName),
          ['user50@example.com'],
        );
        assert.equal(await scim.findByHrKey('hr-51'), undefined);

        const [idpFirst, idpSecond] = idp.users();
        const [appFirst] = peer.users();
        assert.ok(idpFirst && idpSecond && appFirst);
        assert.ok(idpFirst.seq < appFirst.seq && appFirst.seq < idpSecond.seq, 'seq orders creations across peers');
        assert.ok(idpFirst.createdAt <= appFirst.createdAt);

        await scim.delete(inApp.account.id);
        assert.equal(peer.users().length, 0);
        assert.equal(idp.users().length, 2);
      } finally {
        await idp.close();
      }
    });
  });

  describe('the peer itself', () => {
    it('rejects what a SCIM server rejects', async () => {
      const post = (body: string) =>
        fetch(`${peer.url}/Users`, { method: 'POST', headers: { 'content-type': 'application/scim+json' }, body });
      const badJson = await post('{"schemas":');
      assert.equal(badJson.status, 400);
      assert.deepEqual(await badJson.json(), {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
        status: '400',
        scimType: 'invalidSyntax',
        detail: 'Request body is not valid JSON',
      });
      const noUserName = await post(JSON.stringify({ schemas: [USER_SCHEMA] }));
      assert.equal(noUserName.status, 400);
      assert.equal(((await noUserName.json()) as { scimType?: string }).scimType, 'invalidValue');
      const wrongSchema = await post(JSON.stringify({ schemas: ['urn:example:Widget'], userName: 'w' }));
      assert.equal(wrongSchema.status, 400);
      const noSchemas = await post(JSON.stringify({ userName: 'w' }));
      assert.equal(noSchemas.status, 400);

      assert.equal(
        (await post(JSON.stringify({ schemas: [USER_SCHEMA], userName: 'dup', externalId: 'e1' }))).status,
        201,
      );
      const dupName = await post(JSON.stringify({ schemas: [USER_SCHEMA], userName: 'DUP' }));
      assert.equal(dupName.status, 409);
      assert.equal(((await dupName.json()) as { scimType?: string }).scimType, 'uniqueness');
      const dupExternal = await post(JSON.stringify({ schemas: [USER_SCHEMA], userName: 'other', externalId: 'e1' }));
      assert.equal(dupExternal.status, 409);
      assert.equal(peer.users().length, 1);
    });

    it('answers with absolute locations and honest list metadata', async () => {
      const created = await createDirectly(peer, { userName: 'loc@example.com' });
      const body = (await created.json()) as { id: string; meta: { location: string } };
      assert.equal(created.headers.get('location'), `${peer.url}/Users/${body.id}`);
      assert.equal(body.meta.location, `${peer.url}/Users/${body.id}`);
      const list = (await (await fetch(`${peer.url}/Users?startIndex=5&count=10`)).json()) as Record<string, unknown>;
      assert.deepEqual(
        {
          totalResults: list.totalResults,
          startIndex: list.startIndex,
          itemsPerPage: list.itemsPerPage,
          Resources: list.Resources,
        },
        { totalResults: 1, startIndex: 5, itemsPerPage: 0, Resources: [] },
      );
    });
  });
});
