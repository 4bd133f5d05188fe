// Encryption as memberlist does it (docs/behaviour/memberlist-wire.md#keys, docs/behaviour/memberlist-wire.md#encryption): AES-GCM with a 12-byte random nonce and a
// 16-byte tag, `[vsn][nonce][ciphertext][tag]`; version 1 plain, version 0 PKCS#7-padded. The
// keyring's first key encrypts; decryption tries every key in order.

import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { MemberlistDecodeError } from './errors.js';

const NONCE_SIZE = 12;
const TAG_SIZE = 16;
const BLOCK_SIZE = 16;
/** Bytes encryption adds with version 1 (1 + 12 + 16). */
export const ENCRYPTION_OVERHEAD = 1 + NONCE_SIZE + TAG_SIZE;

export type EncryptionVersion = 0 | 1;

/**
 * The AES key MetalLB v0.9-v0.13 derives from the `memberlist` Secret: the first `size` bytes of
 * (secret ‖ SHA-256("")), i.e. SHA-256's append-digest onto the secret bytes (docs/behaviour/memberlist-wire.md#key-derivation).
 * Not a hash of the secret: for secrets of 16+ bytes it is the secret's first 16 bytes.
 */
export function deriveSecretKey(secret: Uint8Array, size: 16 | 32 = 16): Buffer {
  const emptyDigest = createHash('sha256').digest();
  return Buffer.concat([Buffer.from(secret), emptyDigest]).subarray(0, size);
}

function cipherName(key: Uint8Array): 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm' {
  if (key.length === 16) return 'aes-128-gcm';
  if (key.length === 24) return 'aes-192-gcm';
  if (key.length === 32) return 'aes-256-gcm';
  throw new RangeError(`memberlist key must be 16, 24 or 32 bytes, got ${key.length}`);
}

/** An ordered set of keys; index 0 (the primary) encrypts. */
export class Keyring {
  readonly keys: readonly Buffer[];

  constructor(keys: readonly Uint8Array[]) {
    if (keys.length === 0) throw new RangeError('a keyring needs at least one key');
    for (const k of keys) cipherName(k);
    this.keys = keys.map((k) => Buffer.from(k));
  }

  get primary(): Buffer {
    return this.keys[0]!;
  }
}

/** Encrypts `plaintext`; `nonce` is random unless given (tests use fixed nonces). */
export function encryptPayload(
  version: EncryptionVersion,
  key: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array | null,
  nonce: Uint8Array = randomBytes(NONCE_SIZE),
): Buffer {
  if (nonce.length !== NONCE_SIZE) throw new RangeError(`nonce must be ${NONCE_SIZE} bytes`);
  let body = Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.length);
  if (version === 0) {
    const pad = BLOCK_SIZE - (plaintext.length % BLOCK_SIZE);
    body = Buffer.concat([body, Buffer.alloc(pad, pad)]);
  }
  const cipher = createCipheriv(cipherName(key), key, nonce);
  if (aad !== null && aad.length > 0) cipher.setAAD(aad);
  const ct = Buffer.concat([cipher.update(body), cipher.final()]);
  return Buffer.concat([Buffer.from([version]), nonce, ct, cipher.getAuthTag()]);
}

/** Decrypts with the first key that authenticates; throws a 'decrypt' error when none does. */
export function decryptPayload(keys: readonly Uint8Array[], msg: Uint8Array, aad: Uint8Array | null, base = 0): Buffer {
  if (msg.length < 1) throw new MemberlistDecodeError('truncated', 'encrypted payload is empty', base);
  const version = msg[0]!;
  if (version > 1) throw new MemberlistDecodeError('decrypt', `unsupported encryption version ${version}`, base);
  const min = version === 0 ? ENCRYPTION_OVERHEAD + BLOCK_SIZE : ENCRYPTION_OVERHEAD;
  if (msg.length < min) throw new MemberlistDecodeError('decrypt', `encrypted payload of ${msg.length} bytes is shorter than ${min}`, base);
  const nonce = msg.subarray(1, 1 + NONCE_SIZE);
  const ct = msg.subarray(1 + NONCE_SIZE, msg.length - TAG_SIZE);
  const tag = msg.subarray(msg.length - TAG_SIZE);
  for (const key of keys) {
    try {
      const d = createDecipheriv(cipherName(key), key, nonce);
      if (aad !== null && aad.length > 0) d.setAAD(aad);
      d.setAuthTag(tag);
      const plain = Buffer.concat([d.update(ct), d.final()]);
      if (version === 0) {
        const pad = plain.length > 0 ? plain[plain.length - 1]! : 0;
        if (pad > plain.length) throw new MemberlistDecodeError('decrypt', `padding ${pad} exceeds payload`, base);
        return plain.subarray(0, plain.length - pad);
      }
      return plain;
    } catch (err) {
      if (err instanceof MemberlistDecodeError) throw err;
      /* authentication failed with this key: try the next */
    }
  }
  throw new MemberlistDecodeError('decrypt', 'no installed key could decrypt the payload', base);
}
