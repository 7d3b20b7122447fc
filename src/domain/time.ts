/**
 * Calendar dates and wall-clock times in a person's time zone, turned into instants.
 * Pure code: used by intake and activities, never inside workflow code.
 */

const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$/;

/** One formatter per time zone: building an `Intl.DateTimeFormat` costs far more than using one. */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Offset of `timeZone` from UTC at `instant`, in minutes (positive east of Greenwich). */
export function zoneOffsetMinutes(instant: Date, timeZone: string): number {
  const parts = formatterFor(timeZone).formatToParts(instant);
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((asUtc - Math.floor(instant.getTime() / 1000) * 1000) / 60000);
}

/**
 * The instant at which the wall clock in `timeZone` shows `date` at `time` ("HH:MM" or "HH:MM:SS").
 * A local time skipped by a DST jump (clocks go forward) is moved forward by the length of the gap — 02:30 on the
 * night New York jumps from 02:00 to 03:00 is 03:30 — as the wall clock would read had it not jumped (the offset in
 * force before the jump). A local time that occurs twice (clocks go back) is its first occurrence. docs/architecture.md
 * ("Time") says the same.
 */
export function localInstant(date: string, time: string, timeZone: string): Date {
  const m = HH_MM.exec(time);
  if (!m) throw new RangeError(`time "${time}" is not HH:MM or HH:MM:SS`);
  const [y, mo, d] = date.split('-').map(Number) as [number, number, number];
  const wall = Date.UTC(y, mo - 1, d, Number(m[1]), Number(m[2]), Number(m[3] ?? 0));
  const want = `${date} ${time.length === 5 ? `${time}:00` : time}`;
  // The zone's offsets a day either side bound the offsets that can apply at this wall-clock time.
  const offsets = new Set([-1, 0, 1].map((days) => zoneOffsetMinutes(new Date(wall + days * 86_400_000), timeZone)));
  const candidates = [...offsets].map((o) => wall - o * 60000).sort((a, b) => a - b);
  const matching = candidates.filter((c) => {
    const w = wallClock(new Date(c), timeZone);
    return `${w.date} ${w.time}` === want;
  });
  // Ambiguous (clocks went back): the first occurrence. Skipped (clocks went forward): the pre-jump offset, so the
  // wall time moves forward by the gap.
  return new Date(matching[0] ?? candidates[candidates.length - 1] ?? wall);
}

/** The calendar date and wall-clock time that `instant` shows in `timeZone`. */
export function wallClock(instant: Date, timeZone: string): { date: string; time: string } {
  const shifted = new Date(Math.floor(instant.getTime() / 1000) * 1000 + zoneOffsetMinutes(instant, timeZone) * 60000);
  const iso = shifted.toISOString();
  return { date: iso.slice(0, 10), time: iso.slice(11, 19) };
}

export function isTimeOfDay(value: string): boolean {
  return HH_MM.test(value);
}

/** The calendar date `days` after (or before, if negative) `date`. */
export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}
