/**
 * Issue 16, item 5: no personal data in evidence or logs, even in errors. Every connector error kind is provoked
 * against a real local server whose error text names the person (SCIM `detail`, Okta `errorSummary`, Graph
 * `error.message`, BambooHR's `X-BambooHR-Error-Message`, Slack's error); the errors, the Temporal failures made
 * of them, and — end to end, for a SCIM 409 userName conflict — the worker's log and the audit store are scanned.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import type { EvidenceRecord } from '../../src/activities/audit';
import { toActivityFailure } from '../../src/activities/errors';
import { bambooRequest } from '../../src/activities/hris/bamboohr/transport';
import { hibobRequest } from '../../src/activities/hris/hibob/transport';
import { workdayGet } from '../../src/activities/hris/workday/transport';
import type { GoogleTokenSource } from '../../src/activities/google/token';
import { googleRequest } from '../../src/activities/google/transport';
import type { GraphTokenSource } from '../../src/activities/graph/token';
import { graphRequest } from '../../src/activities/graph/transport';
import { oktaRequest } from '../../src/activities/okta/transport';
import { ConnectorError } from '../../src/activities/identity';
import { requestText } from '../../src/activities/http';
import { ScimConnector } from '../../src/activities/scim/client';
import { scimRequest } from '../../src/activities/scim/transport';
import { createSlackClient, slackCall } from '../../src/activities/slack/notifier';
import { daysAgo, makeRecord } from '../helpers/records';
import { sdkLogLines } from '../helpers/root-hooks';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';

const nonce = Date.now().toString(36);
const PERSON = {
  first: `Zebulon${nonce}`,
  last: `Quixote${nonce}`,
  email: `zebulon.quixote.${nonce}@acme.example`,
};
const personal = [PERSON.first, PERSON.last, PERSON.email, PERSON.email.split('@')[0] as string];

function assertNoPersonalData(text: string, what: string): void {
  for (const v of personal) assert.ok(!text.includes(v), `${what} contains "${v}": ${text.slice(0, 400)}`);
}

async function rejection(p: Promise<unknown>): Promise<ConnectorError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ConnectorError, String(err));
    return err;
  }
  throw new Error('expected a rejection');
}

/** The error, and what Temporal would store and log of it. */
function assertClean(err: ConnectorError, what: string): void {
  const failure = toActivityFailure(err);
  assert.ok(failure instanceof ApplicationFailure);
  assertNoPersonalData(
    [
      err.message,
      JSON.stringify(err.details),
      failure.message,
      failure.stack ?? '',
      JSON.stringify(failure.details),
    ].join('\n'),
    what,
  );
}

