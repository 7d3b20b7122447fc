/**
 * Free text from HR systems (names, titles, departments, location names) goes on to identity providers, apps,
 * Slack messages, logs and terminals. Control characters there do harm: a newline forges a log line, an ANSI
 * escape rewrites a terminal, a bidi override (U+202E) shows a name backwards, a NUL truncates a C string.
 * Intake strips them before validation, so a value that was nothing but control characters is then refused as
 * empty, naming its field.
 */

/** Line breaks and tabs: a run of them becomes one space. */
const BREAKS = /[\t\n\v\f\r\u0085\u2028\u2029]+/g;
/**
 * Removed outright: the rest of C0 and C1 (with DEL), bidi embeddings, overrides and isolates, the zero-width
 * space and the byte-order mark. Zero-width (non-)joiners stay: scripts such as Persian and Devanagari need them.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u200b\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]/g;

/** The text without control characters: breaks become one space, the rest go, ends are trimmed. */
export function stripControlCharacters(text: string): string {
  return text.replace(BREAKS, ' ').replace(INVISIBLE, '').replace(/ {2,}/g, ' ').trim();
}

/** True when the text holds a character `stripControlCharacters` would change (ends' spaces aside). */
export function hasControlCharacters(text: string): boolean {
  return new RegExp(BREAKS.source).test(text) || new RegExp(INVISIBLE.source).test(text);
}

/** The record's fields of free text that reach other systems. */
export const FREE_TEXT_FIELDS = [
  'legalFirstName',
  'legalLastName',
  'preferredFirstName',
  'preferredLastName',
  'department',
  'title',
] as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * An unvalidated record (parsed JSON, a CSV row, a BambooHR employee) with control characters stripped from its
 * free text (names, title, department, location name). Anything that is not a string is left for the schema to
 * refuse. Returns a copy; the input is not changed.
 */
export function cleanRecordText<T>(candidate: T): T {
  if (!isObject(candidate)) return candidate;
  const out: Record<string, unknown> = { ...candidate };
  for (const field of FREE_TEXT_FIELDS) {
    const v = out[field];
    if (typeof v === 'string') out[field] = stripControlCharacters(v);
  }
  const location = out.location;
  if (isObject(location) && typeof location.name === 'string') {
    out.location = { ...location, name: stripControlCharacters(location.name) };
  }
  return out as T;
}

/** The same for an event body `{ eventId, kind, record }`. */
export function cleanEventText<T>(candidate: T): T {
  if (!isObject(candidate) || !('record' in candidate)) return candidate;
  return { ...candidate, record: cleanRecordText(candidate.record) };
}
