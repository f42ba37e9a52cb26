import { existsSync } from 'node:fs';
import path from 'node:path';
import type { DataConverter } from '@temporalio/common';
import type { Config } from '../config.js';
import { parseKeyring } from '../tools/credentials.js';
import { AesGcmPayloadCodec } from './payload-codec.js';

/** `failure-converter` next to this file: `.js` when built into dist/, `.ts` when run from source. */
export const failureConverterPath =
  ['.js', '.ts'].map((ext) => path.join(__dirname, `failure-converter${ext}`)).find((p) => existsSync(p)) ??
  path.join(__dirname, 'failure-converter.ts');

/** TEMPORAL_PAYLOAD_ENCRYPTION=on without keys: the process stops instead of writing plaintext histories. */
export class PayloadKeysMissingError extends Error {
  constructor() {
    super(
      'TEMPORAL_PAYLOAD_KEYS is not set: workflow histories would hold prompts, messages and answers in plaintext. ' +
        'Set TEMPORAL_PAYLOAD_KEYS=k1:$(openssl rand -base64 32) (the same keys on every gateway and worker), ' +
        'or TEMPORAL_PAYLOAD_ENCRYPTION=off to store payloads unencrypted on purpose.',
    );
    this.name = 'PayloadKeysMissingError';
  }
}

/** The codec of TEMPORAL_PAYLOAD_KEYS; null when TEMPORAL_PAYLOAD_ENCRYPTION=off. Throws when keys are missing. */
export function payloadCodecFromConfig(config: Config): AesGcmPayloadCodec | null {
  if (config.TEMPORAL_PAYLOAD_ENCRYPTION === 'off') return null;
  const ring = parseKeyring(config.TEMPORAL_PAYLOAD_KEYS, config.TEMPORAL_PAYLOAD_KEY_ID, {
    keys: 'TEMPORAL_PAYLOAD_KEYS',
    keyId: 'TEMPORAL_PAYLOAD_KEY_ID',
  });
  if (!ring) throw new PayloadKeysMissingError();
  return new AesGcmPayloadCodec(ring);
}

/**
 * The one data converter of every Temporal client and worker of this product (gateway, worker, tests, benches):
 * payloads through the AES-GCM codec and failure messages encoded into a payload, so both are ciphertext in
 * Temporal's database. With encryption off it is the SDK's default. Search attributes are not payloads of the
 * codec: they stay plaintext ids the UI can filter on.
 */
export function dataConverterFor(codec: AesGcmPayloadCodec | null): DataConverter {
  return codec ? { payloadCodecs: [codec], failureConverterPath } : {};
}

export function dataConverterFromConfig(config: Config): DataConverter {
  return dataConverterFor(payloadCodecFromConfig(config));
}
