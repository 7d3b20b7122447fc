import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { buildConnectors } from '../../src/activities/connectors';
import { ConnectorError, type AccountSpec } from '../../src/activities/identity';
import { ScimConnector, type ScimSessionsOptions } from '../../src/activities/scim/client';
import { startScimPeer, type ScimPeer } from '../../src/dev/scim-peer';
import { policySchema } from '../../src/domain/policy';

const TOKEN = 'scim-secret-token';

function spec(n: number): AccountSpec {
  return {
    hrId: `hr-${n}`,
    userName: `leaver${n}@example.com`,
    givenName: `Given${n}`,
    familyName: `Family${n}`,
    email: `leaver${n}@example.com`,
    active: true,
  };
}

/** The peer's origin: where the vendor sessions stand-ins live (outside `/scim/v2`). */
function origin(peer: ScimPeer): string {
  return peer.url.replace(/\/scim\/v2$/, '');
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

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

describe('SCIM connector: revoking sign-in sessions through the vendor API', function () {
  this.timeout(20_000);
  let peer: ScimPeer;
  let accountId: string;

  function connector(sessions?: Partial<ScimSessionsOptions> & Pick<ScimSessionsOptions, 'api'>): ScimConnector {
    return new ScimConnector({
      systemId: 'idp',
      baseUrl: peer.url,
      token: TOKEN,
      timeoutMs: 2_000,
      ...(sessions ? { sessions: { baseUrl: origin(peer), token: TOKEN, ...sessions } } : {}),
    });
  }

  beforeEach(async () => {
    peer = await startScimPeer({ name: 'idp', token: TOKEN });
    accountId = (await connector().ensureAccount(spec(1))).account.id;
    peer.openSession(accountId);
    peer.openSession(accountId);
    peer.requests.length = 0;
  });
  afterEach(async () => {
    await peer.close();
  });

  describe('okta', () => {
    it('ends the sessions the IdP holds, revokes OAuth tokens, and the call is logged', async () => {
      assert.equal(peer.activeSessions(accountId), 2);
      const result = await connector({ api: 'okta' }).revokeSessions(accountId);
      assert.equal(result.outcome, 'revoked');
      assert.match(result.detail, new RegExp(`^idp: DELETE /api/v1/users/${accountId}/sessions -> 204`));
      assert.equal(peer.activeSessions(accountId), 0);

      const [record, ...more] = peer.sessionRevocations();
      assert.deepEqual(more, []);
      assert.deepEqual(record, { userId: accountId, at: record?.at, api: 'okta', ended: 2, oauthTokens: true });
      assert.equal(typeof record?.at, 'number');
      assert.deepEqual(
        peer.requests.map((r) => [r.method, r.url, r.status]),
        [['DELETE', `/api/v1/users/${accountId}/sessions?oauthTokens=true`, 204]],
      );
    });

    it('is idempotent: a second call succeeds and ends nothing more', async () => {
      const okta = connector({ api: 'okta' });
      assert.equal((await okta.revokeSessions(accountId)).outcome, 'revoked');
      assert.equal((await okta.revokeSessions(accountId)).outcome, 'revoked');
      assert.deepEqual(
        peer.sessionRevocations().map((r) => r.ended),
        [2, 0],
      );
      assert.equal(peer.activeSessions(accountId), 0);
    });

    it("an unknown account is not_found, with Okta's error code (not its summary text)", async () => {
      const err = await rejection(connector({ api: 'okta' }).revokeSessions('00unobody'));
      assert.equal(err.type, 'not_found');
      assert.equal(err.details.status, 404);
      assert.match(err.message, /-> 404 \(E0000007\)$/);
      assert.equal(err.details.vendorCode, 'E0000007');
      assert.deepEqual(peer.sessionRevocations(), []);
    });

    it('a wrong token is unauthorized, never echoed, and ends nothing', async () => {
      const err = await rejection(connector({ api: 'okta', token: 'wrong-token' }).revokeSessions(accountId));
      assert.equal(err.type, 'unauthorized');
      assert.equal(err.details.status, 401);
      assert.match(err.message, /-> 401 \(E0000011\)$/);
      assert.ok(!err.message.includes('wrong-token') && !JSON.stringify(err.details).includes('wrong-token'));
      assert.equal(peer.activeSessions(accountId), 2);
    });

    it('sends SSWS, not Bearer: the SCIM token scheme is refused', async () => {
      const res = await fetch(`${origin(peer)}/api/v1/users/${accountId}/sessions`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      assert.equal(res.status, 401);
      assert.equal(((await res.json()) as { errorCode?: string }).errorCode, 'E0000011');
    });

    it('classifies 429 (with Retry-After), 5xx, 400 and network failures', async () => {
      const okta = connector({ api: 'okta' });
      const path = `/api/v1/users/${accountId}/sessions`;
      peer.faults.next(1, { status: 429, retryAfter: 7, path });
      const limited = await rejection(okta.revokeSessions(accountId));
      assert.equal(limited.type, 'rate_limited');
      assert.equal(limited.details.retryAfterMs, 7_000);

      peer.faults.next(1, { status: 429, path, headers: { 'X-Rate-Limit-Reset': '4102444800' } });
      const reset = await rejection(okta.revokeSessions(accountId));
      assert.equal(reset.type, 'rate_limited');
      assert.ok((reset.details.retryAfterMs ?? 0) > 0);

      peer.faults.next(1, { status: 503, path });
      assert.equal((await rejection(okta.revokeSessions(accountId))).type, 'transient');
      peer.faults.next(1, { status: 400, path });
      assert.equal((await rejection(okta.revokeSessions(accountId))).type, 'invalid_request');
      peer.faults.next(1, { status: 403, path });
      assert.equal((await rejection(okta.revokeSessions(accountId))).type, 'unauthorized');
      assert.equal(peer.activeSessions(accountId), 2);

      const port = await closedPort();
      const down = connector({ api: 'okta', baseUrl: `http://127.0.0.1:${port}` });
      const err = await rejection(down.revokeSessions(accountId));
      assert.equal(err.type, 'transient');
      assert.ok(!err.message.includes(TOKEN));
    });
  });

  describe('entra (Microsoft Graph)', () => {
    it('POSTs revokeSignInSessions with a Bearer token and reads {"value": true}', async () => {
      const result = await connector({ api: 'entra' }).revokeSessions(accountId);
      assert.equal(result.outcome, 'revoked');
      assert.match(result.detail, new RegExp(`^idp: POST /v1.0/users/${accountId}/revokeSignInSessions -> 200`));
      assert.equal(peer.activeSessions(accountId), 0);
      assert.deepEqual(
        peer.sessionRevocations().map((r) => [r.userId, r.api, r.ended]),
        [[accountId, 'entra', 2]],
      );
      assert.deepEqual(
        peer.requests.map((r) => [r.method, r.path, r.status]),
        [['POST', `/v1.0/users/${accountId}/revokeSignInSessions`, 200]],
      );
      // Idempotent.
      assert.equal((await connector({ api: 'entra' }).revokeSessions(accountId)).outcome, 'revoked');
    });

    it('an unknown account is not_found; a wrong token is unauthorized', async () => {
      const missing = await rejection(connector({ api: 'entra' }).revokeSessions('no-such-object'));
      assert.equal(missing.type, 'not_found');
      assert.match(missing.message, /Request_ResourceNotFound/);
      const denied = await rejection(connector({ api: 'entra', token: 'nope' }).revokeSessions(accountId));
      assert.equal(denied.type, 'unauthorized');
      assert.equal(peer.activeSessions(accountId), 2);
    });

    it('a 200 that does not say {"value": true} is not taken as revoked', async () => {
      peer.faults.next(1, { status: 200, body: { value: false }, path: '/v1.0/users/' });
      const err = await rejection(connector({ api: 'entra' }).revokeSessions(accountId));
      assert.equal(err.type, 'invalid_request');
    });
  });

  it('without a sessions API: not_supported, and no HTTP call is made', async () => {
    const result = await connector().revokeSessions(accountId);
    assert.equal(result.outcome, 'not_supported');
    assert.match(result.detail, /^idp: SCIM 2\.0 has no sessions API/);
    assert.deepEqual(peer.requests, []);
    assert.equal(peer.activeSessions(accountId), 2);
  });

  it('the peer refuses a sign-in for an unknown or inactive user', async () => {
    assert.throws(() => peer.openSession('nobody'), /has no user nobody/);
    await connector().setActive(accountId, false);
    assert.throws(() => peer.openSession(accountId), /inactive/);
  });

  it('buildConnectors: the sessions token from tokenEnv, else the SCIM token', async () => {
    const policy = (sessions: Record<string, unknown>) =>
      policySchema.parse({
        systems: [
          {
            id: 'idp',
            name: 'IdP',
            kind: 'identity-provider',
            connector: { type: 'scim', baseUrl: peer.url, tokenEnv: 'IDP_SCIM_TOKEN', sessions },
          },
        ],
        birthright: [{ name: 'all', systems: ['idp'] }],
      });
    const env = { IDP_SCIM_TOKEN: TOKEN, IDP_SESSIONS_TOKEN: 'other-token' };

    const inherited = buildConnectors(policy({ api: 'okta', baseUrl: origin(peer) }), env).get('idp');
    assert.equal((await inherited?.revokeSessions?.(accountId))?.outcome, 'revoked');

    const own = buildConnectors(
      policy({ api: 'okta', baseUrl: origin(peer), tokenEnv: 'IDP_SESSIONS_TOKEN' }),
      env,
    ).get('idp');
    assert.equal((await rejection(own?.revokeSessions?.(accountId) ?? Promise.resolve())).type, 'unauthorized');

    assert.throws(
      () => buildConnectors(policy({ api: 'entra', baseUrl: origin(peer), tokenEnv: 'UNSET_TOKEN' }), env),
      /system "idp" \(its sessions API token\): environment variable UNSET_TOKEN is not set/,
    );
  });
});