describe('hardening: connector errors are redacted before they are logged or recorded', function () {
  this.timeout(120_000);

  describe('every error kind of every transport', () => {
    let server: Server;
    let base: string;
    /** Answers `status` with a body (and header) that name the person. */
    before(async () => {
      server = createServer((req, res) => {
        const status = Number(/\/status\/(\d+)/.exec(req.url ?? '')?.[1] ?? 500);
        const text = `userName ${PERSON.email} (${PERSON.first} ${PERSON.last}) already exists`;
        res.statusCode = status;
        res.setHeader('content-type', 'application/json');
        res.setHeader('x-bamboohr-error-message', `Employee ${PERSON.email} ${PERSON.last}`);
        if (status === 302) res.setHeader('location', `https://elsewhere.example/${PERSON.email}`);
        if (status === 429) res.setHeader('retry-after', '1');
        res.end(
          JSON.stringify({
            schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
            status: String(status),
            scimType: status === 409 ? 'uniqueness' : 'invalidValue',
            detail: text,
            errorCode: 'E0000001',
            errorSummary: text,
            error: { code: 'Request_BadRequest', message: text },
            ok: false,
          }),
        );
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });

    const statuses = [302, 400, 401, 403, 404, 409, 429, 500, 501, 503];

    it('SCIM: every status, with the vendor detail naming the person', async () => {
      for (const status of statuses) {
        const err = await rejection(
          scimRequest(
            { systemId: 'idp', baseUrl: `${base}/status/${status}` },
            { method: 'POST', path: '/Users', body: {} },
          ),
        );
        assertClean(err, `SCIM ${status}`);
        assert.equal(err.details.status, status);
      }
      const conflict = await rejection(
        scimRequest({ systemId: 'idp', baseUrl: `${base}/status/409` }, { method: 'POST', path: '/Users', body: {} }),
      );
      assert.equal(conflict.type, 'conflict');
      assert.equal(conflict.details.scimType, 'uniqueness');
    });

    it('SCIM connector: a userName conflict that cannot be adopted, and a clash, never name the userName', async () => {
      // POST conflicts (409) and the lookups find nothing: the error names neither the userName nor the detail.
      const scim = new ScimConnector({ systemId: 'idp', baseUrl: `${base}/status/409` });
      const err = await rejection(
        scim.ensureAccount({
          hrId: 'H1',
          userName: PERSON.email,
          email: PERSON.email,
          givenName: PERSON.first,
          familyName: PERSON.last,
          active: true,
        }),
      );
      assertClean(err, 'SCIM ensureAccount conflict');
    });

    it('sessions APIs (Okta, Graph): every status, with the error summary naming the person', async () => {
      for (const api of ['okta', 'entra'] as const) {
        for (const status of statuses) {
          const scim = new ScimConnector({
            systemId: 'idp',
            baseUrl: `${base}/scim`,
            sessions: { api, baseUrl: `${base}/status/${status}` },
          });
          const err = await rejection(scim.revokeSessions('00u1'));
          assertClean(err, `${api} ${status}`);
        }
      }
    });

    it('BambooHR: every status, with X-BambooHR-Error-Message naming the person', async () => {
      for (const status of statuses) {
        const err = await rejection(
          bambooRequest({ baseUrl: `${base}/status/${status}`, apiKey: 'k' }, { method: 'GET', path: '/employees/1/' }),
        );
        assertClean(err, `BambooHR ${status}`);
      }
    });

    it('native connectors and HR sources (Graph, Google, Okta, HiBob, Workday): every status, vendor text naming the person', async () => {
      const graphTokens = { token: () => Promise.resolve({ value: 't', fresh: true }), invalidate: () => undefined };
      const googleTokens = { hasCachedToken: false, token: () => Promise.resolve('t'), invalidate: () => undefined };
      const oktaAuth = {
        authorization: () => Promise.resolve({ header: 'SSWS t', fresh: true }),
        invalidate: () => {},
      };
      for (const status of statuses) {
        const at = `${base}/status/${status}`;
        const errors: [string, ConnectorError][] = [
          [
            'Graph',
            await rejection(
              graphRequest(
                {
                  systemId: 'entra',
                  graphUrl: at,
                  timeoutMs: 2000,
                  tokens: graphTokens as unknown as GraphTokenSource,
                },
                { method: 'GET', path: '/v1.0/users', query: { $filter: `mail eq '${PERSON.email}'` } },
              ),
            ),
          ],
          [
            'Google',
            await rejection(
              googleRequest(
                {
                  systemId: 'google',
                  baseUrl: at,
                  timeoutMs: 2000,
                  tokens: googleTokens as unknown as GoogleTokenSource,
                },
                {
                  method: 'GET',
                  path: `/admin/directory/v1/users/${encodeURIComponent(PERSON.email)}`,
                  label: '/users/{userKey}',
                },
              ),
            ),
          ],
          [
            'Okta',
            await rejection(
              oktaRequest(
                { systemId: 'okta', orgUrl: at, timeoutMs: 2000, auth: oktaAuth },
                { method: 'GET', path: '/api/v1/users', route: '/api/v1/users', query: { search: PERSON.email } },
              ),
            ),
          ],
          [
            'HiBob',
            await rejection(
              hibobRequest(
                { baseUrl: at, serviceUserId: 'SERVICE-1', token: 'secret-token', timeoutMs: 2000 },
                { method: 'POST', path: '/people/search', body: { filters: [PERSON.email] } },
              ),
            ),
          ],
          [
            'Workday',
            await rejection(
              workdayGet({ username: 'ISU_Tenure', password: 'secret-password', timeoutMs: 2000 }, `${at}/report`, {
                Employee: PERSON.email,
              }),
            ),
          ],
        ];
        for (const [what, err] of errors) {
          assertClean(err, `${what} ${status}`);
          assert.ok(!/secret-(token|password)/.test(`${err.message} ${JSON.stringify(err.details)}`), what);
        }
      }
    });

    it('Slack: platform errors, HTTP errors and request failures', async () => {
      for (const status of [200, 400, 500]) {
        const slack = createSlackClient({ token: 'xoxb-test', apiUrl: `${base}/status/${status}/` });
        const err = await rejection(slackCall('slack', () => slack.users.lookupByEmail({ email: PERSON.email })));
        assertClean(err, `Slack ${status}`);
      }
    });

    it('network failures: refused, timed out, bad URL', async () => {
      const closed = `http://127.0.0.1:9/${PERSON.email}`;
      for (const url of [closed, `not a url ${PERSON.email}`]) {
        const err = await rejection(
          requestText('idp', 'idp: GET /Users', {
            method: 'GET',
            url,
            params: { filter: PERSON.email },
            headers: {},
            timeoutMs: 2000,
          }),
        );
        assertClean(err, `network ${url}`);
      }
      const slow = createServer(() => undefined);
      await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
      try {
        const err = await rejection(
          requestText('idp', 'idp: GET /Users', {
            method: 'GET',
            url: `http://127.0.0.1:${(slow.address() as AddressInfo).port}/${PERSON.email}`,
            headers: {},
            timeoutMs: 200,
          }),
        );
        assertClean(err, 'timeout');
      } finally {
        slow.closeAllConnections();
        slow.close();
      }
    });

    it('any other error text that carries an e-mail address is masked', () => {
      const failure = toActivityFailure(new Error(`no account for ${PERSON.email}`));
      assert.equal(failure.message, 'no account for [email]');
      assertNoPersonalData(failure.stack ?? '', 'stack');
    });
  });

  describe('end to end: a SCIM 409 userName conflict carrying the e-mail', () => {
    let t: TenureHarness;
    before(async () => {
      t = await startTenure();
    });
    after(async () => {
      await t?.stop();
    });

    it('leaves no trace of the person in the worker log, the intake log or the evidence', async () => {
      const record = makeRecord({
        legalFirstName: PERSON.first,
        legalLastName: PERSON.last,
        workEmail: PERSON.email,
        personalEmail: `home.${nonce}@personal.example`,
        status: 'active',
        hireDate: daysAgo(2),
      });
      const logsBefore = sdkLogLines.length;
      t.idp.faults.next(5, {
        method: 'POST',
        path: '/Users',
        status: 409,
        body: {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
          status: '409',
          scimType: 'uniqueness',
          detail: `userName ${PERSON.email} is already taken by ${PERSON.first} ${PERSON.last}`,
        },
      });
      const answer = await t.tenure.sendEvent({ eventId: `redact-${nonce}`, kind: 'hire', record });
      assert.equal(answer.status, 202, JSON.stringify(answer));

      // The step fails for good (a conflict that cannot be adopted) and is recorded as failed.
      const deadline = Date.now() + 60_000;
      let failed: EvidenceRecord | undefined;
      while (!failed && Date.now() < deadline) {
        for await (const r of t.audit.stream({ hrId: record.hrId })) if (r.outcome === 'failed') failed = r;
        if (!failed) await new Promise((r) => setTimeout(r, 300));
      }
      assert.ok(failed, 'the failed step is in the evidence');
      assert.match(String(failed.detail?.error), /conflicted \(uniqueness\)/);

      const evidence: string[] = [];
      for await (const r of t.audit.stream()) evidence.push(JSON.stringify(r));
      assertNoPersonalData(evidence.join('\n'), 'the audit store');
      const workerLog = sdkLogLines.slice(logsBefore).map((l) => {
        try {
          return `${l.message} ${JSON.stringify(l.meta ?? {})}`;
        } catch {
          return l.message;
        }
      });
      assert.ok(workerLog.length > 0);
      assertNoPersonalData(workerLog.join('\n'), 'the worker log');
      assertNoPersonalData(JSON.stringify(t.logLines), 'the intake log');
    });
  });
});
