import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import type { Payload } from '@temporalio/common';
import { defaultPayloadConverter } from '@temporalio/common';
import {
  AesGcmCodec,
  dataConverter,
  ENCRYPTED_ENCODING,
  generateKey,
  KEY_ID_METADATA_KEY,
  KeyConfigError,
  KeyRing,
  loadKeyRing,
  PayloadDecryptionError,
} from '../../src/codec';

const text = (b: Uint8Array | null | undefined): string => new TextDecoder().decode(b ?? new Uint8Array(0));
const person = { legalFirstName: 'Zephyrine', workEmail: 'zephyrine.quill@acme.example', hrId: 'E123' };
const toPayload = (v: unknown): Payload => defaultPayloadConverter.toPayload(v);
const fromPayload = (p: Payload | undefined): unknown => {
  assert.ok(p, 'a payload');
  return defaultPayloadConverter.fromPayload(p);
};

function ring(...ids: string[]): { ring: KeyRing; keys: Record<string, string> } {
  const keys = Object.fromEntries(ids.map((id) => [id, generateKey()]));
  return {
    ring: KeyRing.fromKeys(ids.map((id) => ({ id, key: Buffer.from(keys[id] ?? '', 'base64') }))),
    keys,
  };
}

describe('payload codec: AES-256-GCM', () => {
  it('round-trips payloads, and the stored form shows neither the value nor the original encoding', async () => {
    const { ring: r } = ring('k1');
    const codec = new AesGcmCodec(r);
    const plain = [toPayload(person), toPayload('second'), toPayload(undefined)];
    const encoded = await codec.encode(plain);
    assert.equal(encoded.length, 3);
    for (const p of encoded) {
      assert.equal(text(p.metadata?.encoding), ENCRYPTED_ENCODING);
      assert.equal(text(p.metadata?.[KEY_ID_METADATA_KEY]), 'k1');
      assert.deepEqual(Object.keys(p.metadata ?? {}).sort(), ['encoding', KEY_ID_METADATA_KEY].sort());
      const raw = Buffer.from(p.data ?? []);
      for (const needle of ['Zephyrine', 'zephyrine.quill', 'json/plain', 'second']) {
        assert.ok(!raw.includes(needle), `ciphertext must not contain "${needle}"`);
      }
    }
    const decoded = await codec.decode(encoded);
    assert.deepEqual(fromPayload(decoded[0]), person);
    assert.equal(fromPayload(decoded[1]), 'second');
    assert.equal(fromPayload(decoded[2]), undefined);
    assert.equal(text(decoded[0]?.metadata?.encoding), 'json/plain');
    assert.deepEqual(await codec.encode([]), []);
  });

  it('uses a fresh IV for every payload: the same value encrypts differently each time', async () => {
    const codec = new AesGcmCodec(ring('k1').ring);
    const [a, b] = await codec.encode([toPayload(person), toPayload(person)]);
    assert.ok(a?.data && b?.data);
    assert.notDeepEqual(Buffer.from(a.data), Buffer.from(b.data));
    assert.notDeepEqual(Buffer.from(a.data).subarray(0, 12), Buffer.from(b.data).subarray(0, 12), 'IVs differ');
    assert.equal(a.data.length, b.data.length);
  });

  it('refuses a tampered payload (any flipped byte: IV, ciphertext or tag) with an authentication error', async () => {
    const codec = new AesGcmCodec(ring('k1').ring);
    const [p] = await codec.encode([toPayload(person)]);
    assert.ok(p?.data);
    const length = p.data.length;
    for (const at of [0, 11, 12, Math.floor(length / 2), length - 17, length - 1]) {
      const data = Uint8Array.from(p.data);
      data[at] = (data[at] ?? 0) ^ 0x01;
      await assert.rejects(codec.decode([{ ...p, data }]), (err: unknown) => {
        assert.ok(err instanceof PayloadDecryptionError, String(err));
        assert.equal(err.reason, 'authentication_failed');
        assert.equal(err.keyId, 'k1');
        assert.match(err.message, /authentication failed/);
        assert.ok(!err.message.includes('Zephyrine'));
        return true;
      });
    }
    await assert.rejects(codec.decode([{ ...p, data: p.data.subarray(0, 20) }]), /too short/);
  });

  it('refuses a payload encrypted under the same id with a different key (wrong key, not tampering)', async () => {
    const [p] = await new AesGcmCodec(ring('k1').ring).encode([toPayload(person)]);
    assert.ok(p);
    await assert.rejects(new AesGcmCodec(ring('k1').ring).decode([p]), /authentication failed/);
  });

  it('rotation: encodes with the active key and decodes with any key in the ring', async () => {
    const k1 = generateKey();
    const k2 = generateKey();
    const before = new AesGcmCodec(KeyRing.fromKeys([{ id: 'k1', key: Buffer.from(k1, 'base64') }]));
    const [old] = await before.encode([toPayload(person)]);
    assert.ok(old);
    assert.equal(text(old.metadata?.[KEY_ID_METADATA_KEY]), 'k1');

    // Rotate the way an operator does: the new key first in TENURE_CODEC_KEYS, the old one kept for reading.
    const rotated = loadKeyRing({ TENURE_CODEC_KEYS: `k2:${k2},k1:${k1}` });
    assert.equal(rotated.activeKeyId, 'k2');
    assert.deepEqual(rotated.keyIds, ['k2', 'k1']);
    const after = new AesGcmCodec(rotated);
    assert.deepEqual(fromPayload((await after.decode([old]))[0]), person, 'old payloads stay readable');
    const [fresh] = await after.encode([toPayload(person)]);
    assert.ok(fresh);
    assert.equal(text(fresh.metadata?.[KEY_ID_METADATA_KEY]), 'k2', 'new payloads use the new key');
    assert.deepEqual(fromPayload((await after.decode([fresh]))[0]), person);
    // withActive is the same rotation in code.
    assert.equal(rotated.withActive('k1').activeKeyId, 'k1');
    assert.throws(() => rotated.withActive('k9'), /"k9".*not in the ring/);

    // Once k1 is retired, its payloads name the missing key.
    const retired = new AesGcmCodec(loadKeyRing({ TENURE_CODEC_KEYS: `k2:${k2}` }));
    await assert.rejects(retired.decode([old]), (err: unknown) => {
      assert.ok(err instanceof PayloadDecryptionError);
      assert.equal(err.reason, 'unknown_key');
      assert.equal(err.keyId, 'k1');
      assert.match(err.message, /encrypted with key "k1", which is not in this key ring \(keys: k2\)/);
      return true;
    });
  });

  it('passes payloads that are not encrypted through decode unchanged', async () => {
    const codec = new AesGcmCodec(ring('k1').ring);
    const plain = [toPayload(person), toPayload(null), { metadata: {}, data: new Uint8Array([1, 2]) }, {}];
    const out = await codec.decode(plain);
    assert.equal(out.length, plain.length);
    out.forEach((p, i) => assert.equal(p, plain[i]));
    assert.equal(AesGcmCodec.keyIdOf(plain[0] ?? {}), undefined);
  });

  it('refuses an encrypted payload without a key id', async () => {
    const codec = new AesGcmCodec(ring('k1').ring);
    const [p] = await codec.encode([toPayload(person)]);
    assert.ok(p);
    const metadata = { encoding: p.metadata?.encoding ?? new Uint8Array(0) };
    await assert.rejects(codec.decode([{ metadata, data: p.data }]), /no "encryption-key-id" metadata/);
  });

  it('dataConverter() carries the codec for Client and Worker options', async () => {
    const { ring: r } = ring('k1');
    const dc = dataConverter(r);
    assert.equal(dc.payloadCodecs.length, 1);
    const [codec] = dc.payloadCodecs;
    assert.ok(codec instanceof AesGcmCodec);
    assert.equal(codec.activeKeyId, 'k1');
    const [p] = await codec.encode([toPayload(1)]);
    assert.equal(p && AesGcmCodec.keyIdOf(p), 'k1');
  });
});

