/**
 * The payload-encryption key ring (DESIGN §5, ADR 0002): AES-256 keys by id, one of them active.
 * Key material never leaves this module in printable form: `KeyRing` serializes and inspects as ids only,
 * and every error names the variable and the key id, never the value.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';

/** AES-256: 32-byte keys. */
export const KEY_BYTES = 32;

export const KEYS_VAR = 'TENURE_CODEC_KEYS';
export const ACTIVE_KEY_VAR = 'TENURE_CODEC_ACTIVE_KEY';
export const KEY_FILE_VAR = 'TENURE_CODEC_KEY_FILE';

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HOW_TO_MAKE =
  'make a key with `openssl rand -base64 32` and set ' +
  `${KEYS_VAR}=k1:<that value> (several keys: "k2:<new>,k1:<old>", the first is active), ` +
  `or point ${KEY_FILE_VAR} at a JSON file {"active":"k1","keys":{"k1":"<that value>"}}`;

/** A configuration problem with the codec keys; the message says which variable and what to do. */
export class KeyConfigError extends Error {
  override readonly name = 'KeyConfigError';
}

/**
 * Keys by id, one active: encode with the active key, decode with any key in the ring (rotation).
 * Immutable; `withActive` gives a rotated copy.
 */
export class KeyRing {
  readonly #keys: ReadonlyMap<string, Buffer>;
  readonly activeKeyId: string;

  private constructor(keys: ReadonlyMap<string, Buffer>, activeKeyId: string) {
    this.#keys = keys;
    this.activeKeyId = activeKeyId;
  }

  /** Builds a ring from raw keys; `active` defaults to the first. Throws `KeyConfigError` on a bad key or id. */
  static fromKeys(entries: readonly { id: string; key: Uint8Array }[], active?: string, source = 'key ring'): KeyRing {
    if (entries.length === 0) throw new KeyConfigError(`${source}: no key given; ${HOW_TO_MAKE}`);
    const keys = new Map<string, Buffer>();
    for (const { id, key } of entries) {
      if (!KEY_ID.test(id)) {
        throw new KeyConfigError(
          `${source}: key id ${JSON.stringify(id.slice(0, 64))} may contain only letters, digits, ".", "_" and "-" (1-64 characters)`,
        );
      }
      if (keys.has(id)) throw new KeyConfigError(`${source}: key id "${id}" appears twice`);
      if (key.length !== KEY_BYTES) {
        throw new KeyConfigError(
          `${source}: key "${id}" is ${key.length} bytes, AES-256 needs ${KEY_BYTES}; ${HOW_TO_MAKE}`,
        );
      }
      keys.set(id, Buffer.from(key));
    }
    const activeKeyId = active ?? entries[0]?.id ?? '';
    if (!keys.has(activeKeyId)) {
      throw new KeyConfigError(
        `${source}: the active key "${activeKeyId}" is not in the ring (keys: ${[...keys.keys()].join(', ')})`,
      );
    }
    return new KeyRing(keys, activeKeyId);
  }

