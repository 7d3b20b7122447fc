import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import {
  hibobEventId,
  hibobInstant,
  parseHibobWebhook,
  signHibobWebhook,
  verifyHibobWebhook,
} from '../../src/activities/hris/hibob/webhook';

describe('HiBob webhooks: Bob-Signature and the v2 payload', () => {
  // HiBob's documented v2 payload example ("Employee data webhooks: table entry events", historical table), as raw
  // bytes. HiBob documents the algorithm (Base64 of HMAC-SHA512 over the raw payload, keyed with the secret token)
  // but publishes no test vector; this one was computed independently with
  // `openssl dgst -sha512 -hmac <secret> -binary body.json | base64`.
  const body =
    '{"companyId":636192,"type":"table.entry.created","triggeredBy":"3332883804594373380","triggeredAt":"2025-01-08T13:06:26.915906","version":"v2","data":{"employeeId":"3332883854254932743","tableId":"lifecycle","effectiveDate":"2025-01-08"}}';
  const secret = 'bob-webhook-secret-token';
  const signature = 'MEFagOLz/fIcAQd/DBajBZy5hhL90PjhPr/bHkphcajOLE46WK3pT6QgB2wUYhYOCE+/GX6QOyKrPatwmwZ3ZQ==';

  it('signs and verifies the documented example as openssl computes it', () => {
    assert.equal(signHibobWebhook(secret, body), signature);
    assert.deepEqual(verifyHibobWebhook({ secret, signature, rawBody: Buffer.from(body) }), { ok: true });
  });

  it('is SHA-512, not SHA-256: a SHA-256 signature of the same body is refused', () => {
    const sha256 = createHmac('sha256', secret).update(body).digest('base64');
    const r = verifyHibobWebhook({ secret, signature: sha256, rawBody: Buffer.from(body) });
    assert.equal(r.ok, false);
  });

  it('refuses a changed body, a wrong secret, a missing, a non-Base64 and a hex signature', () => {
    const cases: [string, string | undefined, string][] = [
      [secret, signature, body.replace('636192', '636193')],
      ['another-secret', signature, body],
      [secret, undefined, body],
      [secret, 'not base64!!', body],
      [secret, createHmac('sha512', secret).update(body).digest('hex'), body],
      [secret, signature.slice(0, -4), body],
    ];
    for (const [s, sig, b] of cases) {
      const r = verifyHibobWebhook({ secret: s, signature: sig, rawBody: Buffer.from(b) });
      assert.equal(r.ok, false, `accepted ${String(sig)}`);
      if (!r.ok) assert.doesNotMatch(r.reason, /636192|3332883854254932743/);
    }
  });

  it('refuses everything when no secret is configured', () => {
    const r = verifyHibobWebhook({ secret: '', signature: signHibobWebhook('', body), rawBody: Buffer.from(body) });
    assert.equal(r.ok, false);
  });

  it('parses the v2 payload: employee id, event type and triggeredAt', () => {
    const parsed = parseHibobWebhook(JSON.parse(body));
    assert.ok(parsed.ok && parsed.change);
    assert.deepEqual(parsed.change, {
      employeeId: '3332883854254932743',
      type: 'table.entry.created',
      triggeredAt: '2025-01-08T13:06:26.915906',
    });
    const updated = parseHibobWebhook({
      companyId: 636192,
      type: 'employee.updated',
      triggeredBy: 'system',
      triggeredAt: '2025-01-08T13:06:26.915906',
      version: 'v2',
      data: { employeeId: '3332883854254932743', fieldIds: ['/work/title'] },
    });
    assert.ok(updated.ok && updated.change?.type === 'employee.updated');
  });

  it('ignores the connection test and non-employee events; refuses what is no HiBob event', () => {
    assert.deepEqual(parseHibobWebhook('Ping test'), { ok: true, change: undefined, ignored: 'HiBob connection test' });
    assert.equal(parseHibobWebhook({ text: 'Ping test' }).ok, true);
    const task = parseHibobWebhook({
      companyId: 1,
      type: 'task.statusUpdated',
      triggeredBy: 'x',
      triggeredAt: '2025-01-08T13:06:26',
      version: 'v2',
      data: { employeeId: '1' },
    });
    assert.ok(task.ok && task.change === undefined);
    for (const bad of [{}, { type: 'employee.updated', data: {} }, [], 42])
      assert.equal(parseHibobWebhook(bad).ok, false);
  });

  it('gives one stable event id per (type, employee, triggeredAt)', () => {
    const c = { employeeId: '42', type: 'employee.updated' as const, triggeredAt: '2025-01-08T13:06:26.915906' };
    assert.equal(hibobEventId(c), hibobEventId({ ...c }));
    assert.match(hibobEventId(c), /^hibob-42-[0-9a-f]{16}$/);
    assert.notEqual(hibobEventId(c), hibobEventId({ ...c, triggeredAt: '2025-01-08T13:06:27' }));
  });

  it("reads HiBob's offset-less triggeredAt as UTC", () => {
    assert.equal(hibobInstant('2025-01-08T13:06:26.915906'), '2025-01-08T13:06:26.915Z');
    assert.equal(hibobInstant('2025-01-08T13:06:26+02:00'), '2025-01-08T11:06:26.000Z');
    assert.equal(hibobInstant('yesterday'), undefined);
  });
});
