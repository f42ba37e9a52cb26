import { describe, expect, it } from 'vitest';
import { generateSigningSecret, signWebhook, verifyWebhook } from '../../src/webhooks/signing';

// The example of the Standard Webhooks / Svix documentation: receivers' libraries compute the same value.
const example = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: '1614265330',
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
const nowMs = Number(example.timestamp) * 1000;

describe('webhook signatures (Standard Webhooks)', () => {
  it('signs as the Standard Webhooks libraries do', () => {
    expect(signWebhook(example.secret, example.id, example.timestamp, example.body)).toBe(example.signature);
  });

  it('verifies a signature among several and refuses a changed body, id, timestamp or secret', () => {
    const h = { id: example.id, timestamp: example.timestamp, signature: `v1,bm90IGl0 ${example.signature}` };
    expect(verifyWebhook(example.secret, h, example.body, { nowMs })).toBe(true);
    expect(verifyWebhook(example.secret, h, example.body + ' ', { nowMs })).toBe(false);
    expect(verifyWebhook(example.secret, { ...h, id: 'msg_other' }, example.body, { nowMs })).toBe(false);
    expect(verifyWebhook(example.secret, { ...h, timestamp: '1614265331' }, example.body, { nowMs })).toBe(false);
    expect(verifyWebhook(generateSigningSecret(), h, example.body, { nowMs })).toBe(false);
  });

  it('refuses a replay: a timestamp outside the tolerance', () => {
    const h = { id: example.id, timestamp: example.timestamp, signature: example.signature };
    expect(verifyWebhook(example.secret, h, example.body, { nowMs: nowMs + 301_000 })).toBe(false);
    expect(verifyWebhook(example.secret, h, example.body, { nowMs: nowMs - 301_000 })).toBe(false);
    expect(verifyWebhook(example.secret, { ...h, signature: undefined }, example.body, { nowMs })).toBe(false);
  });

  it('makes secrets of 32 random bytes', () => {
    const a = generateSigningSecret();
    expect(Buffer.from(a.slice('whsec_'.length), 'base64')).toHaveLength(32);
    expect(a).not.toBe(generateSigningSecret());
  });
});
