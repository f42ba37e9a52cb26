import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { CredentialKeyring } from '../tools/credentials.js';

/** The `encoding` of a payload this codec sealed; the key that sealed it is named in `encryption-key-id`. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A payload names a key id this process does not have, or its ciphertext does not open (wrong key, altered bytes). */
export class PayloadDecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadDecryptionError';
  }
}

/**
 * AES-256-GCM over the whole serialized payload (metadata and data), as Temporal's encryption samples do in
 * every language, so the stored payload shows neither the value nor its type. New payloads are sealed with the
 * keyring's active key; any key of the ring opens what it sealed, so a key rotates by adding the new one as
 * active and keeping the old one until no history that needs it is retained. Payloads without this codec's
 * encoding (histories written before encryption was on) pass through unchanged.
 */
export class AesGcmPayloadCodec implements PayloadCodec {
  constructor(private readonly ring: CredentialKeyring) {}

  get activeKeyId(): string {
    return this.ring.activeKeyId;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.seal(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.open(payload));
  }

  private seal(payload: Payload): Payload {
    const key = this.ring.keys.get(this.ring.activeKeyId)!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: { [METADATA_ENCODING_KEY]: encoder.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: encoder.encode(this.ring.activeKeyId) },
      data,
    };
  }

  private open(payload: Payload): Payload {
    const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
    if (!encoding || decoder.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
    const keyIdBytes = payload.metadata?.[KEY_ID_METADATA];
    const keyId = keyIdBytes ? decoder.decode(keyIdBytes) : '';
    const key = this.ring.keys.get(keyId);
    if (!key) throw new PayloadDecryptionError(`payload sealed with key "${keyId.slice(0, 32)}", which is not configured`);
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadDecryptionError('encrypted payload is too short');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      const inner = temporal.api.common.v1.Payload.decode(plain);
      return { metadata: inner.metadata, data: inner.data };
    } catch {
      throw new PayloadDecryptionError(`payload sealed with key "${keyId}" does not open: altered, or a different key under that id`);
    }
  }
}