describe('payload codec: key loading', () => {
  const k1 = generateKey();
  const k2 = generateKey();

  it('generateKey() makes a base64 32-byte key, different each time', () => {
    assert.equal(Buffer.from(k1, 'base64').length, 32);
    assert.match(k1, /^[A-Za-z0-9+/]{43}=$/);
    assert.notEqual(k1, k2);
  });

  it('reads TENURE_CODEC_KEYS: first is active, TENURE_CODEC_ACTIVE_KEY chooses another', () => {
    const r = loadKeyRing({ TENURE_CODEC_KEYS: ` k2:${k2} , k1:${k1} ` });
    assert.equal(r.activeKeyId, 'k2');
    assert.ok(r.has('k1') && r.has('k2'));
    assert.deepEqual(r.key('k1'), Buffer.from(k1, 'base64'));
    const chosen = loadKeyRing({ TENURE_CODEC_KEYS: `k2:${k2},k1:${k1}`, TENURE_CODEC_ACTIVE_KEY: 'k1' });
    assert.equal(chosen.activeKeyId, 'k1');
    assert.deepEqual(chosen.keyIds, ['k1', 'k2']);
  });

  it('reads TENURE_CODEC_KEY_FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tenure-keys-'));
    try {
      const file = join(dir, 'keys.json');
      writeFileSync(file, JSON.stringify({ active: 'k2', keys: { k1, k2 } }));
      const r = loadKeyRing({ TENURE_CODEC_KEY_FILE: file });
      assert.equal(r.activeKeyId, 'k2');
      assert.deepEqual(r.keyIds, ['k2', 'k1']);
      assert.equal(loadKeyRing({ TENURE_CODEC_KEY_FILE: file, TENURE_CODEC_ACTIVE_KEY: 'k1' }).activeKeyId, 'k1');

      writeFileSync(file, JSON.stringify({ keys: { k1 } }));
      assert.equal(loadKeyRing({ TENURE_CODEC_KEY_FILE: file }).activeKeyId, 'k1', 'one key needs no "active"');

      const cases: [string, RegExp][] = [
        [JSON.stringify({ keys: { k1, k2 } }), /TENURE_CODEC_KEY_FILE .*"active" is missing/],
        [
          JSON.stringify({ active: 'k3', keys: { k1, k2 } }),
          /TENURE_CODEC_KEY_FILE .*active key "k3" is not in the ring/,
        ],
        [`{"active":"k1","keys":{"k1":"${k1}"`, /TENURE_CODEC_KEY_FILE .*not valid JSON/],
        [JSON.stringify({ active: 'k1', k1 }), /TENURE_CODEC_KEY_FILE .*expected an object/],
        [JSON.stringify({ active: 'k1', keys: { k1: 'c2hvcnQ=' } }), /TENURE_CODEC_KEY_FILE .*key "k1" is 5 bytes/],
        [
          JSON.stringify({ active: 'k1', keys: { k1: 42 } }),
          /TENURE_CODEC_KEY_FILE .*key "k1" must be a base64 string/,
        ],
      ];
      for (const [content, expected] of cases) {
        writeFileSync(file, content);
        assertKeyError(() => loadKeyRing({ TENURE_CODEC_KEY_FILE: file }), expected);
      }
      assertKeyError(
        () => loadKeyRing({ TENURE_CODEC_KEY_FILE: join(dir, 'missing.json') }),
        /TENURE_CODEC_KEY_FILE .*missing\.json.*cannot read the key file \(ENOENT\).*openssl rand -base64 32/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops start-up with a message naming the variable and how to make a key, never the key', () => {
    const bad = randomBytes(16).toString('base64'); // 16 bytes: AES-128 size, not accepted
    const cases: [NodeJS.ProcessEnv, RegExp][] = [
      [{}, /TENURE_CODEC_KEYS is not set.*openssl rand -base64 32.*TENURE_CODEC_KEY_FILE/],
      [{ TENURE_CODEC_KEYS: '   ' }, /TENURE_CODEC_KEYS is not set/],
      [{ TENURE_CODEC_KEYS: k1 }, /TENURE_CODEC_KEYS: entry 1 is not "<key id>:<base64 key>".*openssl rand -base64 32/],
      [{ TENURE_CODEC_KEYS: `k1:${k1},${k2}` }, /TENURE_CODEC_KEYS: entry 2 is not/],
      [{ TENURE_CODEC_KEYS: `k1:${bad}` }, /TENURE_CODEC_KEYS: key "k1" is 16 bytes, AES-256 needs 32.*openssl rand/],
      [{ TENURE_CODEC_KEYS: 'k1:not base64!' }, /TENURE_CODEC_KEYS: key "k1" is not base64/],
      [{ TENURE_CODEC_KEYS: `k1:${k1},k1:${k2}` }, /TENURE_CODEC_KEYS: key id "k1" appears twice/],
      [{ TENURE_CODEC_KEYS: `bad id:${k1}` }, /TENURE_CODEC_KEYS: key id "bad id" may contain only/],
      [
        { TENURE_CODEC_KEYS: `k1:${k1}`, TENURE_CODEC_ACTIVE_KEY: 'k7' },
        /TENURE_CODEC_KEYS \(with TENURE_CODEC_ACTIVE_KEY=k7\): the active key "k7" is not in the ring \(keys: k1\)/,
      ],
      [
        { TENURE_CODEC_KEYS: `k1:${k1}`, TENURE_CODEC_KEY_FILE: '/x.json' },
        /both TENURE_CODEC_KEYS and TENURE_CODEC_KEY_FILE are set/,
      ],
    ];
    for (const [env, expected] of cases) {
      const err = assertKeyError(() => loadKeyRing(env), expected);
      for (const secret of [k1, k2, bad]) assert.ok(!err.message.includes(secret), 'no key material in the message');
    }
  });

  it('shows key ids only when a ring is logged or inspected', () => {
    const r = loadKeyRing({ TENURE_CODEC_KEYS: `k2:${k2},k1:${k1}` });
    const shown = [JSON.stringify(r), inspect(r), String(inspect({ nested: r }, { depth: 5 }))];
    for (const s of shown) {
      assert.match(s, /k2/);
      for (const key of [k1, k2]) {
        assert.ok(!s.includes(key), `no key in ${s}`);
        assert.ok(!s.includes(Buffer.from(key, 'base64').toString('hex')), `no hex key in ${s}`);
      }
    }
    assert.deepEqual(JSON.parse(JSON.stringify(r)), { activeKeyId: 'k2', keyIds: ['k2', 'k1'] });
  });
});

function assertKeyError(fn: () => unknown, expected: RegExp): KeyConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof KeyConfigError, `expected a KeyConfigError, got ${String(err)}`);
    assert.match(err.message, expected);
    return err;
  }
  assert.fail(`expected an error matching ${String(expected)}`);
}
