import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/*
 * The Standard Webhooks scheme (standardwebhooks.com): the secret is `whsec_` + base64 of its key bytes; each
 * request carries `Webhook-Id`, `Webhook-Timestamp` (unix seconds) and `Webhook-Signature: v1,<base64
 * HMAC-SHA256(key, id.timestamp.body)>`. Signing the id and timestamp with the body lets a receiver refuse a
 * replayed request (old timestamp) and a duplicate (seen id); the scheme's own libraries verify it.
 */

const SECRET_PREFIX = 'whsec_';

/** A new signing secret: 32 random bytes. */
export function generateSigningSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
}

/** The `Webhook-Signature` value for one request. */
export function signWebhook(secret: string, id: string, timestamp: string, body: string): string {
  return `v1,${createHmac('sha256', keyOf(secret)).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

export interface WebhookHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

/**
 * Checks a request as a receiver should: the timestamp is within `toleranceSeconds` of now and one of the
 * space-separated `v1,` signatures matches the raw body, compared in constant time. For receivers and tests.
 */
export function verifyWebhook(secret: string, h: WebhookHeaders, rawBody: string, opts: { toleranceSeconds?: number; nowMs?: number } = {}): boolean {
  if (!h.id || !h.timestamp || !/^\d{1,12}$/.test(h.timestamp) || !h.signature) return false;
  if (Math.abs((opts.nowMs ?? Date.now()) / 1000 - Number(h.timestamp)) > (opts.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signWebhook(secret, h.id, h.timestamp, rawBody).slice(3), 'base64');
  return h.signature.split(' ').some((candidate) => {
    if (!candidate.startsWith('v1,')) return false;
    const given = Buffer.from(candidate.slice(3), 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
