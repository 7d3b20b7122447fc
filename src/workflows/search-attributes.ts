/**
 * Tenure's typed search attributes (DESIGN §5). They are not encrypted: never put personal data here.
 * Registered on the dev server by `npm start` and the test harness (see `searchAttributeFlags`).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const EMPLOYEE_ID = defineSearchAttributeKey('TenureEmployeeId', SearchAttributeType.KEYWORD);
export const EVENT_KIND = defineSearchAttributeKey('TenureEventKind', SearchAttributeType.KEYWORD);
export const STAGE = defineSearchAttributeKey('TenureStage', SearchAttributeType.KEYWORD);
export const WAITING_ON = defineSearchAttributeKey('TenureWaitingOn', SearchAttributeType.KEYWORD);
export const EFFECTIVE_AT = defineSearchAttributeKey('TenureEffectiveAt', SearchAttributeType.DATETIME);
export const DEPARTMENT = defineSearchAttributeKey('TenureDepartment', SearchAttributeType.KEYWORD);

export const TENURE_SEARCH_ATTRIBUTES = [EMPLOYEE_ID, EVENT_KIND, STAGE, WAITING_ON, EFFECTIVE_AT, DEPARTMENT];

const CLI_TYPE: Record<string, string> = {
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.DATETIME]: 'Datetime',
};

/** `--search-attribute NAME=Type` pairs for `temporal server start-dev` / `operator search-attribute create`. */
export function searchAttributeFlags(): string[] {
  return TENURE_SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=${CLI_TYPE[k.type] ?? 'Keyword'}`]);
}

/** The longest department kept as it is in `TenureDepartment`, in UTF-8 bytes. */
export const DEPARTMENT_KEY_MAX_BYTES = 64;
/** Keyword values Tenure sets are cut to this many UTF-8 bytes (the server refuses, and terminates, past 2,048). */
export const KEYWORD_MAX_BYTES = 256;

/**
 * The `TenureDepartment` value of a department: the department itself when it is short printable text (so
 * `TenureDepartment = "Engineering"` works), otherwise a bounded key derived from it — the printable prefix, `~`, and
 * eight hex digits of an FNV-1a hash of the whole name — so two long departments that share a prefix stay apart.
 * Never longer than `DEPARTMENT_KEY_MAX_BYTES`, whatever the input. Pure and deterministic (used in workflow code).
 */
export function departmentKey(department: string): string {
  if (isPrintable(department) && utf8Length(department) <= DEPARTMENT_KEY_MAX_BYTES && department.trim() !== '') {
    return department;
  }
  const suffix = `~${fnv1a(department)}`;
  const printable = department.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, '').trim();
  return `${cutToBytes(printable, DEPARTMENT_KEY_MAX_BYTES - suffix.length)}${suffix}`;
}

/** A keyword value cut to `KEYWORD_MAX_BYTES` UTF-8 bytes on a character boundary. */
export function boundedKeyword(value: string, maxBytes = KEYWORD_MAX_BYTES): string {
  return utf8Length(value) <= maxBytes ? value : cutToBytes(value, maxBytes);
}

function isPrintable(s: string): boolean {
  return !/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u.test(s);
}

function charBytes(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

export function utf8Length(s: string): number {
  let n = 0;
  for (const ch of s) n += charBytes(ch.codePointAt(0) ?? 0);
  return n;
}

function cutToBytes(s: string, maxBytes: number): string {
  let n = 0;
  let out = '';
  for (const ch of s) {
    const b = charBytes(ch.codePointAt(0) ?? 0);
    if (n + b > maxBytes) break;
    n += b;
    out += ch;
  }
  return out;
}

/** FNV-1a (32 bit) over the UTF-16 code units, as eight hex digits. */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}
