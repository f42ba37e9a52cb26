import { describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey, hasPermission } from '../../src/tenancy/api-keys';
import { loadConfig } from '../../src/config';

describe('API keys', () => {
  it('generates high-entropy keys with a visible prefix and stores only a hash', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(a.plaintext).toMatch(/^sao_[A-Za-z0-9]{40}$/);
    expect(a.prefix).toBe(a.plaintext.slice(0, 12));
    expect(a.hash).toBe(hashApiKey(a.plaintext));
    expect(a.hash).not.toContain(a.plaintext.slice(4));
    expect(a.plaintext).not.toBe(b.plaintext);
  });

  it('grants admin every permission and others only what they list', () => {
    const admin = { keyId: 'k', projectId: 'p', permissions: ['admin'] };
    const reader = { keyId: 'k', projectId: 'p', permissions: ['agents:read'] };
    expect(hasPermission(admin, 'conversations:write')).toBe(true);
    expect(hasPermission(reader, 'agents:read')).toBe(true);
    expect(hasPermission(reader, 'agents:write')).toBe(false);
  });
});

describe('config', () => {
  it('has working defaults and names every bad variable at once', () => {
    expect(loadConfig({})).toMatchObject({ PORT: 3000, TEMPORAL_ADDRESS: 'localhost:7233', TEMPORAL_NAMESPACE: 'default' });
    expect(() => loadConfig({ PORT: 'abc', TURN_WAIT_MS: '-1' })).toThrow(/PORT.*TURN_WAIT_MS/);
    expect(loadConfig({ OPENAI_API_KEY: '  ' }).OPENAI_API_KEY).toBeUndefined();
  });
});
