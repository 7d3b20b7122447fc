import assert from 'node:assert/strict';
import { openAuditStore } from '../../src/activities/audit';
import type { EvidenceInput } from '../../src/activities/audit';

/** A reconciliation writes its findings in one transaction: the chain stays whole and keys stay idempotent. */
describe('reconcile: findings appended as one batch', function () {
  this.timeout(60_000);

  const ev = (key: string): EvidenceInput => ({
    key,
    at: '2026-01-01T00:00:00.000Z',
    systemId: 'wiki',
    actor: { type: 'system', id: 'tenure-reconcile' },
    action: 'drift_finding',
    outcome: 'reported',
    detail: { situation: 'orphan', accountId: key },
  });

  it('extends the chain once per record, skips keys already written, and verifies', async () => {
    const store = await openAuditStore();
    try {
      const first = await store.append(ev('a'));
      const many = Array.from({ length: 450 }, (_, i) => ev(`f${i}`));
      const out = await store.appendMany([ev('a'), ...many, ev('f3')]);
      assert.equal(out.length, 452);
      assert.equal(out[0]?.seq, first.seq, 'an existing key answers the existing record');
      assert.deepEqual(
        out.slice(1, 4).map((r) => r.seq),
        [2, 3, 4],
      );
      assert.equal(out.at(-1)?.seq, out[4]?.seq, 'a key repeated in the batch is written once');
      assert.equal(await store.count(), 451);
      const again = await store.appendMany(many);
      assert.deepEqual(
        again.map((r) => r.seq),
        out.slice(1, 451).map((r) => r.seq),
        'a retried batch writes nothing new',
      );
      const verified = await store.verify();
      assert.ok(verified.ok, JSON.stringify(verified.problem));
      assert.equal(verified.checked, 451);
      await store.append(ev('after'));
      assert.ok((await store.verify()).ok, 'single appends continue the chain after a batch');
    } finally {
      await store.close();
    }
  });
});
