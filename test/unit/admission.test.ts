import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import express from 'express';
import { Admission } from '../../src/client/admission';
import { retryAfterMs, TenureClient } from '../../src/client/tenure-client';

/** An app whose event path answers only when the test releases it; real HTTP on a free port. */
async function heldApp(
  admission: Admission,
): Promise<{ url: string; release: () => void; close: () => Promise<void> }> {
  const held: (() => void)[] = [];
  const app = express();
  app.use(admission.middleware(new Set(['/webhooks/hr'])));
  app.post('/webhooks/hr', (_req, res) => {
    held.push(() => res.status(202).json({ outcome: 'accepted', eventId: 'e' }));
  });
  app.post('/other', (_req, res) => {
    res.json({ ok: true });
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    release: () => held.splice(0).forEach((f) => f()),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function waitUntil(pred: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(pred(), 'condition reached');
}

describe('intake admission: bursts are answered 503 with Retry-After, never held past a sender timeout', () => {
  it('admits up to maxInFlight, lets the next wait, and answers 503 overloaded with Retry-After after maxWaitMs', async () => {
    const overloaded: number[] = [];
    const admission = new Admission({ maxInFlight: 2, maxWaitMs: 150, onOverloaded: (_p, s) => overloaded.push(s) });
    const app = await heldApp(admission);
    try {
      const post = (path = '/webhooks/hr') =>
        axios.post<{ error?: string; message?: string }>(
          `${app.url}${path}`,
          {},
          {
            validateStatus: () => true,
            timeout: 10_000,
          },
        );
      const a = post();
      const b = post();
      await waitUntil(() => admission.load.inFlight === 2);
      // Other paths are not counted.
      assert.equal((await post('/other')).status, 200);
      const c = await post();
      assert.equal(c.status, 503);
      assert.equal(c.data.error, 'overloaded');
      assert.match(c.data.message ?? '', /send it again \(same eventId\) after \d+ seconds/);
      assert.match(String(c.headers['retry-after']), /^\d+$/);
      assert.ok(Number(c.headers['retry-after']) >= 1);
      assert.deepEqual(overloaded.length, 1);
      // One waits for room; releasing the two admitted lets it in.
      const d = post();
      await waitUntil(() => admission.load.waiting === 1);
      app.release();
      assert.equal((await a).status, 202);
      assert.equal((await b).status, 202);
      await waitUntil(() => admission.load.waiting === 0 && admission.load.inFlight === 1);
      app.release();
      assert.equal((await d).status, 202);
      await waitUntil(() => admission.load.inFlight === 0);
    } finally {
      await app.close();
    }
  });

  it('gives the room back when a waiting or admitted sender hangs up', async () => {
    const admission = new Admission({ maxInFlight: 1, maxWaitMs: 5_000 });
    const app = await heldApp(admission);
    try {
      const admitted = new AbortController();
      const waiting = new AbortController();
      const a = axios.post(`${app.url}/webhooks/hr`, {}, { signal: admitted.signal }).catch(() => 'aborted');
      await waitUntil(() => admission.load.inFlight === 1);
      const b = axios.post(`${app.url}/webhooks/hr`, {}, { signal: waiting.signal }).catch(() => 'aborted');
      await waitUntil(() => admission.load.waiting === 1);
      waiting.abort();
      assert.equal(await b, 'aborted');
      await waitUntil(() => admission.load.waiting === 0);
      admitted.abort();
      assert.equal(await a, 'aborted');
      await waitUntil(() => admission.load.inFlight === 0);
    } finally {
      await app.close();
    }
  });

  it('sets the limit from the pace of answers and the target answer time, within its bounds', () => {
    let t = 1_000_000;
    const admission = new Admission({
      maxInFlight: 100,
      minInFlight: 4,
      targetLatencyMs: 2_000,
      maxWaitMs: 3_000,
      now: () => t,
    });
    const finished = (admission as unknown as { finished: number[] }).finished;
    assert.equal(admission.limit(), 4, 'no answer yet: the minimum');
    // 20 answers over the last ten seconds: 2/s, so 4 in flight answer within 2 s.
    for (let i = 0; i < 20; i++) finished.push(t - 10_000 + i * 500);
    assert.equal(admission.pace(), 2);
    assert.equal(admission.limit(), 4);
    finished.splice(0);
    for (let i = 0; i < 100; i++) finished.push(t - 10_000 + i * 100);
    assert.equal(admission.limit(), 20);
    finished.splice(0);
    for (let i = 0; i < 5_000; i++) finished.push(t - 10_000 + i * 2);
    assert.equal(admission.limit(), 100, 'never past the maximum');
    t += 20_000;
    assert.equal(admission.pace(), 0, 'an old pace is forgotten');
    assert.equal(admission.limit(), 4);
  });

  it('spreads the Retry-After of refused senders at the pace, after those in flight', () => {
    const t = 1_000_000;
    const admission = new Admission({ maxInFlight: 100, maxWaitMs: 3_000, now: () => t });
    assert.equal(admission.retryAfterSeconds(), 3, 'no pace yet: the wait itself');
    const finished = (admission as unknown as { finished: number[] }).finished;
    for (let i = 0; i < 20; i++) finished.push(t - 10_000 + i * 500);
    // 2 answers a second, nobody in flight: one refused sender every half second.
    assert.deepEqual(
      Array.from({ length: 6 }, () => admission.retryAfterSeconds()),
      [1, 1, 2, 2, 3, 3],
    );
    (admission as unknown as { inFlight: number }).inFlight = 10;
    assert.equal(admission.retryAfterSeconds(), 6, '10 in flight at 2/s: after 5 s');
    (admission as unknown as { inFlight: number }).inFlight = 10_000;
    assert.equal(admission.retryAfterSeconds(), 300, 'at most five minutes');
  });
});

describe('TenureClient: an overloaded intake is tried again after its Retry-After', () => {
  it('reads Retry-After as seconds or an HTTP date, with up to a second of jitter', () => {
    assert.equal(
      retryAfterMs('3', 0, () => 0),
      3000,
    );
    assert.equal(
      retryAfterMs('3', 0, () => 0.999),
      3999,
    );
    assert.equal(
      retryAfterMs(undefined, 0, () => 0),
      1000,
    );
    assert.equal(
      retryAfterMs('soon', 0, () => 0),
      1000,
    );
    const now = Date.parse('2026-12-03T10:00:00Z');
    assert.equal(
      retryAfterMs('Thu, 03 Dec 2026 10:00:07 GMT', now, () => 0),
      7000,
    );
    assert.equal(
      retryAfterMs('99999', 0, () => 0),
      300_000,
      'capped at five minutes',
    );
  });

  it('resends after a 503 overloaded, and returns any other 503 as it is', async () => {
    const answers = [503, 503, 202];
    const bodies: string[] = [];
    const app = express();
    app.use(express.text({ type: () => true }));
    app.post('/webhooks/hr', (req, res) => {
      bodies.push(String(req.body));
      const status = answers.shift() ?? 503;
      if (status === 503) {
        const overloaded = bodies.length <= 2;
        res
          .status(503)
          .set('Retry-After', '0')
          .json({ error: overloaded ? 'overloaded' : 'unavailable', message: 'x' });
      } else res.status(202).json({ outcome: 'accepted', eventId: 'e1' });
    });
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const client = new TenureClient({ url, secret: 'a'.repeat(32) });
      const event = { eventId: 'e1', kind: 'hire' as const, record: { hrId: 'H1' } as never };
      const a = await client.sendEvent(event);
      assert.equal(a.status, 202);
      assert.equal(a.outcome, 'accepted');
      assert.equal(bodies.length, 3, 'sent three times');
      assert.ok(
        bodies.every((b) => b === bodies[0]),
        'the same event each time',
      );
      // `unavailable` (Temporal unreachable) is the caller's to retry: returned at once.
      const b = await client.sendEvent(event);
      assert.equal(b.status, 503);
      assert.equal(bodies.length, 4);
      const none = new TenureClient({ url, secret: 'a'.repeat(32), overloadRetries: 0 });
      answers.unshift(503);
      bodies.splice(0);
      const c = await none.sendEvent(event);
      assert.equal(c.status, 503);
      assert.equal(c.outcome, 'refused');
      assert.equal(bodies.length, 1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
