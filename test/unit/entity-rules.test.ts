import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { LogEntry } from '../../src/domain/entity-rules';
import {
  COMPACT_EVENT_LOG,
  compactEvents,
  exceptionId,
  hasLeft,
  lastHireIndex,
  storyFinished,
} from '../../src/domain/entity-rules';
import { WorkflowLock } from '../../src/workflows/employee/lock';
import {
  DEPARTMENT_KEY_MAX_BYTES,
  KEYWORD_MAX_BYTES,
  boundedKeyword,
  departmentKey,
  utf8Length,
} from '../../src/workflows/search-attributes';

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Any string, including lone surrogates, control characters and very long ones. */
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 300 }),
  fc.string({ maxLength: 5000 }),
  fc.constantFrom('', ' ', '\u0000', '\n\r\t', '\u202e', '\ud800', 'x'.repeat(3000), '🦄'.repeat(700)),
);

describe('entity rules: search attribute values are bounded whatever the record holds', () => {
  it('departmentKey is at most 64 bytes for any input, and stable', () => {
    fc.assert(
      fc.property(anyText, (d) => {
        const k = departmentKey(d);
        assert.ok(bytes(k) <= DEPARTMENT_KEY_MAX_BYTES, `${bytes(k)} bytes`);
        assert.ok(utf8Length(k) <= DEPARTMENT_KEY_MAX_BYTES);
        assert.equal(departmentKey(d), k);
        assert.doesNotMatch(k, /\p{Cc}/u);
      }),
    );
  });

  it('keeps a short printable department as it is, so operators can search by it', () => {
    for (const d of ['Engineering', 'Sales & Marketing', 'Recursos Humanos', 'Entwicklung – Zürich', '研究開発']) {
      assert.equal(departmentKey(d), d);
    }
  });

  it('tells long departments that share a prefix apart', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 50 }), fc.string({ minLength: 1, maxLength: 50 }), (a, b) => {
        fc.pre(a !== b);
        const prefix = 'D'.repeat(100);
        assert.notEqual(departmentKey(prefix + a), departmentKey(prefix + b));
      }),
    );
  });

  it('boundedKeyword cuts on a character boundary', () => {
    fc.assert(
      fc.property(anyText, (v) => {
        const k = boundedKeyword(v);
        assert.ok(bytes(k) <= KEYWORD_MAX_BYTES);
        assert.ok(v.startsWith(k));
      }),
    );
  });
});

const entry = (over: Partial<LogEntry> & { eventId: string; kind: string }): LogEntry => ({
  outcome: 'accepted',
  state: 'done',
  ...over,
});

describe('entity rules: a finished story is compacted', () => {
  const story = [
    entry({ eventId: 'h1', kind: 'hire' }),
    entry({ eventId: 'c1', kind: 'change' }),
    entry({ eventId: 'x1', kind: 'change', outcome: 'rejected', state: 'rejected' }),
    entry({ eventId: 't1', kind: 'termination' }),
  ];

  it('is finished once the exit is done and nothing is scheduled, queued or open', () => {
    const base = { events: story, pendingRevocations: 0, deletionScheduled: false, busy: false, openExceptions: 0 };
    assert.equal(storyFinished(base), true);
    assert.equal(storyFinished({ ...base, deletionScheduled: true }), false);
    assert.equal(storyFinished({ ...base, pendingRevocations: 1 }), false);
    assert.equal(storyFinished({ ...base, busy: true }), false);
    assert.equal(storyFinished({ ...base, openExceptions: 1 }), false);
    assert.equal(storyFinished({ ...base, events: story.slice(0, 3) }), false, 'not left yet');
    const rehired = [...story, entry({ eventId: 'r1', kind: 'rehire', state: 'running' })];
    assert.equal(storyFinished({ ...base, events: rehired }), false, 'a rehire starts a new story');
    const retentionOnly = [
      ...story.slice(0, 3),
      entry({ eventId: 't1.retention', kind: 'termination', derived: true }),
    ];
    assert.equal(hasLeft(retentionOnly), false, 'the retention deletion is not the exit');
  });

  it('keeps the last hire and the latest entries, in order, at most COMPACT_EVENT_LOG', () => {
    const kinds = fc.constantFrom('hire', 'rehire', 'change', 'termination', 'leave_start', 'leave_end');
    const log = fc.array(
      fc.record({
        kind: kinds,
        outcome: fc.constantFrom<LogEntry['outcome']>('accepted', 'rejected'),
        state: fc.constantFrom<LogEntry['state']>('done', 'rejected', 'superseded'),
      }),
      { maxLength: 300 },
    );
    fc.assert(
      fc.property(log, (raw) => {
        const events = raw.map((e, i) => ({ ...e, eventId: `e${i}` }));
        const out = compactEvents(events);
        assert.ok(out.length <= COMPACT_EVENT_LOG);
        const idx = out.map((e) => events.indexOf(e));
        assert.deepEqual(
          idx,
          [...idx].sort((a, b) => a - b),
          'original order',
        );
        const lastHire = lastHireIndex(events);
        if (lastHire >= 0) assert.ok(idx.includes(lastHire), 'the last hire is kept');
        if (events.length > 0) assert.ok(idx.includes(events.length - 1), 'the newest entry is kept');
        assert.equal(hasLeft(out), hasLeft(events));
      }),
    );
  });

  it('numbers repeated exception ids', () => {
    assert.equal(exceptionId('e1', []), 'e1');
    assert.equal(exceptionId('e1', ['e1']), 'e1#2');
    assert.equal(exceptionId('e1', ['e1', 'e1#2']), 'e1#3');
  });
});

describe('WorkflowLock: handlers that await never interleave', () => {
  it('runs bodies one at a time, in arrival order, and releases after a failure', async () => {
    const lock = new WorkflowLock();
    const trace: string[] = [];
    const body = (name: string, fail = false) =>
      lock.run(async () => {
        trace.push(`${name}:in`);
        await new Promise((r) => setTimeout(r, 5));
        trace.push(`${name}:out`);
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([body('a'), body('b', true), body('c')]);
    assert.deepEqual(trace, ['a:in', 'a:out', 'b:in', 'b:out', 'c:in', 'c:out']);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.equal(lock.busy, false);
  });
});
