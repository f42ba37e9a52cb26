import { describe, expect, it } from 'vitest';
import { openCredentials, parseKeyring, sealCredentials } from '../../src/tools/credentials';

const key = (fill: number) => Buffer.alloc(32, fill).toString('base64');

describe('tool credentials at rest', () => {
  it('seals with AES-256-GCM under the active key id and opens again', () => {
    const ring = parseKeyring(`k1:${key(1)}`, undefined)!;
    const sealed = sealCredentials(ring, { type: 'bearer', token: 'secret-token' });
    expect(sealed.keyId).toBe('k1');
    expect(sealed.ciphertext).toMatch(/^v1\.k1\./);
    expect(sealed.ciphertext).not.toContain('secret-token');
    expect(openCredentials(ring, sealed.ciphertext)).toEqual({ type: 'bearer', token: 'secret-token' });
    // a fresh IV each time: the same secret never seals to the same text
    expect(sealCredentials(ring, { type: 'bearer', token: 'secret-token' }).ciphertext).not.toBe(sealed.ciphertext);
  });

  it('rotates: new writes use the new key, old ciphertexts still open with theirs', () => {
    const old = sealCredentials(parseKeyring(`k1:${key(1)}`, 'k1')!, { type: 'basic', username: 'u', password: 'p' });
    const ring = parseKeyring(`k1:${key(1)},k2:${key(2)}`, 'k2')!;
    expect(sealCredentials(ring, { type: 'bearer', token: 't' }).keyId).toBe('k2');
    expect(openCredentials(ring, old.ciphertext)).toEqual({ type: 'basic', username: 'u', password: 'p' });
  });

  it('refuses tampered ciphertext, unknown keys and malformed key settings', () => {
    const ring = parseKeyring(`k1:${key(1)}`, undefined)!;
    const sealed = sealCredentials(ring, { type: 'bearer', token: 'secret-token' }).ciphertext;
    const parts = sealed.split('.');
    parts[4] = Buffer.from('tampered').toString('base64url');
    expect(() => openCredentials(ring, parts.join('.'))).toThrow();
    expect(() => openCredentials(parseKeyring(`k9:${key(9)}`, undefined)!, sealed)).toThrow(/key "k1"/);
    expect(() => parseKeyring('k1:short', undefined)).toThrow(/32 bytes/);
    expect(() => parseKeyring(`k1:${key(1)}`, 'nope')).toThrow(/names no key/);
    expect(parseKeyring(undefined, undefined)).toBeNull();
  });
});
