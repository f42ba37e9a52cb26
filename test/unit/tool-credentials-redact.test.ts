import { describe, expect, it } from 'vitest';
import { toolDestinations } from '../../src/tools/destinations';
import { credentialSecrets, redactSecrets, redactText } from '../../src/tools/redact-secrets';

describe('redacting a tool’s own secrets from its results', () => {
  it('finds every form of a secret, in strings and keys, at any depth', () => {
    const secret = 'p@ss word/"quoted"+1';
    const echoed = {
      plain: `token=${secret}`,
      url: `https://api.example.com/?key=${encodeURIComponent(secret)}`,
      form: `key=${new URLSearchParams({ k: secret }).toString().slice(2)}`,
      jsonText: JSON.stringify({ sent: secret }),
      base64: Buffer.from(secret).toString('base64'),
      nested: [{ [secret]: [`x${secret}y`] }],
      untouched: 42,
    };
    const out = redactSecrets(echoed, [secret]);
    expect(JSON.stringify(out)).not.toContain(secret);
    expect(out).toMatchObject({ plain: 'token=[redacted]', url: 'https://api.example.com/?key=[redacted]', form: 'key=[redacted]', base64: '[redacted]', untouched: 42 });
    expect(out.nested).toEqual([{ '[redacted]': ['x[redacted]y'] }]);
    expect(JSON.parse(out.jsonText)).toEqual({ sent: '[redacted]' });
  });

  it('derives what the runners send from each credential type', () => {
    const basic = credentialSecrets({ type: 'basic', username: 'alice', password: 'wonderland' });
    expect(redactText(`Authorization: Basic ${Buffer.from('alice:wonderland').toString('base64')}`, basic)).toBe('Authorization: Basic [redacted]');
    const oauth = credentialSecrets({ type: 'oauth2', tokenUrl: 'https://auth.example.com/token', clientId: 'id:1', clientSecret: 'shh secret' });
    expect(redactText(`Basic ${Buffer.from('id%3A1:shh+secret').toString('base64')}`, oauth)).toBe('Basic [redacted]');
    const db = credentialSecrets({ type: 'connection_string', url: 'postgres://reader:s%40fe-pass@db.example.com/app' });
    expect(redactText('failed for reader with s@fe-pass', db)).toBe('failed for reader with [redacted]');
    // Too short to be worth blanking: results stay readable.
    expect(redactText('abc', credentialSecrets({ type: 'bearer', token: 'abc' }))).toBe('abc');
  });
});

describe('the destination credentials are bound to', () => {
  it('is the origin of config.url, and none when the arguments choose the host', () => {
    expect(toolDestinations('api', { url: 'https://api.example.com/v1/{city}?q={q}' })).toEqual({ origins: ['https://api.example.com'] });
    expect(toolDestinations('mcp', { url: 'http://127.0.0.1:9000/mcp' })).toEqual({ origins: ['http://127.0.0.1:9000'] });
    expect(toolDestinations('api', { url: 'https://{tenant}.example.com/' })).toHaveProperty('problem');
    expect(toolDestinations('api', { url: 'https://api.example.com{path}' })).toHaveProperty('problem');
    expect(toolDestinations('database', { query: 'select 1' })).toEqual({ origins: [] });
  });
});
