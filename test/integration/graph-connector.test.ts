import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomUUID, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { AccountSpec } from '../../src/activities/identity';
import { identityProviderDirectory } from '../../src/activities/directory';
import { ConnectorError } from '../../src/activities/identity';
import { createGraphConnector, GraphConnector, mailNickname, strongPassword } from '../../src/activities/graph/client';
import { GraphTokenSource, thumbprintHeader } from '../../src/activities/graph/token';
import { graphRequest } from '../../src/activities/graph/transport';
import { graphConnectorSchema, graphSecretVariables } from '../../src/domain/connectors/graph';
import type { GraphStandin } from '../peers/graph-standin';
import { startGraphStandin } from '../peers/graph-standin';

/**
 * The Graph connector on the wire, against the stand-in (test/peers/graph-standin.ts), with the request and response
 * shapes of Microsoft's documentation: the client-credentials token request, create user (required properties,
 * passwordProfile), list users with `$filter` / `$select` / `$top` / `@odata.nextLink`, manager/$ref, members/$ref,
 * assignLicense + licenseDetails + subscribedSkus, revokeSignInSessions, the error body and throttling.
 */
describe('Microsoft Graph connector: wire format, errors and idempotency', function () {
  this.timeout(30_000);
  let g: GraphStandin;

  before(async () => {
    g = await startGraphStandin({ domains: ['acme.example', 'contoso.com'], defaultPageSize: 100 });
  });
  after(async () => {
    await g?.close();
  });

  function connector(over: Partial<ConstructorParameters<typeof GraphConnector>[0]> = {}): GraphConnector {
    return new GraphConnector({
      systemId: 'entra',
      tenantId: g.tenantId,
      clientId: g.clientId,
      credential: { kind: 'secret', secret: g.clientSecret },
      authorityUrl: g.url,
      graphUrl: g.url,
      timeoutMs: 2_000,
      ...over,
    });
  }

  function person(over: Partial<AccountSpec> = {}): AccountSpec {
    const n = randomUUID().slice(0, 8);
    return {
      hrId: `W${n}`,
      userName: `ana.${n}@acme.example`,
      givenName: 'Ana',
      familyName: `Lima${n}`,
      email: `ana.${n}@acme.example`,
      title: 'Engineer',
      department: 'Engineering',
      countryCode: 'PT',
      active: false,
      ...over,
    };
  }

  /** Requests the stand-in saw since `mark`. */
  const since = (mark: number) => g.requests().slice(mark);

  async function rejection(p: Promise<unknown>): Promise<ConnectorError> {
    try {
      await p;
    } catch (err) {
      assert.ok(err instanceof ConnectorError, `a ConnectorError, not ${String(err)}`);
      return err;
    }
    assert.fail('expected a rejection');
  }

  async function raw(method: string, path: string, body?: unknown, auth?: string) {
    const res = await fetch(`${g.url}${path}`, {
      method,
      headers: {
        ...(auth !== undefined ? { Authorization: auth } : {}),
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    };
  }

  async function bearer(): Promise<string> {
    const res = await fetch(`${g.url}/${g.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: g.clientId,
        scope: 'https://graph.microsoft.com/.default',
        client_secret: g.clientSecret,
        grant_type: 'client_credentials',
      }).toString(),
    });
    assert.equal(res.status, 200);
    return `Bearer ${((await res.json()) as { access_token: string }).access_token}`;
  }

  describe('the stand-in answers as Graph documents', () => {
    it('token endpoint: the documented client-credentials form gets {token_type, expires_in, access_token}', async () => {
      const res = await fetch(`${g.url}/${g.tenantId}/oauth2/v2.0/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          client_id: g.clientId,
          scope: 'https://graph.microsoft.com/.default',
          client_secret: g.clientSecret,
          grant_type: 'client_credentials',
        }).toString(),
      });
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(res.status, 200);
      assert.equal(body.token_type, 'Bearer');
      assert.equal(typeof body.expires_in, 'number');
      assert.equal(typeof body.access_token, 'string');
      // JSON instead of a form, a wrong secret, a wrong scope: refused with OAuth errors.
      const asJson = await fetch(`${g.url}/${g.tenantId}/oauth2/v2.0/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ grant_type: 'client_credentials', client_id: g.clientId }),
      });
      assert.equal(asJson.status, 400);
      assert.equal(((await asJson.json()) as { error: string }).error, 'invalid_request');
      const wrong = await fetch(`${g.url}/${g.tenantId}/oauth2/v2.0/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          client_id: g.clientId,
          scope: 'https://graph.microsoft.com/.default',
          client_secret: 'nope',
          grant_type: 'client_credentials',
        }).toString(),
      });
      assert.equal(wrong.status, 401);
      const wrongBody = (await wrong.json()) as { error: string; error_codes: number[] };
      assert.equal(wrongBody.error, 'invalid_client');
      assert.deepEqual(wrongBody.error_codes, [7000215]);
    });

    it('401 InvalidAuthenticationToken without a token, with another scheme, with an unknown token', async () => {
      for (const auth of [undefined, 'SSWS abc', 'Basic YTpi', 'Bearer not-a-token']) {
        const r = await raw('GET', '/v1.0/users', undefined, auth);
        assert.equal(r.status, 401, String(auth));
        const error = r.body.error as { code: string; innerError: Record<string, string> };
        assert.equal(error.code, 'InvalidAuthenticationToken');
        assert.ok(error.innerError['request-id'], 'innerError carries request-id');
      }
    });

    it('create user: the documented example answers 201 with the default property set', async () => {
      const auth = await bearer();
      const upn = `AdeleV.${randomUUID().slice(0, 6)}@contoso.com`;
      const r = await raw(
        'POST',
        '/v1.0/users',
        {
          accountEnabled: true,
          displayName: 'Adele Vance',
          mailNickname: 'AdeleV',
          userPrincipalName: upn,
          passwordProfile: { forceChangePasswordNextSignIn: true, password: 'xWwvJ]6NMw+bWH-d' },
        },
        auth,
      );
      assert.equal(r.status, 201);
      assert.match(String(r.body['@odata.context']), /\$metadata#users\/\$entity$/);
      assert.deepEqual(
        Object.keys(r.body).sort(),
        [
          '@odata.context',
          'businessPhones',
          'displayName',
          'givenName',
          'id',
          'jobTitle',
          'mail',
          'mobilePhone',
          'officeLocation',
          'preferredLanguage',
          'surname',
          'userPrincipalName',
        ].sort(),
        'no accountEnabled / employeeId unless $select asks',
      );
      // The same UPN again: 400 with ObjectConflict in details.
      const again = await raw(
        'POST',
        '/v1.0/users',
        {
          accountEnabled: true,
          displayName: 'Adele Vance',
          mailNickname: 'AdeleV',
          userPrincipalName: upn,
          passwordProfile: { forceChangePasswordNextSignIn: true, password: 'xWwvJ]6NMw+bWH-d' },
        },
        auth,
      );
      assert.equal(again.status, 400);
      const error = again.body.error as { code: string; details: { code: string; target: string }[] };
      assert.equal(error.code, 'Request_BadRequest');
      assert.deepEqual(
        error.details.map((d) => [d.code, d.target]),
        [['ObjectConflict', 'userPrincipalName']],
      );
    });

    it('refuses what Graph refuses: unknown property, string boolean, weak password, unverified domain, bad JSON', async () => {
      const auth = await bearer();
      const base = {
        accountEnabled: false,
        displayName: 'X Y',
        mailNickname: 'xy',
        userPrincipalName: `xy.${randomUUID().slice(0, 6)}@acme.example`,
        passwordProfile: { forceChangePasswordNextSignIn: true, password: strongPassword() },
      };
      const cases: [string, unknown][] = [
        ['unknown property', { ...base, favouriteColour: 'blue' }],
        ['string boolean', { ...base, accountEnabled: 'false' }],
        ['weak password', { ...base, passwordProfile: { password: 'password' } }],
        ['unverified domain', { ...base, userPrincipalName: 'xy@elsewhere.example' }],
        ['missing mailNickname', { ...base, mailNickname: undefined }],
        ['employeeId over 16', { ...base, employeeId: 'E'.repeat(17) }],
        ['read-only id', { ...base, id: randomUUID() }],
        ['malformed JSON', '{"accountEnabled": '],
      ];
      for (const [what, body] of cases) {
        const r = await raw('POST', '/v1.0/users', body, auth);
        assert.equal(r.status, 400, what);
        assert.ok((r.body.error as { code: string }).code, what);
      }
      assert.ok(!g.users().some((u) => u.userPrincipalName === base.userPrincipalName), 'nothing was created');
    });

    it('404 Request_ResourceNotFound for an unknown user; 400 for an unsupported filter and a bad $top', async () => {
      const auth = await bearer();
      const missing = await raw('GET', `/v1.0/users/${randomUUID()}`, undefined, auth);
      assert.equal(missing.status, 404);
      assert.equal((missing.body.error as { code: string }).code, 'Request_ResourceNotFound');
      const filter = await raw(
        'GET',
        `/v1.0/users?$filter=${encodeURIComponent('startsWith(jobTitle,"x")')}`,
        undefined,
        auth,
      );
      assert.equal(filter.status, 400);
      assert.equal((filter.body.error as { code: string }).code, 'Request_UnsupportedQuery');
      assert.equal((await raw('GET', '/v1.0/users?$top=1000', undefined, auth)).status, 400);
    });

    it('assignLicense to a user without usageLocation: 400', async () => {
      const auth = await bearer();
      const id = g.seedUser({ userPrincipalName: `nl.${randomUUID().slice(0, 6)}@acme.example`, usageLocation: null });
      const sku = g.skus().find((s) => s.skuPartNumber === 'ENTERPRISEPACK');
      const r = await raw(
        'POST',
        `/v1.0/users/${id}/assignLicense`,
        { addLicenses: [{ disabledPlans: [], skuId: sku?.skuId }], removeLicenses: [] },
        auth,
      );
      assert.equal(r.status, 400);
      assert.deepEqual(g.licences(id), []);
    });
  });

  describe('tokens', () => {
    it('asks for a client-credentials token once and reuses it', async () => {
      const c = connector();
      const before = g.tokensIssued();
      const mark = g.requests().length;
      await c.findByUserName(`nobody.${randomUUID().slice(0, 6)}@acme.example`);
      await c.findByUserName(`nobody.${randomUUID().slice(0, 6)}@acme.example`);
      assert.equal(g.tokensIssued() - before, 1);
      const tokenCall = since(mark).find((r) => r.path.endsWith('/oauth2/v2.0/token'));
      assert.equal(tokenCall?.path, `/${g.tenantId}/oauth2/v2.0/token`);
      assert.match(tokenCall?.contentType ?? '', /^application\/x-www-form-urlencoded/);
      const graphCalls = since(mark).filter((r) => r.path.startsWith('/v1.0/'));
      assert.ok(graphCalls.length >= 2 && graphCalls.every((r) => /^Bearer \S+$/.test(r.authorization ?? '')));
    });

    it('renews the token shortly before it expires', async () => {
      const short = await startGraphStandin({ tokenLifetimeS: 2 });
      try {
        const tokens = new GraphTokenSource({
          systemId: 'entra',
          authorityUrl: short.url,
          tenantId: short.tenantId,
          clientId: short.clientId,
          credential: { kind: 'secret', secret: short.clientSecret },
          scope: 'https://graph.microsoft.com/.default',
          timeoutMs: 2_000,
        });
        const first = await tokens.token();
        assert.equal(first.fresh, true);
        const cached = await tokens.token();
        assert.equal(cached.fresh, false);
        assert.equal(cached.value, first.value);
        await new Promise((r) => setTimeout(r, 1_100)); // past half the 2 s lifetime
        const renewed = await tokens.token();
        assert.equal(renewed.fresh, true);
        assert.notEqual(renewed.value, first.value);
        assert.equal(short.tokensIssued(), 2);
      } finally {
        await short.close();
      }
    });

    it("a wrong secret is unauthorized, with the OAuth code and never the secret or Microsoft's text", async () => {
      const secret = `wrong-${randomUUID()}`;
      const err = await rejection(
        connector({ credential: { kind: 'secret', secret } }).findByUserName('x@acme.example'),
      );
      assert.equal(err.type, 'unauthorized');
      assert.equal(err.details.vendorCode, 'invalid_client/AADSTS7000215');
      assert.ok(!err.message.includes(secret));
      assert.doesNotMatch(err.message, /Invalid client secret|Trace ID/);
      const tenant = await rejection(connector({ tenantId: 'other.example' }).findByUserName('x@acme.example'));
      assert.equal(tenant.type, 'invalid_request');
      assert.equal(tenant.details.vendorCode, 'invalid_request/AADSTS90002');
    });

    it('a cached token Graph rejects is dropped: the call is transient and the retry gets a new token', async () => {
      const c = connector();
      await c.findByUserName('warm@acme.example');
      g.revokeTokens();
      const err = await rejection(c.findByUserName('warm@acme.example'));
      assert.equal(err.type, 'transient');
      assert.equal(err.details.status, 401);
      assert.equal(err.details.vendorCode, 'InvalidAuthenticationToken');
      assert.equal(await c.findByUserName('warm@acme.example'), undefined, 'the retry works');
    });
  });

  describe('accounts', () => {
    it('creates with the documented required properties, disabled, with a strong one-time password never echoed', async () => {
      const c = connector();
      const spec = person();
      const mark = g.requests().length;
      const r = await c.ensureAccount(spec);
      assert.equal(r.outcome, 'created');
      assert.equal(r.account.active, false);
      assert.equal(r.account.hrId, spec.hrId);
      const post = since(mark).find((x) => x.method === 'POST' && x.path === '/v1.0/users');
      const body = post?.body as Record<string, unknown>;
      assert.equal(body.accountEnabled, false);
      assert.equal(body.displayName, `${spec.givenName} ${spec.familyName}`);
      assert.equal(body.mailNickname, spec.userName.split('@')[0]);
      assert.equal(body.userPrincipalName, spec.userName);
      assert.equal(body.employeeId, spec.hrId);
      assert.equal(body.usageLocation, 'PT');
      const profile = body.passwordProfile as { forceChangePasswordNextSignIn: boolean; password: string };
      assert.equal(profile.forceChangePasswordNextSignIn, true);
      assert.ok(profile.password.length >= 16);
      assert.ok(!JSON.stringify(r).includes(profile.password), 'the password is not in the result');
      // The lookups before it use the documented filter syntax, and reads ask for what Graph leaves out by default.
      const filters = since(mark)
        .filter((x) => x.method === 'GET' && x.path === '/v1.0/users')
        .map((x) => x.query.$filter);
      assert.deepEqual(filters.slice(0, 3), [
        `employeeId eq '${spec.hrId}'`,
        `userPrincipalName eq '${spec.userName}'`,
        `mail eq '${spec.userName}'`,
      ]);
      const read = since(mark).find((x) => x.method === 'GET' && x.path.startsWith('/v1.0/users/'));
      assert.match(read?.query.$select ?? '', /accountEnabled/);
      assert.match(read?.query.$select ?? '', /employeeId/);
      const stored = g.user(r.account.id);
      assert.equal(stored?.accountEnabled, false);
      assert.equal(stored?.jobTitle, 'Engineer');
    });

    it('an HR id with a quote is escaped as OData requires', async () => {
      const c = connector();
      const spec = person({ hrId: `O'B${randomUUID().slice(0, 6)}` });
      const r = await c.ensureAccount(spec);
      assert.equal((await c.findByHrKey(spec.hrId))?.id, r.account.id);
      assert.equal((await c.ensureAccount(spec)).outcome, 'adopted');
    });

    it('a login held by someone with another employeeId is a conflict, and no second account is made', async () => {
      const c = connector();
      const spec = person();
      g.seedUser({ userPrincipalName: spec.userName, employeeId: 'SOMEONE-ELSE' });
      const err = await rejection(c.ensureAccount(spec));
      assert.equal(err.type, 'conflict');
      assert.ok(!err.message.includes(spec.userName), 'the message does not quote the login');
      assert.equal(g.users().filter((u) => u.userPrincipalName === spec.userName).length, 1);
    });

    it("a taken UPN on create is Graph's 400 ObjectConflict, classified conflict", async () => {
      const upn = `taken.${randomUUID().slice(0, 6)}@acme.example`;
      g.seedUser({ userPrincipalName: upn });
      const tokens = new GraphTokenSource({
        systemId: 'entra',
        authorityUrl: g.url,
        tenantId: g.tenantId,
        clientId: g.clientId,
        credential: { kind: 'secret', secret: g.clientSecret },
        scope: 'https://graph.microsoft.com/.default',
        timeoutMs: 2_000,
      });
      const err = await rejection(
        graphRequest(
          { systemId: 'entra', graphUrl: g.url, timeoutMs: 2_000, tokens },
          {
            method: 'POST',
            path: '/v1.0/users',
            body: {
              accountEnabled: false,
              displayName: 'T',
              mailNickname: 'taken',
              userPrincipalName: upn,
              passwordProfile: { password: strongPassword() },
            },
          },
        ),
      );
      assert.equal(err.type, 'conflict');
      assert.equal(err.details.status, 400);
      assert.equal(err.message, 'entra: POST /v1.0/users -> 400 (Request_BadRequest/ObjectConflict)');
    });

    it('directory replication: a retry that cannot see its own new user yet adopts it through the UPN, never a second', async () => {
      const lagging = await startGraphStandin({ replicationLagMs: 60_000 });
      try {
        const c = new GraphConnector({
          systemId: 'entra',
          tenantId: lagging.tenantId,
          clientId: lagging.clientId,
          credential: { kind: 'secret', secret: lagging.clientSecret },
          authorityUrl: lagging.url,
          graphUrl: lagging.url,
          timeoutMs: 2_000,
        });
        const spec = person();
        const first = await c.ensureAccount(spec);
        assert.equal(first.outcome, 'created');
        assert.equal(await c.findByHrKey(spec.hrId), undefined, 'queries do not see it yet');
        const mark = lagging.requests().length;
        const retry = await c.ensureAccount(spec);
        assert.equal(retry.outcome, 'adopted');
        assert.equal(retry.account.id, first.account.id);
        assert.equal(lagging.users().length, 1);
        const after = lagging.requests().slice(mark);
        assert.ok(
          after.some((x) => x.method === 'POST' && x.status === 400),
          'the create met ObjectConflict',
        );
        assert.ok(
          after.some((x) => x.method === 'GET' && x.path === `/v1.0/users/${encodeURIComponent(spec.userName)}`),
        );
      } finally {
        await lagging.close();
      }
    });

    it('a mover: title, department and manager (manager/$ref) are updated and read back', async () => {
      const c = connector();
      const manager = await c.ensureAccount(person({ active: true }));
      const spec = person();
      const created = await c.ensureAccount(spec);
      const mark = g.requests().length;
      const moved = await c.ensureAccount({
        ...spec,
        title: 'Staff Engineer',
        department: 'Platform',
        managerId: manager.account.id,
      });
      assert.equal(moved.outcome, 'updated');
      assert.equal(moved.account.title, 'Staff Engineer');
      assert.equal(moved.account.managerId, manager.account.id);
      const put = since(mark).find((x) => x.method === 'PUT');
      assert.equal(put?.path, `/v1.0/users/${created.account.id}/manager/$ref`);
      assert.deepEqual(put?.body, { '@odata.id': `${g.url}/v1.0/users/${manager.account.id}` });
      const stored = g.user(created.account.id);
      assert.deepEqual(
        [stored?.jobTitle, stored?.department, stored?.managerId],
        ['Staff Engineer', 'Platform', manager.account.id],
      );
      // The manager is part of the account as lookups report it, so the escalation directory can follow it.
      assert.equal((await c.findByHrKey(spec.hrId))?.managerId, manager.account.id);
      assert.equal(await identityProviderDirectory(c).managerOf(spec.hrId), manager.account.hrId);
      // Nothing to change: adopted, no write.
      const mark2 = g.requests().length;
      const again = await c.ensureAccount({
        ...spec,
        title: 'Staff Engineer',
        department: 'Platform',
        managerId: manager.account.id,
      });
      assert.equal(again.outcome, 'adopted');
      assert.ok(since(mark2).every((x) => x.method === 'GET'));
    });

    it('setActive patches accountEnabled and reads it back; an unknown id is not_found', async () => {
      const c = connector();
      const { account } = await c.ensureAccount(person());
      const mark = g.requests().length;
      assert.equal((await c.setActive(account.id, true)).active, true);
      const patch = since(mark).find((x) => x.method === 'PATCH');
      assert.deepEqual(patch?.body, { accountEnabled: true });
      assert.equal(g.user(account.id)?.accountEnabled, true);
      const err = await rejection(c.setActive(randomUUID(), false));
      assert.equal(err.type, 'not_found');
      assert.equal(err.details.vendorCode, 'Request_ResourceNotFound');
    });

    it('a PATCH or DELETE answered 204 but not applied is never reported as done', async () => {
      const c = connector();
      const { account } = await c.ensureAccount(person());
      g.faults.dropWrites(1, { method: 'PATCH', path: `/v1.0/users/${account.id}` });
      const off = await rejection(c.setActive(account.id, true));
      assert.equal(off.type, 'transient', 'the read-back shows it still disabled');
      assert.equal(g.user(account.id)?.accountEnabled, false);
      assert.equal((await c.setActive(account.id, true)).active, true, 'the retry does it');
      g.faults.dropWrites(1, { method: 'DELETE', path: `/v1.0/users/${account.id}` });
      const gone = await rejection(c.delete(account.id));
      assert.equal(gone.type, 'transient', 'the read-back still finds the user');
      await c.delete(account.id);
      assert.equal(g.user(account.id), undefined);
    });

    it('delete soft-deletes: the user is in deleted items, reads 404, and a second delete succeeds', async () => {
      const c = connector();
      const { account } = await c.ensureAccount(person());
      await c.delete(account.id);
      assert.equal(g.user(account.id), undefined);
      assert.ok(g.deletedUsers().some((u) => u.id === account.id));
      assert.equal(await c.findById(account.id), undefined);
      await c.delete(account.id);
    });

    it('lists every user following @odata.nextLink with $top', async () => {
      const c = connector({ pageSize: 3 });
      for (let i = 0; i < 4; i++) g.seedUser({ userPrincipalName: `list.${randomUUID().slice(0, 8)}@acme.example` });
      const mark = g.requests().length;
      const ids: string[] = [];
      for await (const a of c.listAccounts()) ids.push(a.id);
      assert.deepEqual(
        ids.sort(),
        g
          .users()
          .map((u) => u.id)
          .sort(),
      );
      const pages = since(mark).filter((x) => x.path === '/v1.0/users');
      assert.equal(pages.length, Math.ceil(g.users().length / 3));
      assert.ok(pages.every((p) => p.query.$top === '3'));
      assert.ok(
        pages.slice(1).every((p) => p.query.$skiptoken),
        'later pages come from the next link',
      );
    });

    it('a next link pointing away from Graph is refused before anything is sent', async () => {
      const tokens = new GraphTokenSource({
        systemId: 'entra',
        authorityUrl: g.url,
        tenantId: g.tenantId,
        clientId: g.clientId,
        credential: { kind: 'secret', secret: g.clientSecret },
        scope: 'https://graph.microsoft.com/.default',
        timeoutMs: 2_000,
      });
      const err = await rejection(
        graphRequest(
          { systemId: 'entra', graphUrl: g.url, timeoutMs: 2_000, tokens },
          { method: 'GET', path: 'http://127.0.0.2:9/v1.0/users?$skiptoken=x' },
        ),
      );
      assert.equal(err.type, 'invalid_request');
    });
  });

  describe('groups, licences, sessions', () => {
    it('group membership by display name or id via members/$ref, idempotent', async () => {
      const c = connector();
      const name = `grp-${randomUUID().slice(0, 6)}`;
      const groupId = g.createGroup(name);
      const { account } = await c.ensureAccount(person());
      const mark = g.requests().length;
      assert.deepEqual(await c.addToGroup(name, account.id), { groupId, outcome: 'changed' });
      const post = since(mark).find((x) => x.method === 'POST');
      assert.equal(post?.path, `/v1.0/groups/${groupId}/members/$ref`);
      assert.deepEqual(post?.body, { '@odata.id': `${g.url}/v1.0/directoryObjects/${account.id}` });
      assert.deepEqual(await c.addToGroup(groupId, account.id), { groupId, outcome: 'unchanged' });
      assert.deepEqual(g.groupMembers(groupId), [account.id]);
      const mark2 = g.requests().length;
      assert.deepEqual(await c.removeFromGroup(name, account.id), { groupId, outcome: 'changed' });
      assert.equal(
        since(mark2).find((x) => x.method === 'DELETE')?.path,
        `/v1.0/groups/${groupId}/members/${account.id}/$ref`,
      );
      assert.deepEqual(await c.removeFromGroup(name, account.id), { groupId, outcome: 'unchanged' });
      assert.deepEqual(g.groupMembers(groupId), []);
      const missing = await rejection(c.addToGroup('no-such-group', account.id));
      assert.equal(missing.type, 'not_found');
    });

    it('licences by skuPartNumber: subscribedSkus → assignLicense (documented body) → licenseDetails', async () => {
      const c = connector();
      const { account } = await c.ensureAccount(person());
      const sku = g.skus().find((s) => s.skuPartNumber === 'ENTERPRISEPACK');
      const mark = g.requests().length;
      assert.deepEqual(await c.assignLicence(account.id, 'ENTERPRISEPACK'), {
        sku: 'ENTERPRISEPACK',
        outcome: 'changed',
      });
      const assign = since(mark).find((x) => x.path.endsWith('/assignLicense'));
      assert.deepEqual(assign?.body, { addLicenses: [{ disabledPlans: [], skuId: sku?.skuId }], removeLicenses: [] });
      assert.deepEqual(await c.listLicences(account.id), ['ENTERPRISEPACK']);
      assert.deepEqual(g.licences(account.id), ['ENTERPRISEPACK']);
      assert.equal((await c.assignLicence(account.id, 'ENTERPRISEPACK')).outcome, 'unchanged');
      const mark2 = g.requests().length;
      assert.equal((await c.removeLicence(account.id, 'ENTERPRISEPACK')).outcome, 'changed');
      assert.deepEqual(since(mark2).find((x) => x.path.endsWith('/assignLicense'))?.body, {
        addLicenses: [],
        removeLicenses: [sku?.skuId],
      });
      assert.deepEqual(g.licences(account.id), []);
      assert.equal((await c.removeLicence(account.id, 'ENTERPRISEPACK')).outcome, 'unchanged');
      const unknown = await rejection(c.assignLicence(account.id, 'NO_SUCH_SKU'));
      assert.equal(unknown.type, 'invalid_request');
    });

    it('a licence needs usageLocation: from the HR country, else usageLocationDefault, else a visible exception', async () => {
      const noCountry = person({ countryCode: undefined });
      const plain = connector();
      const { account } = await plain.ensureAccount(noCountry);
      assert.equal(g.user(account.id)?.usageLocation, null);
      const err = await rejection(plain.assignLicence(account.id, 'EMS'));
      assert.equal(err.type, 'invalid_request');
      assert.deepEqual(g.licences(account.id), []);
      const withDefault = connector({ usageLocationDefault: 'US' });
      assert.equal((await withDefault.assignLicence(account.id, 'EMS')).outcome, 'changed');
      assert.equal(g.user(account.id)?.usageLocation, 'US');
      assert.deepEqual(g.licences(account.id), ['EMS']);
    });

    it('revokeSignInSessions ends open sessions and reads signInSessionsValidFromDateTime back', async () => {
      const c = connector();
      const { account } = await c.ensureAccount(person({ active: true }));
      g.openSession(account.id);
      assert.equal(g.activeSessions(account.id), 1);
      const r = await c.revokeSessions(account.id);
      assert.equal(r.outcome, 'revoked');
      assert.equal(g.activeSessions(account.id), 0);
      assert.equal(r.readBack?.signInSessionsValidFromDateTime, g.user(account.id)?.signInSessionsValidFromDateTime);
      assert.equal((await c.revokeSessions(account.id)).outcome, 'revoked', 'idempotent');
    });

    it('a revocation whose read-back does not move is not reported as done', async () => {
      const c = connector();
      const { account } = await c.ensureAccount(person({ active: true }));
      g.user(account.id)!.signInSessionsValidFromDateTime = '2020-01-01T00:00:00Z';
      g.faults.staleRevocations(true);
      try {
        const err = await rejection(c.revokeSessions(account.id));
        assert.equal(err.type, 'transient');
      } finally {
        g.faults.staleRevocations(false);
      }
    });
  });

  describe('error classification', () => {
    it('429 and 503 with Retry-After are rate_limited; 503 without, 500 and 504 are transient', async () => {
      const c = connector();
      const cases: [number, number | undefined, string, number | undefined][] = [
        [429, 7, 'rate_limited', 7_000],
        [503, 3, 'rate_limited', 3_000],
        [503, undefined, 'transient', undefined],
        [500, undefined, 'transient', undefined],
        [504, undefined, 'transient', undefined],
      ];
      for (const [status, retryAfter, type, ms] of cases) {
        g.faults.next(1, { path: '/v1.0/users', status, ...(retryAfter !== undefined ? { retryAfter } : {}) });
        const err = await rejection(c.findByUserName('someone@acme.example'));
        assert.equal(err.type, type, `${status}`);
        assert.equal(err.details.retryAfterMs, ms, `${status}`);
        assert.ok(err.details.vendorCode, 'Graph error code kept');
      }
    });

    it("a 400 is invalid_request with the code, never Graph's message text or the request body", async () => {
      const c = connector();
      const spec = person({ hrId: 'H'.repeat(17) }); // employeeId is at most 16 characters
      const err = await rejection(c.ensureAccount(spec));
      assert.equal(err.type, 'invalid_request');
      assert.equal(err.details.vendorCode, 'Request_BadRequest');
      assert.doesNotMatch(err.message, /Invalid value|employeeId|password/);
      assert.ok(!err.message.includes(spec.userName));
    });

    it('a timeout after the write: the retry adopts, one account', async () => {
      const c = connector({ timeoutMs: 300 });
      const spec = person();
      g.faults.delayResponse(1, 900, { method: 'POST', path: /^\/v1\.0\/users$/ });
      const err = await rejection(c.ensureAccount(spec));
      assert.equal(err.type, 'transient');
      await new Promise((r) => setTimeout(r, 700));
      const r = await c.ensureAccount(spec);
      assert.notEqual(r.outcome, 'created');
      assert.equal(g.users().filter((u) => u.employeeId === spec.hrId).length, 1);
    });
  });

  describe('configuration', () => {
    it("the policy holds URLs and the secret variable name; defaults are Microsoft's", () => {
      const config = graphConnectorSchema.parse({
        type: 'graph',
        tenantId: 'acme.onmicrosoft.com',
        clientId: randomUUID(),
        clientSecretEnv: 'ENTRA_CLIENT_SECRET',
      });
      assert.equal(config.authorityUrl, 'https://login.microsoftonline.com');
      assert.equal(config.graphUrl, 'https://graph.microsoft.com');
      assert.equal(config.scope, 'https://graph.microsoft.com/.default');
      assert.deepEqual(graphSecretVariables(config), ['ENTRA_CLIENT_SECRET']);
      assert.throws(() => graphConnectorSchema.parse({ ...config, clientSecretEnv: 's3cr3t-value' }));
      assert.throws(() => graphConnectorSchema.parse({ ...config, clientSecret: 'x' }), 'no secret in the policy');
      assert.throws(() => createGraphConnector('entra', config, {}), /ENTRA_CLIENT_SECRET is not set/);
      assert.ok(createGraphConnector('entra', config, { ENTRA_CLIENT_SECRET: 'x' }) instanceof GraphConnector);
    });

    it('mailNickname and passwords are what Entra accepts', () => {
      assert.equal(mailNickname('ana.lima@acme.example'), 'ana.lima');
      assert.equal(mailNickname('a(b)c d@acme.example'), 'abcd');
      for (let i = 0; i < 50; i++) {
        const p = strongPassword();
        assert.equal(p.length, 24);
        assert.ok(/[A-Z]/.test(p) && /[a-z]/.test(p) && /[0-9]/.test(p) && /[^A-Za-z0-9]/.test(p));
      }
    });
  });

  describe('certificate credentials', () => {
    let dir = '';
    let cert = '';
    let key = '';
    let otherCert = '';
    let otherKey = '';

    /** A self-signed RSA certificate and its key, made with openssl for the occasion. */
    async function makeCertificate(name: string): Promise<{ cert: string; key: string }> {
      await promisify(execFile)('openssl', [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, `${name}.key`),
        '-out',
        join(dir, `${name}.crt`),
        '-days',
        '2',
        '-subj',
        `/CN=tenure-${name}`,
      ]);
      return {
        cert: await readFile(join(dir, `${name}.crt`), 'utf8'),
        key: await readFile(join(dir, `${name}.key`), 'utf8'),
      };
    }

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'graph-cert-'));
      ({ cert, key } = await makeCertificate('app'));
      ({ cert: otherCert, key: otherKey } = await makeCertificate('other'));
    });
    after(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it("the thumbprint header is the thumbprint's bytes in base64url (Microsoft's documented example)", () => {
      assert.equal(thumbprintHeader('84E05C1D98BCE3A5421D225B140B36E86A3D5534'), 'hOBcHZi846VCHSJbFAs26Go9VTQ');
    });

    it('a client assertion signed with the registered certificate gets a token; its header and claims are as documented', async () => {
      const s = await startGraphStandin({ certificatePem: cert });
      try {
        const config = graphConnectorSchema.parse({
          type: 'graph',
          tenantId: s.tenantId,
          clientId: s.clientId,
          certificate: { certificateEnv: 'ENTRA_CERT', privateKeyEnv: 'ENTRA_KEY' },
          authorityUrl: s.url,
          graphUrl: s.url,
        });
        assert.deepEqual(graphSecretVariables(config), ['ENTRA_CERT', 'ENTRA_KEY']);
        const c = createGraphConnector('entra', config, { ENTRA_CERT: cert, ENTRA_KEY: key });
        const { account } = await c.ensureAccount(person());
        assert.ok(s.user(account.id), 'Graph took the token');
        const [assertion] = s.assertions();
        assert.equal(assertion?.accepted, true);
        assert.deepEqual(assertion?.header, {
          alg: 'PS256',
          typ: 'JWT',
          'x5t#S256': createHash('sha256').update(new X509Certificate(cert).raw).digest('base64url'),
        });
        const claims = assertion?.claims ?? {};
        assert.equal(claims.aud, `${s.url}/${s.tenantId}/oauth2/v2.0/token`);
        assert.equal(claims.iss, s.clientId);
        assert.equal(claims.sub, s.clientId);
        assert.equal(typeof claims.jti, 'string');
        assert.equal(Number(claims.exp) - Number(claims.nbf), 600);
      } finally {
        await s.close();
      }
    });

    it('a certificate the app registration does not have is unauthorized (AADSTS700027)', async () => {
      const s = await startGraphStandin({ certificatePem: cert });
      try {
        const c = new GraphConnector({
          systemId: 'entra',
          tenantId: s.tenantId,
          clientId: s.clientId,
          credential: { kind: 'certificate', certificatePem: otherCert, privateKeyPem: otherKey },
          authorityUrl: s.url,
          graphUrl: s.url,
        });
        const err = await rejection(c.findByUserName('x@acme.example'));
        assert.equal(err.type, 'unauthorized');
        assert.equal(err.details.vendorCode, 'invalid_client/AADSTS700027');
        assert.equal(s.assertions()[0]?.accepted, false);
      } finally {
        await s.close();
      }
    });

    it("a key that is not the certificate's fails when the connector is built, naming no content", () => {
      const config = graphConnectorSchema.parse({
        type: 'graph',
        tenantId: 'acme.onmicrosoft.com',
        clientId: randomUUID(),
        certificate: { certificateEnv: 'ENTRA_CERT', privateKeyEnv: 'ENTRA_KEY' },
      });
      assert.throws(
        () => createGraphConnector('entra', config, { ENTRA_CERT: cert, ENTRA_KEY: otherKey }),
        (err: Error) => /not the RSA key of the certificate/.test(err.message) && !err.message.includes('BEGIN'),
      );
      assert.throws(() => createGraphConnector('entra', config, { ENTRA_CERT: cert }), /ENTRA_KEY is not set/);
      assert.throws(
        () =>
          graphConnectorSchema.parse({
            ...config,
            clientSecretEnv: 'ENTRA_SECRET',
          }),
        /exactly one credential/,
      );
      const { certificate: _none, ...neither } = config;
      assert.throws(() => graphConnectorSchema.parse(neither), /exactly one credential/);
    });
  });
});
