import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import type { NativeConnection } from '@temporalio/worker';
import express from 'express';
import pino from 'pino';
import { createActivities } from '../../src/activities';
import type { AuditStore, EvidenceRecord } from '../../src/activities/audit/types';
import { buildConnectors } from '../../src/activities/connectors';
import { createCodecRouter, FAILURES_HEADER, generateCodecToken } from '../../src/client/codec-server';
import { deliverHrEvent } from '../../src/client/deliver';
import type { AesGcmCodec } from '../../src/codec';
import { dataConverter, ENCRYPTED_ENCODING, generateKey, KEY_ID_METADATA_KEY, loadKeyRing } from '../../src/codec';
import { parsePolicy } from '../../src/config/policy-file';
import type { ScimPeer } from '../../src/dev/scim-peer';
import { startScimPeer } from '../../src/dev/scim-peer';
import type { EmployeeRecord } from '../../src/domain/employee';
import { employeeWorkflowId, eventWorkflowId } from '../../src/domain/ids';
import type { OnboardingStatus } from '../../src/workflows/onboarding/messages';
import type { onboardingWorkflow } from '../../src/workflows/onboarding/onboarding';
import { daysAgo, instantFromNow, makeRecord } from '../helpers/records';
import { connectNative, devServer, uniqueTaskQueue, workflowBundle } from '../helpers/temporal';
import { resultWhenStarted } from '../helpers/wait';

type History = temporal.api.history.v1.IHistory;
type Stop = () => Promise<unknown>;

const text = (b: Uint8Array | null | undefined): string => new TextDecoder().decode(b ?? new Uint8Array(0));

/** An in-memory audit store: this test is about payloads, not evidence. */
function memoryAudit(): AuditStore {
  const records: EvidenceRecord[] = [];
  return {
    append(input) {
      const seen = records.find((r) => r.key === input.key);
      if (seen) return Promise.resolve(seen);
      const rec: EvidenceRecord = {
        ...input,
        seq: records.length + 1,
        prevHash: '0'.repeat(64),
        hash: '',
        recordedAt: new Date().toISOString(),
      };
      records.push(rec);
      return Promise.resolve(rec);
    },
    async *stream() {
      await Promise.resolve();
      yield* records;
    },
    count: () => Promise.resolve(records.length),
    verify: () => Promise.resolve({ ok: true, checked: records.length }),
    close: () => Promise.resolve(),
  };
}

