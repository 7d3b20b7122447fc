import assert from 'node:assert/strict';
import fc from 'fast-check';
import { localInstant, wallClock } from '../../src/domain/time';

describe('time: calendar dates and local hours to instants', () => {
  it('puts 09:00 in Lisbon at 09:00Z in winter and 08:00Z in summer', () => {
    assert.equal(localInstant('2026-01-15', '09:00', 'Europe/Lisbon').toISOString(), '2026-01-15T09:00:00.000Z');
    assert.equal(localInstant('2026-07-15', '09:00', 'Europe/Lisbon').toISOString(), '2026-07-15T08:00:00.000Z');
  });

  it('handles zones east and west of UTC and half-hour offsets', () => {
    assert.equal(localInstant('2026-03-02', '09:00', 'Asia/Kolkata').toISOString(), '2026-03-02T03:30:00.000Z');
    assert.equal(localInstant('2026-03-02', '09:00', 'America/Los_Angeles').toISOString(), '2026-03-02T17:00:00.000Z');
    assert.equal(localInstant('2026-03-02', '00:30:15', 'Pacific/Auckland').toISOString(), '2026-03-01T11:30:15.000Z');
  });

  it('resolves a local time skipped by a DST jump to a real instant after the jump', () => {
    // 2026-03-08 02:30 does not exist in New York (clocks go 02:00 -> 03:00).
    const t = localInstant('2026-03-08', '02:30', 'America/New_York');
    assert.equal(wallClock(t, 'America/New_York').date, '2026-03-08');
    assert.ok(t.getTime() >= Date.parse('2026-03-08T07:00:00Z'));
  });

  it('refuses a time that is not HH:MM', () => {
    assert.throws(() => localInstant('2026-01-01', '9am', 'UTC'), /not HH:MM/);
  });

  it('round-trips: the wall clock of localInstant(date, time) is that date and time (outside DST gaps)', () => {
    const zones = ['UTC', 'Europe/Lisbon', 'America/Sao_Paulo', 'Asia/Tokyo', 'Australia/Adelaide', 'America/New_York'];
    fc.assert(
      fc.property(
        fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2035-12-31T00:00:00Z'), noInvalidDate: true }),
        fc.constantFrom(...zones),
        (d, zone) => {
          const { date, time } = wallClock(d, zone);
          const back = localInstant(date, time, zone);
          // An ambiguous hour (DST fall-back) may resolve to the other occurrence: same wall clock either way.
          assert.deepEqual(wallClock(back, zone), { date, time });
        },
      ),
      { numRuns: 300 },
    );
  });
});
