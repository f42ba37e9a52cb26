import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openCredentials, openSealedCredentials, parseKeyring, sealCredentials } from '../../src/tools/credentials';

const key = (fill: number) => Buffer.alloc(32, fill).toString('base64');

describe('tool credentials at rest', () => {
  it('seals with AES-256-GCM under the active key id and opens again', () => {
    const ring = parseKeyring(`k1:${key(1)}`, undefined)!;
    const sealed = sealCredentials(ring, { type: 'bearer', token: 'secret-token' }, ['https://api.example.com']);
    expect(sealed.keyId).toBe('k1');
    expect(sealed.ciphertext).toMatch(/^v1\.k1\./);
    expect(sealed.ciphertext).not.toContain('secret-token');
    expect(openCredentials(ring, sealed.ciphertext)).toEqual({ type: 'bearer', token: 'secret-token' });
    // a fresh IV each time: the same secret never seals to the same text
    expect(sealCredentials(ring, { type: 'bearer', token: 'secret-token' }, ['https://api.example.com']).ciphertext).not.toBe(sealed.ciphertext);
  });

  it('rotates: new writes use the new key, old ciphertexts still open with theirs', () => {
    const old = sealCredentials(parseKeyring(`k1:${key(1)}`, 'k1')!, { type: 'basic', username: 'u', password: 'p' }, ['https://api.example.com']);
    const ring = parseKeyring(`k1:${key(1)},k2:${key(2)}`, 'k2')!;
    expect(sealCredentials(ring, { type: 'bearer', token: 't' }, ['https://api.example.com']).keyId).toBe('k2');
    expect(openCredentials(ring, old.ciphertext)).toEqual({ type: 'basic', username: 'u', password: 'p' });
  });

  it('refuses tampered ciphertext, unknown keys and malformed key settings', () => {
    const ring = parseKeyring(`k1:${key(1)}`, undefined)!;
    const sealed = sealCredentials(ring, { type: 'bearer', token: 'secret-token' }, ['https://api.example.com']).ciphertext;
    const parts = sealed.split('.');
    parts[4] = Buffer.from('tampered').toString('base64url');
    expect(() => openCredentials(ring, parts.join('.'))).toThrow();
    expect(() => openCredentials(parseKeyring(`k9:${key(9)}`, undefined)!, sealed)).toThrow(/key "k1"/);
    expect(() => parseKeyring('k1:short', undefined)).toThrow(/32 bytes/);
    expect(() => parseKeyring(`k1:${key(1)}`, 'nope')).toThrow(/names no key/);
    expect(parseKeyring(undefined, undefined)).toBeNull();
  });

  it('seals the origins a credential is bound to with it, and opens blobs from before binding as unbound', () => {
    const ring = parseKeyring(`k1:${key(1)}`, undefined)!;
    const sealed = sealCredentials(ring, { type: 'bearer', token: 'secret-token' }, ['https://api.example.com']);
    expect(openSealedCredentials(ring, sealed.ciphertext)).toEqual({ credentials: { type: 'bearer', token: 'secret-token' }, origins: ['https://api.example.com'] });
    // The earlier format: the bare credentials, sealed the same way.
    const iv = Buffer.alloc(12, 3);
    const cipher = createCipheriv('aes-256-gcm', Buffer.alloc(32, 1), iv);
    const data = Buffer.concat([cipher.update(JSON.stringify({ type: 'bearer', token: 'old' })), cipher.final()]);
    const legacy = ['v1', 'k1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), data.toString('base64url')].join('.');
    expect(openSealedCredentials(ring, legacy)).toEqual({ credentials: { type: 'bearer', token: 'old' }, origins: null });
    expect(openCredentials(ring, legacy)).toEqual({ type: 'bearer', token: 'old' });
  });
});
