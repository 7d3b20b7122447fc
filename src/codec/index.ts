/** Payload encryption: the AES-256-GCM codec, its key ring, and the data converter for clients and workers. */
export {
  AesGcmCodec,
  dataConverter,
  FAILURE_CONVERTER_PATH,
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA_KEY,
  PayloadDecryptionError,
} from './codec';
export {
  ACTIVE_KEY_VAR,
  generateKey,
  KEY_BYTES,
  KEY_FILE_VAR,
  KeyConfigError,
  KeyRing,
  KEYS_VAR,
  loadKeyRing,
} from './keys';
