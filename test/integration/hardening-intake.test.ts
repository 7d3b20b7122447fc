/**
 * Issue 16, item 2: every refusal of the intake is the documented JSON error shape with a request id — never an
 * HTML page, a stack trace or a file path — and is audited; Content-Type is enforced; control characters in names
 * and titles never reach a system.
 */
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { signSlackRequest, signTenureWebhook } from '../../src/client/signature';
import { daysAgo, makeRecord } from '../helpers/records';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';

async function waitUntil<T>(get: () => T | undefined, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('not within time');
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Answer {
  status: number;
  contentType: string;
  text: string;
  body: Record<string, unknown>;
  requestIdHeader: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The error shape of docs/webhook.md, with nothing that looks like a stack or a path. */
function assertErrorShape(a: Answer, status: number, error: string): void {
  assert.equal(a.status, status, a.text);
  assert.match(a.contentType, /^application\/json/, a.text);
  assert.equal(a.body.error, error, a.text);
  assert.equal(typeof a.body.message, 'string');
  assert.match(String(a.body.requestId), UUID);
  assert.equal(a.requestIdHeader, a.body.requestId);
  assert.doesNotMatch(a.text, /node_modules|\/work\/|at [\w.<>]+ \(|<html|<pre|raw-body|stack/i, a.text);
}

describe('hardening: the intake refuses in JSON, audits, and strips control characters', function () {
  this.timeout(90_000);
  let t: TenureHarness;

  before(async () => {
    t = await startTenure({ slack: true });
  });
  after(async () => {
    await t?.stop();
  });

  async function send(path: string, init: RequestInit): Promise<Answer> {
    const res = await fetch(`${t.intake.url}${path}`, init);
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // not JSON: the assertions say so
    }
    return {
      status: res.status,
      contentType: res.headers.get('content-type') ?? '',
      text,
      body,
      requestIdHeader: res.headers.get('x-request-id'),
    };
  }

  function signed(body: string | Buffer, headers: Record<string, string> = {}): RequestInit {
    const ts = Math.floor(Date.now() / 1000);
    return {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-tenure-timestamp': String(ts),
        'x-tenure-signature': signTenureWebhook(t.webhookSecret, ts, body),
        ...headers,
      },
      body,
    };
  }

  async function refusalCounts(): Promise<Record<string, number>> {
    await t.intake.flushRefusals();
    const counts: Record<string, number> = {};
    for await (const r of t.audit.stream()) {
      if (r.action !== 'unauthenticated_requests_refused') continue;
      for (const reason of (r.detail?.reasons ?? []) as { endpoint: string; error: string; count: number }[]) {
        const k = `${reason.endpoint} ${reason.error}`;
        counts[k] = (counts[k] ?? 0) + reason.count;
      }
    }
    return counts;
  }

  it('a body over the limit is a JSON 413 with a request id, audited, and no stack in the logs', async () => {
    const before = t.logLines.length;
    const a = await send('/webhooks/hr', signed(JSON.stringify({ pad: 'x'.repeat(300_000) })));
    assertErrorShape(a, 413, 'too_large');
    const logged = JSON.stringify(t.logLines.slice(before));
    assert.doesNotMatch(logged, /stack|node_modules|raw-body/i);
    assert.ok((await refusalCounts())['/webhooks/hr too_large']! >= 1);
  });

  it('an unsupported Content-Encoding, and a gzip body that is not gzip, are JSON refusals', async () => {
    assertErrorShape(
      await send('/webhooks/hr', signed('{}', { 'content-encoding': 'compress' })),
      415,
      'unsupported_encoding',
    );
    assertErrorShape(
      await send('/webhooks/hr', signed('not gzip', { 'content-encoding': 'gzip' })),
      400,
      'unreadable_body',
    );
    const counts = await refusalCounts();
    assert.ok(counts['/webhooks/hr unsupported_encoding']! >= 1, JSON.stringify(counts));
    assert.ok(counts['/webhooks/hr unreadable_body']! >= 1, JSON.stringify(counts));
  });

  it('a gzip body that is gzip is read', async () => {
    const raw = gzipSync(Buffer.from('{"eventId": "x", '));
    // The signature is over the bytes sent; the body decompresses to broken JSON, which the signed path refuses.
    const a = await send('/webhooks/hr', signed(raw, { 'content-encoding': 'gzip' }));
    assert.equal(a.status, 401, a.text);
  });

  it('a Content-Type other than application/json is a 415 on every JSON endpoint', async () => {
    for (const path of ['/webhooks/hr', '/webhooks/hr/plan']) {
      const body = JSON.stringify({ eventId: 'ct', kind: 'hire', record: makeRecord() });
      const a = await send(path, signed(body, { 'content-type': 'text/plain' }));
      assertErrorShape(a, 415, 'unsupported_media_type');
      const none = await send(path, { method: 'POST', body: '{}', headers: {} });
      assert.equal(none.status, 415, none.text);
    }
    const form = await send('/slack/interactivity', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assertErrorShape(form, 415, 'unsupported_media_type');
  });

  it('a malformed path, an unknown endpoint, a wrong method and a bad signature answer the error shape', async () => {
    assertErrorShape(await send('/webhooks/%E0%A4%A', { method: 'POST' }), 404, 'not_found');
    assertErrorShape(await send('/nope', { method: 'GET' }), 404, 'not_found');
    assertErrorShape(await send('/webhooks/hr', { method: 'GET' }), 404, 'not_found');
    const bad = signed('{}');
    (bad.headers as Record<string, string>)['x-tenure-signature'] = 'v1=00';
    assertErrorShape(await send('/webhooks/hr', bad), 401, 'bad_signature');
    assertErrorShape(await send('/webhooks/hr/plan', bad), 401, 'bad_signature');
    const slack = await send('/slack/interactivity', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': String(Math.floor(Date.now() / 1000)),
        'x-slack-signature': signSlackRequest('wrong-secret', Math.floor(Date.now() / 1000), 'payload=%7B%7D'),
      },
      body: 'payload=%7B%7D',
    });
    assertErrorShape(slack, 401, 'bad_signature');
  });

  it('signed but malformed JSON is refused without quoting the body, one audit row each', async () => {
    const a = await send('/webhooks/hr', signed('{"legalFirstName": Ana-Secret-Name'));
    assertErrorShape(a, 400, 'malformed_json');
    assert.doesNotMatch(a.text, /Ana-Secret-Name/);
    const rows = [];
    for await (const r of t.audit.stream()) if (r.requestId === a.body.requestId) rows.push(r);
    assert.equal(rows.length, 1);
    assert.doesNotMatch(JSON.stringify(rows), /Ana-Secret-Name/);
    const plan = await send('/webhooks/hr/plan', signed('{"record": Ana-Secret-Name'));
    assertErrorShape(plan, 400, 'malformed_json');
    assert.doesNotMatch(plan.text, /Ana-Secret-Name/);
  });

  it('strips control characters from names, titles and departments before any system sees them', async () => {
    const record = makeRecord({
      legalFirstName: 'An\u0000a\u001b[31m',
      legalLastName: 'Li\u202ema\r\nAdmin',
      preferredFirstName: 'Ani\u0007nha',
      title: 'Software\tEngineer\u0085',
      department: '\u200bEngineering\u2028',
      location: { name: 'Lis\u0000bon', countryCode: 'PT', timeZone: 'Europe/Lisbon' },
      hireDate: daysAgo(2),
      status: 'active',
    });
    const plan = await send('/webhooks/hr/plan', signed(JSON.stringify({ record })));
    assert.equal(plan.status, 200, plan.text);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(plan.text, /[\u0000-\u001f\u007f-\u009f\u202e\u200b\u2028]|\\u00|\\u20/);

    const a = await send(
      '/webhooks/hr',
      signed(JSON.stringify({ eventId: `cc-${record.hrId}`, kind: 'hire', record })),
    );
    assert.equal(a.status, 202, a.text);
    const user = await waitUntil(() => t.idp.users().find((u) => u.externalId === record.hrId));
    const kept = {
      legalFirstName: user.name?.givenName,
      legalLastName: user.name?.familyName,
    };
    assert.doesNotMatch(JSON.stringify(user), /\\u00|\\u20/);
    // The account uses the preferred first name.
    assert.equal(kept.legalFirstName, 'Aninha');
    assert.equal(kept.legalLastName, 'Lima Admin');
    const text = JSON.stringify(user);
    assert.match(text, /Software Engineer/);
    assert.doesNotMatch(text, /Engineer\\u0085|\\u200b/);
  });

  it('a name that is nothing but control characters is a 422 naming the field', async () => {
    const record = makeRecord({ legalLastName: '\u0000\u001b\u202e' });
    const a = await send(
      '/webhooks/hr',
      signed(JSON.stringify({ eventId: `cc2-${record.hrId}`, kind: 'hire', record })),
    );
    assertErrorShape(a, 422, 'invalid_event');
    assert.ok(
      (a.body.issues as { path: string }[]).some((i) => i.path === 'record.legalLastName'),
      a.text,
    );
  });
});
