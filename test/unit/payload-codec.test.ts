import { defaultPayloadConverter, METADATA_ENCODING_KEY } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { dataConverterFor, failureConverterPath, payloadCodecFromConfig, PayloadKeysMissingError } from '../../src/temporal/data-converter';
import { AesGcmPayloadCodec, ENCRYPTED_ENCODING, KEY_ID_METADATA, PayloadDecryptionError } from '../../src/temporal/payload-codec';
import { parseKeyring } from '../../src/tools/credentials';

const key = (byte: number) => Buffer.alloc(32, byte).toString('base64');
const codecWith = (keys: string, active?: string) =>
  new AesGcmPayloadCodec(parseKeyring(keys, active, { keys: 'TEMPORAL_PAYLOAD_KEYS', keyId: 'TEMPORAL_PAYLOAD_KEY_ID' })!);
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');
const secret = { prompt: 'You are the refund desk', message: 'my card 4111 1111', args: { orderId: 'ord-991' } };

describe('AesGcmPayloadCodec', () => {
  const k1 = codecWith(`k1:${key(1)}`);

  it('seals a payload so neither its value nor its type shows, and opens it back', async () => {
    const plain = defaultPayloadConverter.toPayload(secret);
    const [sealed] = await k1.encode([plain]);
    expect(text(sealed!.metadata![METADATA_ENCODING_KEY])).toBe(ENCRYPTED_ENCODING);
    expect(text(sealed!.metadata![KEY_ID_METADATA])).toBe('k1');
    expect(Object.keys(sealed!.metadata!).sort()).toEqual([METADATA_ENCODING_KEY, KEY_ID_METADATA].sort());
    const stored = Buffer.from(sealed!.data!).toString('latin1');
    for (const word of ['refund desk', '4111', 'ord-991', 'json/plain']) expect(stored).not.toContain(word);
    const [opened] = await k1.decode([sealed!]);
    expect(defaultPayloadConverter.fromPayload(opened!)).toEqual(secret);
    expect(text(opened!.metadata![METADATA_ENCODING_KEY])).toBe('json/plain');
  });

  it('uses a fresh IV: the same value twice is two different ciphertexts', async () => {
    const plain = defaultPayloadConverter.toPayload('same');
    const [a, b] = await k1.encode([plain, plain]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('passes through payloads it did not seal (histories from before encryption), binary and empty ones too', async () => {
    const old = [defaultPayloadConverter.toPayload(secret), defaultPayloadConverter.toPayload(new Uint8Array([1, 2, 3])), defaultPayloadConverter.toPayload(undefined), {}];
    expect(await k1.decode(old)).toEqual(old);
  });

  it('rotates: seals with the active key while an older key still opens what it sealed', async () => {
    const [byK1] = await k1.encode([defaultPayloadConverter.toPayload('sealed under k1')]);
    const rotated = codecWith(`k1:${key(1)},k2:${key(2)}`); // the last key is active, as with TOOL_CREDENTIALS_KEYS
    expect(rotated.activeKeyId).toBe('k2');
    const [byK2] = await rotated.encode([defaultPayloadConverter.toPayload('sealed under k2')]);
    expect(text(byK2!.metadata![KEY_ID_METADATA])).toBe('k2');
    const opened = await rotated.decode([byK1!, byK2!]);
    expect(opened.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual(['sealed under k1', 'sealed under k2']);
    // TEMPORAL_PAYLOAD_KEY_ID picks another active key.
    expect(codecWith(`k1:${key(1)},k2:${key(2)}`, 'k1').activeKeyId).toBe('k1');
    // A process that dropped k1 too early says which key it lacks.
    await expect(codecWith(`k2:${key(2)}`).decode([byK1!])).rejects.toThrow(/key "k1", which is not configured/);
  });

  it('refuses altered ciphertext and a different key under the same id', async () => {
    const [sealed] = await k1.encode([defaultPayloadConverter.toPayload('x')]);
    const altered = Buffer.from(sealed!.data!);
    altered[20] = altered[20]! ^ 1;
    await expect(k1.decode([{ ...sealed!, data: altered }])).rejects.toBeInstanceOf(PayloadDecryptionError);
    await expect(codecWith(`k1:${key(3)}`).decode([sealed!])).rejects.toBeInstanceOf(PayloadDecryptionError);
    await expect(k1.decode([{ ...sealed!, data: new Uint8Array(5) }])).rejects.toThrow(/too short/);
  });
});

describe('payload encryption settings', () => {
  it('refuses to run without keys unless encryption is turned off on purpose', () => {
    expect(() => payloadCodecFromConfig(loadConfig({}))).toThrow(PayloadKeysMissingError);
    expect(payloadCodecFromConfig(loadConfig({ TEMPORAL_PAYLOAD_ENCRYPTION: 'off' }))).toBeNull();
    expect(dataConverterFor(null)).toEqual({});
    const codec = payloadCodecFromConfig(loadConfig({ TEMPORAL_PAYLOAD_KEYS: `a:${key(4)}` }));
    expect(dataConverterFor(codec)).toEqual({ payloadCodecs: [codec], failureConverterPath });
  });

  it('names the payload settings in key errors', () => {
    expect(() => payloadCodecFromConfig(loadConfig({ TEMPORAL_PAYLOAD_KEYS: 'a:short' }))).toThrow(/TEMPORAL_PAYLOAD_KEYS entries/);
    expect(() => payloadCodecFromConfig(loadConfig({ TEMPORAL_PAYLOAD_KEYS: `a:${key(4)}`, TEMPORAL_PAYLOAD_KEY_ID: 'b' }))).toThrow(/TEMPORAL_PAYLOAD_KEY_ID names no key/);
  });

  it('keeps the keyless local-UI codec access out of production', () => {
    expect(loadConfig({ TEMPORAL_CODEC_TRUST_LOCAL_UI: 'true' }).TEMPORAL_CODEC_TRUST_LOCAL_UI).toBe(true);
    expect(() => loadConfig({ TEMPORAL_CODEC_TRUST_LOCAL_UI: 'true', NODE_ENV: 'production' })).toThrow(/development only/);
    expect(loadConfig({ TEMPORAL_UI_ORIGIN: 'http://localhost:8233/, https://ui.example.com' }).TEMPORAL_UI_ORIGIN).toEqual(['http://localhost:8233', 'https://ui.example.com']);
  });

  it('loads the failure converter that encodes messages, as workers and clients do by path', async () => {
    const { failureConverter } = (await import(failureConverterPath)) as typeof import('../../src/temporal/failure-converter');
    const failure = failureConverter.errorToFailure(new Error('tool said: ord-991'), defaultPayloadConverter);
    expect(failure.message).toBe('Encoded failure');
    expect(JSON.stringify(defaultPayloadConverter.fromPayload(failure.encodedAttributes!))).toContain('ord-991');
  });
});
