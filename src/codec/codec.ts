/**
 * Payload encryption (DESIGN §5, ADR 0002): a Temporal `PayloadCodec` doing AES-256-GCM.
 *
 * Each payload is serialized whole (metadata and data, as the `temporal.api.common.v1.Payload` protobuf) and
 * encrypted with the ring's active key and a random 12-byte IV. The stored payload is
 * `metadata { encoding: "binary/encrypted", encryption-key-id: <id> }`, `data = IV ‖ ciphertext ‖ 16-byte tag`,
 * the layout Temporal's encryption samples use, so codecs in other languages can read it.
 * Decoding picks the key by the id in the metadata, so old payloads stay readable after a rotation;
 * payloads that are not encrypted pass through unchanged.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { METADATA_ENCODING_KEY } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { KeyRing } from './keys';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA_KEY = 'encryption-key-id';

const CIPHER = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** A payload that cannot be decrypted; the message names the key id and never the contents. */
export class PayloadDecryptionError extends Error {
  override readonly name = 'PayloadDecryptionError';
  constructor(
    message: string,
    /** The key id in the payload's metadata, if it had one. */
    readonly keyId: string | undefined,
    /** Why: the key is not in this ring, the payload is malformed, or it failed authentication. */
    readonly reason: 'unknown_key' | 'malformed' | 'authentication_failed',
  ) {
    super(message);
  }
}

export class AesGcmCodec implements PayloadCodec {
  constructor(private readonly keyRing: KeyRing) {}

  /** Key ids this codec can decrypt, the active one first. */
  get keyIds(): string[] {
    return this.keyRing.keyIds;
  }

  get activeKeyId(): string {
    return this.keyRing.activeKeyId;
  }

  // Errors reject the promise (never throw synchronously), as callers of a PayloadCodec expect.
  encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve().then(() => payloads.map((p) => this.encrypt(p)));
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve().then(() => payloads.map((p) => this.decryptOne(p)));
  }

  /** True when the payload carries this codec's encoding. */
  static isEncrypted(p: Payload): boolean {
    const enc = p.metadata?.[METADATA_ENCODING_KEY];
    return enc !== undefined && enc !== null && fromUtf8.decode(enc) === ENCRYPTED_ENCODING;
  }

  /** The key id a payload was encrypted with (undefined for a payload that is not encrypted). */
  static keyIdOf(p: Payload): string | undefined {
    const id = p.metadata?.[KEY_ID_METADATA_KEY];
    return AesGcmCodec.isEncrypted(p) && id ? fromUtf8.decode(id) : undefined;
  }

  private encrypt(payload: Payload): Payload {
    const keyId = this.keyRing.activeKeyId;
    const key = this.keyRing.key(keyId);
    if (!key) throw new Error(`codec: active key "${keyId}" is missing from the key ring`);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(CIPHER, key, iv);
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    const body = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        [METADATA_ENCODING_KEY]: utf8.encode(ENCRYPTED_ENCODING),
        [KEY_ID_METADATA_KEY]: utf8.encode(keyId),
      },
      data: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
    };
  }

  private decryptOne(payload: Payload): Payload {
    if (!AesGcmCodec.isEncrypted(payload)) return payload;
    const idBytes = payload.metadata?.[KEY_ID_METADATA_KEY];
    if (!idBytes) {
      throw new PayloadDecryptionError(
        `cannot decrypt payload: it is "${ENCRYPTED_ENCODING}" but has no "${KEY_ID_METADATA_KEY}" metadata`,
        undefined,
        'malformed',
      );
    }
    const keyId = fromUtf8.decode(idBytes);
    const key = this.keyRing.key(keyId);
    if (!key) {
      throw new PayloadDecryptionError(
        `cannot decrypt payload: it was encrypted with key "${keyId}", which is not in this key ring ` +
          `(keys: ${this.keyRing.keyIds.join(', ')}); add "${keyId}" to TENURE_CODEC_KEYS (or the key file) to read it`,
        keyId,
        'unknown_key',
      );
    }
    const data = payload.data ?? new Uint8Array(0);
    if (data.length < IV_BYTES + TAG_BYTES) {
      throw new PayloadDecryptionError(
        `cannot decrypt payload (key "${keyId}"): ${data.length} bytes is too short to be AES-GCM output`,
        keyId,
        'malformed',
      );
    }
    const iv = data.subarray(0, IV_BYTES);
    const tag = data.subarray(data.length - TAG_BYTES);
    const ciphertext = data.subarray(IV_BYTES, data.length - TAG_BYTES);
    let plain: Buffer;
    try {
      const decipher = createDecipheriv(CIPHER, key, iv);
      decipher.setAuthTag(tag);
      plain = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    } catch {
      throw new PayloadDecryptionError(
        `cannot decrypt payload (key "${keyId}"): authentication failed — the payload was altered, ` +
          `or key "${keyId}" in this ring is not the key it was encrypted with`,
        keyId,
        'authentication_failed',
      );
    }
    try {
      return temporal.api.common.v1.Payload.decode(plain);
    } catch {
      throw new PayloadDecryptionError(
        `cannot decrypt payload (key "${keyId}"): the decrypted bytes are not a Temporal payload`,
        keyId,
        'malformed',
      );
    }
  }
}

/**
 * The data converter for every Temporal client and worker of Tenure:
 * `new Client({ connection, dataConverter: dataConverter(ring) })`,
 * `Worker.create({ ..., dataConverter: dataConverter(ring) })`.
 */
export function dataConverter(keyRing: KeyRing): DataConverter & { payloadCodecs: [AesGcmCodec] } {
  return { payloadCodecs: [new AesGcmCodec(keyRing)], failureConverterPath: FAILURE_CONVERTER_PATH };
}

/** The failure converter that encodes messages and stack traces (see failure-converter.ts); bundle it too. */
export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');
