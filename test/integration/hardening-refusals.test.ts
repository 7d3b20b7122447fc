/**
 * Issue 16, item 3: a flood of unsigned requests cannot flood the audit store. Unauthenticated refusals are
 * rate-limited per source address (429, Retry-After, JSON) and recorded as one aggregated row per window; a
 * correctly signed event that is refused still gets a row of its own.
 */
import assert from 'node:assert/strict';
import { signTenureWebhook } from '../../src/client/signature';
import { makeRecord } from '../helpers/records';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';

describe('hardening: refusals are rate-limited and counted, not one audit row each', function () {
  this.timeout(90_000);
  let t: TenureHarness;

  before(async () => {
    t = await startTenure();
  });
  after(async () => {
    await t?.stop();
  });

  const unsigned = (): Promise<Response> =>
    fetch(`${t.intake.url}/webhooks/hr`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ eventId: 'flood', kind: 'hire', record: makeRecord() }),
    });

  it('300 unsigned POSTs: 30 refused with 401, the rest 429 with Retry-After; one aggregated audit row', async () => {
    await t.intake.flushRefusals();
    const rowsBefore = await t.audit.count();
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 300; i++) {
      const res = await unsigned();
      statuses.push(res.status);
      if (res.status === 429) limited = res;
      else await res.arrayBuffer();
    }
    assert.equal(statuses.filter((s) => s === 401).length, 30);
    assert.equal(statuses.filter((s) => s === 429).length, 270);
    assert.ok(limited);
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    const body = (await limited.json()) as Record<string, unknown>;
    assert.equal(body.error, 'rate_limited');
    assert.match(String(body.requestId), /^[0-9a-f-]{36}$/);

    // Nothing was written per request.
    assert.equal(await t.audit.count(), rowsBefore);
    await t.intake.flushRefusals();
    assert.equal(await t.audit.count(), rowsBefore + 1);
    const rows = [];
    for await (const r of t.audit.stream()) if (r.action === 'unauthenticated_requests_refused') rows.push(r);
    const row = rows.at(-1);
    assert.ok(row);
    assert.equal(row.outcome, 'refused');
    assert.equal(row.detail?.total, 300);
    assert.equal(row.detail?.rateLimited, 270);
    assert.equal(row.detail?.sources, 1);
    assert.deepEqual(
      (row.detail?.reasons as { endpoint: string; status: number; error: string; count: number }[]).map(
        (r) => `${r.endpoint} ${r.status} ${r.error} ${r.count}`,
      ),
      ['/webhooks/hr 429 rate_limited 270', '/webhooks/hr 401 bad_signature 30'],
    );
    // The log has the first refusals and one rate-limit line, not 300 lines.
    const lines = t.logLines.filter((l) => l.msg === 'unauthenticated request refused').length;
    assert.ok(lines <= 30, `${lines} log lines`);
    assert.equal(t.logLines.filter((l) => String(l.msg).startsWith('source rate-limited')).length, 1);
  });

  it('a correctly signed event that is refused keeps a row of its own', async () => {
    // Another harness: this one's source is rate-limited for the rest of the window.
    const other = await startTenure();
    try {
      const record = { ...makeRecord(), hireDate: '2031-02-30' };
      const payload = JSON.stringify({ eventId: 'signed-bad', kind: 'hire', record });
      const before = await other.audit.count();
      for (let i = 0; i < 3; i++) {
        const ts = Math.floor(Date.now() / 1000);
        const res = await fetch(`${other.intake.url}/webhooks/hr`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-tenure-timestamp': String(ts),
            'x-tenure-signature': signTenureWebhook(other.webhookSecret, ts, payload),
          },
          body: payload,
        });
        assert.equal(res.status, 422);
      }
      assert.equal(await other.audit.count(), before + 3);
    } finally {
      await other.stop();
    }
  });
});