/** Every event of a workflow's history, read straight from the frontend: payloads exactly as stored. */
async function rawHistory(connection: Connection, workflowId: string): Promise<History> {
  const events: temporal.api.history.v1.IHistoryEvent[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await connection.workflowService.getWorkflowExecutionHistory({
      namespace: 'default',
      execution: { workflowId },
      nextPageToken,
    });
    events.push(...(page.history?.events ?? []));
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return { events };
}

/** Every payload in a history, with where it is; search attributes are reported separately (never encrypted). */
function collectPayloads(node: unknown, path = '', out: { path: string; payload: Payload }[] = []) {
  if (node === null || typeof node !== 'object' || node instanceof Uint8Array) return out;
  if (Array.isArray(node)) {
    node.forEach((n, i) => collectPayloads(n, `${path}[${i}]`, out));
    return out;
  }
  const obj = node as Record<string, unknown>;
  if ('data' in obj && 'metadata' in obj && (obj.data instanceof Uint8Array || obj.data == null)) {
    out.push({ path, payload: obj });
    return out;
  }
  for (const [k, v] of Object.entries(obj)) collectPayloads(v, path ? `${path}.${k}` : k, out);
  return out;
}

function personalValues(r: EmployeeRecord): string[] {
  return [r.legalFirstName, r.legalLastName, r.preferredFirstName, r.personalEmail, r.workEmail, r.title].filter(
    (v): v is string => typeof v === 'string',
  );
}

describe('payload encryption on a real Temporal server', function () {
  this.timeout(120_000);
  const tz = 'Asia/Tokyo';
  const when = instantFromNow(8, tz);
  const nonce = Date.now().toString(36);
  const stops: Stop[] = [];
  let idp: ScimPeer;
  let app: ScimPeer;
  let codecClient: Client;
  let plainClient: Client;
  let connection: Connection;
  let codec: AesGcmCodec;
  let record: EmployeeRecord;
  let exitRecord: EmployeeRecord;
  let childId: string;
  let histories: Map<string, History>;

  before(async () => {
    const keyRing = loadKeyRing({ TENURE_CODEC_KEYS: `k1:${generateKey()}` });
    const converter = dataConverter(keyRing);
    codec = converter.payloadCodecs[0];

    idp = await startScimPeer({ name: 'idp' });
    stops.push(() => idp.close());
    app = await startScimPeer({ name: 'app' });
    stops.push(() => app.close());
    const policy = parsePolicy({
      timing: { activationTime: when.activationTime, defaultTimeZone: 'UTC' },
      systems: [
        {
          id: 'idp',
          name: 'Identity provider',
          kind: 'identity-provider',
          connector: { type: 'scim', baseUrl: idp.url },
        },
        { id: 'wiki', name: 'Wiki', kind: 'app', connector: { type: 'scim', baseUrl: app.url }, dependsOn: ['idp'] },
      ],
      birthright: [{ name: 'everyone', systems: ['idp', 'wiki'] }],
    });

    const taskQueue = uniqueTaskQueue('codec');
    const native: NativeConnection = await connectNative();
    stops.push(() => native.close());
    const worker = await Worker.create({
      connection: native,
      namespace: 'default',
      taskQueue,
      activities: createActivities({ policy, connectors: buildConnectors(policy.policy), audit: memoryAudit() }),
      workflowBundle: await workflowBundle(),
      dataConverter: converter,
    });
    const running = worker.run();
    stops.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    });

    connection = await Connection.connect({ address: devServer().address });
    stops.push(() => connection.close());
    codecClient = new Client({ connection, dataConverter: converter });
    plainClient = new Client({ connection });

    record = makeRecord({
      legalFirstName: `Zephyrine${nonce}`,
      legalLastName: `Quillfeather${nonce}`,
      preferredFirstName: `Zeph${nonce}`,
      personalEmail: `zq.${nonce}@personal.example`,
      workEmail: `zeph.quillfeather.${nonce}@acme.example`,
      title: `Cartographer ${nonce}`,
      hireDate: daysAgo(2),
      location: { name: 'Tokyo', countryCode: 'JP', timeZone: tz },
    });
    // A hire already due (the entity carries it out: its steps' payloads are in the entity's history), then an
    // involuntary exit (a run of its own, the record in its input).
    const hireId = `evt-${record.hrId}`;
    const answer = await deliverHrEvent(codecClient, taskQueue, {
      eventId: hireId,
      kind: 'hire',
      source: 'test',
      record,
      receivedAt: new Date().toISOString(),
    });
    assert.equal(answer.outcome, 'accepted', JSON.stringify(answer));
    const hired: OnboardingStatus = await resultWhenStarted(
      codecClient.workflow.getHandle<typeof onboardingWorkflow>(eventWorkflowId(record.hrId, 'hire', hireId)),
    );
    assert.equal(hired.stage, 'completed', JSON.stringify(hired));
    exitRecord = { ...record, exitKind: 'involuntary', sourceUpdatedAt: new Date(Date.now() + 1000).toISOString() };
    const exitId = `x-${record.hrId}`;
    const exit = await deliverHrEvent(codecClient, taskQueue, {
      eventId: exitId,
      kind: 'termination',
      source: 'test',
      record: exitRecord,
      receivedAt: new Date().toISOString(),
    });
    assert.equal(exit.outcome, 'accepted', JSON.stringify(exit));
    childId = eventWorkflowId(record.hrId, 'termination', exitId);
    const final: OnboardingStatus = await resultWhenStarted(
      codecClient.workflow.getHandle<typeof onboardingWorkflow>(childId),
    );
    assert.equal(final.stage, 'completed', JSON.stringify(final));
    histories = new Map();
    for (const id of [employeeWorkflowId(record.hrId), childId]) histories.set(id, await rawHistory(connection, id));
    stops.push(() => codecClient.workflow.getHandle(employeeWorkflowId(record.hrId)).terminate('test over'));
  });

  after(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  });

  it('stores no personal value anywhere in the raw history of the entity or the exit run', () => {
    const values = personalValues(record);
    assert.equal(values.length, 6);
    for (const [workflowId, history] of histories) {
      const bytes = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
      const json = JSON.stringify(temporal.api.history.v1.History.fromObject(history).toJSON());
      assert.ok(bytes.length > 1000, `${workflowId}: a real history`);
      for (const v of values) {
        assert.ok(!bytes.includes(v), `${workflowId}: raw history bytes contain "${v}"`);
        assert.ok(!bytes.includes(v.toLowerCase()), `${workflowId}: raw history bytes contain "${v.toLowerCase()}"`);
        assert.ok(!json.includes(v), `${workflowId}: history JSON contains "${v}"`);
      }
      // Control: the same scan does find what is stored in clear on purpose (ids and search attributes).
      assert.ok(bytes.includes(record.hrId), `${workflowId}: the hrId (not personal) is in clear`);
    }
  });

  it('encrypts every payload with the active key; only search attributes stay in clear', () => {
    let encrypted = 0;
    for (const [workflowId, history] of histories) {
      for (const { path, payload } of collectPayloads(history)) {
        if (/searchAttributes/.test(path)) continue;
        if (/markerRecordedEventAttributes\.details\.data\./.test(path)) {
          // Temporal Core's own local-activity marker data (seq, attempt, activity id and type, times): written by
          // Core, not by the data converter, so never encoded; it holds no workflow data. Check that it is just that.
          const fields = Object.keys(JSON.parse(text(payload.data)) as object);
          const core = [
            'seq',
            'attempt',
            'activity_id',
            'activity_type',
            'complete_time',
            'backoff',
            'original_schedule_time',
          ];
          assert.deepEqual(
            fields.filter((f) => !core.includes(f)),
            [],
            `${workflowId} ${path}: ${fields.join(',')}`,
          );
          continue;
        }
        if (/markerRecordedEventAttributes\.details\.patch-data\./.test(path)) {
          // A `patched()` marker: Core writes the patch id (a constant of Tenure's code) in clear. Check that it is.
          const data = JSON.parse(text(payload.data)) as { id?: unknown };
          assert.match(String(data.id), /^tenure-[a-z-]+$/, `${workflowId} ${path}`);
          continue;
        }
        assert.equal(text(payload.metadata?.encoding), ENCRYPTED_ENCODING, `${workflowId} ${path}`);
        assert.equal(text(payload.metadata?.[KEY_ID_METADATA_KEY]), 'k1', `${workflowId} ${path}`);
        encrypted += 1;
      }
    }
    // Entity: start input, the updates' inputs and results, local-activity markers, the hire's activities. Exit run: input, its activities, result.
    assert.ok(encrypted >= 10, `only ${encrypted} encrypted payloads found`);
  });

  it('a client without the codec sees only ciphertext; the codec client and the worker read the values', async () => {
    // fetchHistory() through a client with no codec: the same ciphertext.
    const viaSdk = await plainClient.workflow.getHandle(childId).fetchHistory();
    const sdkBytes = Buffer.from(temporal.api.history.v1.History.encode(viaSdk).finish());
    for (const v of personalValues(record)) assert.ok(!sdkBytes.includes(v), `fetchHistory shows "${v}"`);
    await assert.rejects(plainClient.workflow.getHandle(childId).result(), /binary\/encrypted/);

    // The exit run's input, decoded with the codec, is the record.
    const started = viaSdk.events?.[0]?.workflowExecutionStartedEventAttributes;
    const [input] = await codec.decode(started?.input?.payloads ?? []);
    assert.ok(input);
    const decoded = defaultPayloadConverter.fromPayload<{ record: EmployeeRecord }>(input);
    assert.deepEqual(decoded.record, exitRecord);

    // The worker decoded it too: the accounts carry the real names.
    const [user] = idp.users();
    assert.equal(user?.userName, record.workEmail);
    assert.equal(user?.name?.givenName, record.preferredFirstName);
    assert.equal(app.users()[0]?.name?.familyName, record.legalLastName);
  });

  describe('codec HTTP endpoint', () => {
    const token = generateCodecToken();
    const allowed = 'http://127.0.0.1:8233';
    const logLines: string[] = [];
    let base: string;
    let server: Server;
    let stored: Payload[];

    before(async () => {
      const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
      const web = express();
      web.use(
        '/codec',
        createCodecRouter({ codec, token, allowedOrigins: [allowed, 'http://localhost:8233'], logger }),
      );
      server = await new Promise<Server>((resolve) => {
        const s = web.listen(0, '127.0.0.1', () => resolve(s));
      });
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/codec`;
      const history = histories.get(childId);
      stored = history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
      assert.equal(stored.length, 1);
    });
    after(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    const asJson = (payloads: Payload[]) => ({
      payloads: payloads.map((p) => ({
        metadata: Object.fromEntries(
          Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
        ),
        data: Buffer.from(p.data ?? []).toString('base64'),
      })),
    });
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    type WirePayloads = { payloads: { metadata: Record<string, string>; data: string }[] };
    const decodeRecord = (body: WirePayloads): EmployeeRecord => {
      const [p] = body.payloads;
      assert.ok(p);
      assert.equal(Buffer.from(p.metadata.encoding ?? '', 'base64').toString(), 'json/plain');
      return (JSON.parse(Buffer.from(p.data, 'base64').toString('utf8')) as { record: EmployeeRecord }).record;
    };

    it('decodes stored payloads for a bearer token', async () => {
      const res = await post('/decode', asJson(stored), { authorization: `Bearer ${token}` });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get(FAILURES_HEADER), '0');
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.deepEqual(decodeRecord((await res.json()) as WirePayloads), exitRecord);
    });

    /** Signs in as an operator does at /login, and returns the session cookie. */
    const signIn = async (): Promise<string> => {
      const res = await fetch(`${base}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }).toString(),
      });
      assert.equal(res.status, 200);
      const setCookie = res.headers.get('set-cookie') ?? '';
      assert.match(
        setCookie,
        /^tenure_codec_session=v1\.\d+\.[\w-]+; Path=\/codec; Max-Age=43200; HttpOnly; SameSite=Strict/,
      );
      assert.ok(!setCookie.includes(token), 'the cookie is not the token');
      return setCookie.split(';')[0] ?? '';
    };

    it('decodes for the Web UI with the session cookie from /login, with CORS for its origin', async () => {
      const res = await post('/decode', asJson(stored), { origin: allowed, cookie: await signIn() });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('access-control-allow-origin'), allowed);
      assert.match(res.headers.get('vary') ?? '', /origin/i);
      assert.deepEqual(decodeRecord((await res.json()) as WirePayloads), exitRecord);
    });

    it('encodes, and its output decodes again (the UI encodes signal and update input)', async () => {
      const plain = defaultPayloadConverter.toPayload({ note: `hello ${nonce}` });
      const res = await post('/encode', asJson([plain]), { authorization: `Bearer ${token}` });
      assert.equal(res.status, 200);
      const body = (await res.json()) as WirePayloads;
      const [enc] = body.payloads;
      assert.equal(Buffer.from(enc?.metadata.encoding ?? '', 'base64').toString(), ENCRYPTED_ENCODING);
      assert.ok(!Buffer.from(enc?.data ?? '', 'base64').includes(nonce));
      const back = await post('/decode', body, { authorization: `Bearer ${token}` });
      const [p] = ((await back.json()) as WirePayloads).payloads;
      assert.deepEqual(JSON.parse(Buffer.from(p?.data ?? '', 'base64').toString()), { note: `hello ${nonce}` });
    });

    it('refuses without a token, with a wrong bearer token, a forged cookie, or a cookie without an Origin (401)', async () => {
      const wrong = generateCodecToken();
      const cookie = await signIn();
      const forged = cookie.replace(/\.[\w-]+$/, `.${'A'.repeat(43)}`);
      const expired = cookie.replace(/v1\.\d+\./, 'v1.1000.');
      for (const [path, headers] of [
        ['/decode', {}],
        ['/decode', { authorization: `Bearer ${wrong}` }],
        ['/decode', { authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}` }],
        ['/encode', {}],
        // A cookie counts only from a browser, which always sends an allowed Origin: curl must send the bearer.
        ['/decode', { cookie }],
        ['/decode', { cookie: forged, origin: allowed }],
        ['/decode', { cookie: expired, origin: allowed }],
        ['/decode', { origin: allowed }],
      ] as [string, Record<string, string>][]) {
        const res = await post(path, asJson(stored), headers);
        assert.equal(res.status, 401, `${path} ${JSON.stringify(headers)}`);
        assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="tenure-codec"');
        const body = (await res.json()) as Record<string, unknown>;
        assert.equal(body.error, 'unauthorized');
        assert.ok(!('payloads' in body));
      }
      // No capability path any more: the token in a URL is not a credential.
      assert.equal((await post(`/ui/${token}/decode`, asJson(stored))).status, 404);
    });

    it('answers the CORS preflight for an allowed origin only', async () => {
      const preflight = (origin: string, path = '/decode') =>
        fetch(`${base}${path}`, {
          method: 'OPTIONS',
          headers: {
            origin,
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'content-type,x-namespace,authorization',
          },
        });
      for (const path of ['/decode', '/encode']) {
        const ok = await preflight(allowed, path);
        assert.equal(ok.status, 204, path);
        assert.equal(ok.headers.get('access-control-allow-origin'), allowed);
        assert.match(ok.headers.get('access-control-allow-methods') ?? '', /POST/);
        const allowedHeaders = (ok.headers.get('access-control-allow-headers') ?? '').split(/,\s*/);
        for (const h of ['content-type', 'x-namespace', 'authorization']) assert.ok(allowedHeaders.includes(h), h);
      }
      assert.equal(
        (await preflight('http://localhost:8233')).headers.get('access-control-allow-origin'),
        'http://localhost:8233',
      );

      const refused = await preflight('https://evil.example');
      assert.equal(refused.status, 403);
      assert.equal(refused.headers.get('access-control-allow-origin'), null);
      assert.equal(refused.headers.get('access-control-allow-headers'), null);
      // A POST from another origin is refused before any decrypting, even with the right token.
      const post403 = await post('/decode', asJson(stored), {
        origin: 'https://evil.example',
        authorization: `Bearer ${token}`,
      });
      assert.equal(post403.status, 403);
      assert.equal(post403.headers.get('access-control-allow-origin'), null);
    });

    it('answers malformed requests with 400, and returns undecodable payloads unchanged', async () => {
      const auth = { authorization: `Bearer ${token}` };
      assert.equal((await post('/decode', `{"payloads": [${record.legalFirstName}`, auth)).status, 400);
      const bad = await post('/decode', { payloads: [{ metadata: { encoding: '!!' } }] }, auth);
      assert.equal(bad.status, 400);
      assert.match(
        ((await bad.json()) as { message: string }).message,
        /payloads\[0\]\.metadata\.encoding must be a base64/,
      );
      assert.equal((await post('/decode', { payloads: 'x' }, auth)).status, 400);

      const other = loadKeyRing({ TENURE_CODEC_KEYS: `k9:${generateKey()}` });
      const foreign = await dataConverter(other).payloadCodecs[0].encode([defaultPayloadConverter.toPayload('x')]);
      const res = await post('/decode', asJson([...stored, ...foreign]), auth);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get(FAILURES_HEADER), '1');
      const body = (await res.json()) as WirePayloads;
      assert.equal(Buffer.from(body.payloads[1]?.metadata.encoding ?? '', 'base64').toString(), ENCRYPTED_ENCODING);
      assert.equal(body.payloads[1]?.data, asJson(foreign).payloads[0]?.data);
      assert.deepEqual(decodeRecord({ payloads: body.payloads.slice(0, 1) }), exitRecord);
    });

    it('logs requests without the token, the cookie, or any payload content', () => {
      const all = logLines.join('\n');
      assert.ok(logLines.length >= 8, `only ${logLines.length} log lines`);
      assert.match(all, /codec request served/);
      assert.match(all, /"via":"session"/);
      assert.match(all, /codec request refused/);
      assert.doesNotMatch(all, /tenure_codec_session=/);
      assert.match(all, /"keyId":"k9"/);
      assert.ok(!all.includes(token), 'the token is never logged');
      assert.ok(!all.includes(token.slice(0, 16)), 'no part of the token is logged');
      for (const v of personalValues(record)) assert.ok(!all.includes(v), `log contains "${v}"`);
      for (const p of asJson(stored).payloads) assert.ok(!all.includes(p.data.slice(0, 40)), 'no ciphertext in logs');
    });
  });
});