  /** Key ids in the ring, the active one first. */
  get keyIds(): string[] {
    return [this.activeKeyId, ...[...this.#keys.keys()].filter((id) => id !== this.activeKeyId)];
  }

  has(id: string): boolean {
    return this.#keys.has(id);
  }

  /** The key with this id, or undefined. */
  key(id: string): Buffer | undefined {
    return this.#keys.get(id);
  }

  /** The same keys with another one active (a rotation step). */
  withActive(id: string): KeyRing {
    if (!this.#keys.has(id)) {
      throw new KeyConfigError(`key ring: cannot activate "${id}": not in the ring (keys: ${this.keyIds.join(', ')})`);
    }
    return new KeyRing(this.#keys, id);
  }

  /** Ids only: a ring that ends up in a log line shows no key material. */
  toJSON(): { activeKeyId: string; keyIds: string[] } {
    return { activeKeyId: this.activeKeyId, keyIds: this.keyIds };
  }

  [inspect.custom](): string {
    return `KeyRing { active: ${this.activeKeyId}, keys: [${this.keyIds.join(', ')}] }`;
  }
}

/** A new random AES-256 key, base64 (what `openssl rand -base64 32` prints). For development and tests. */
export function generateKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

/**
 * Reads the key ring once, at process start, from the environment:
 * - `TENURE_CODEC_KEYS="k2:<base64>,k1:<base64>"` (first is active unless `TENURE_CODEC_ACTIVE_KEY` names one), or
 * - `TENURE_CODEC_KEY_FILE=/path/keys.json` with `{ "active": "k2", "keys": { "k2": "<base64>", "k1": "<base64>" } }`
 *   (`TENURE_CODEC_ACTIVE_KEY`, when set, overrides `active`).
 * Throws `KeyConfigError` naming the variable; the message never contains key material.
 */
export function loadKeyRing(env: NodeJS.ProcessEnv = process.env): KeyRing {
  const list = env[KEYS_VAR]?.trim();
  const file = env[KEY_FILE_VAR]?.trim();
  const active = env[ACTIVE_KEY_VAR]?.trim() || undefined;
  if (list && file) {
    throw new KeyConfigError(`both ${KEYS_VAR} and ${KEY_FILE_VAR} are set: set only one of them`);
  }
  if (list) return KeyRing.fromKeys(parseKeyList(list), active, activeSource(KEYS_VAR, active));
  if (file) return loadKeyFile(file, active);
  throw new KeyConfigError(`${KEYS_VAR} is not set: payload encryption needs a key; ${HOW_TO_MAKE}`);
}

function activeSource(variable: string, active: string | undefined): string {
  return active ? `${variable} (with ${ACTIVE_KEY_VAR}=${active})` : variable;
}

function parseKeyList(list: string): { id: string; key: Buffer }[] {
  return list.split(',').map((raw, i) => {
    const entry = raw.trim();
    const colon = entry.indexOf(':');
    // The entry is not echoed: it may be a bare key.
    if (colon <= 0)
      throw new KeyConfigError(`${KEYS_VAR}: entry ${i + 1} is not "<key id>:<base64 key>"; ${HOW_TO_MAKE}`);
    const id = entry.slice(0, colon).trim();
    return { id, key: decodeKey(entry.slice(colon + 1).trim(), `${KEYS_VAR}: key "${id}"`) };
  });
}

function loadKeyFile(path: string, activeOverride: string | undefined): KeyRing {
  const source = `${KEY_FILE_VAR} (${path})`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new KeyConfigError(`${source}: cannot read the key file (${code}); ${HOW_TO_MAKE}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The parser's message may quote the file (and so a key): say only what is wrong.
    throw new KeyConfigError(`${source}: not valid JSON; expected {"active":"k1","keys":{"k1":"<base64 key>"}}`);
  }
  if (!isRecord(parsed) || !isRecord(parsed.keys)) {
    throw new KeyConfigError(`${source}: expected an object {"active":"k1","keys":{"k1":"<base64 key>"}}`);
  }
  const entries = Object.entries(parsed.keys).map(([id, value]) => {
    if (typeof value !== 'string') throw new KeyConfigError(`${source}: key "${id}" must be a base64 string`);
    return { id, key: decodeKey(value.trim(), `${source}: key "${id}"`) };
  });
  const fileActive = parsed.active;
  if (fileActive !== undefined && typeof fileActive !== 'string') {
    throw new KeyConfigError(`${source}: "active" must be a key id string`);
  }
  if (fileActive === undefined && activeOverride === undefined && entries.length > 1) {
    throw new KeyConfigError(`${source}: "active" is missing; name the key to encrypt with`);
  }
  return KeyRing.fromKeys(entries, activeOverride ?? fileActive, activeSource(source, activeOverride));
}

function decodeKey(value: string, what: string): Buffer {
  if (!BASE64.test(value)) throw new KeyConfigError(`${what} is not base64; ${HOW_TO_MAKE}`);
  const key = Buffer.from(value, 'base64');
  if (key.length !== KEY_BYTES) {
    throw new KeyConfigError(`${what} is ${key.length} bytes, AES-256 needs ${KEY_BYTES}; ${HOW_TO_MAKE}`);
  }
  return key;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
