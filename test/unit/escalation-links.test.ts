import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { allowedActions, escalationLinks, LinkTokenError, offeredActions, signLinkToken, verifyLinkToken, type LinkClaims } from '../../src/escalations/links';

const secret = 'link-secret-3f9a';
const now = Date.UTC(2025, 0, 1);
const claims: LinkClaims = { eventId: 'ev-1', action: 'acknowledge', userId: 'user-1', expiresAt: now + 60_000 };

function reason(fn: () => unknown): LinkTokenError['reason'] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LinkTokenError);
    return (err as LinkTokenError).reason;
  }
  throw new Error('expected a LinkTokenError');
}

const b64 = (text: string) => Buffer.from(text).toString('base64url');

describe('link tokens', () => {
  it('round-trips the claims, with or without a user', () => {
    const token = signLinkToken(secret, claims);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(verifyLinkToken(secret, token, now)).toEqual(claims);
    const anyone = { ...claims, action: 'resolve' as const, userId: null };
    expect(verifyLinkToken(secret, signLinkToken(secret, anyone), now)).toEqual(anyone);
  });

  it('rejects a tampered payload, a tampered signature and another secret', () => {
    const [payload, signature] = signLinkToken(secret, claims).split('.') as [string, string];
    const forged = b64(JSON.stringify({ ...claims, action: 'resolve' }));
    expect(reason(() => verifyLinkToken(secret, `${forged}.${signature}`, now))).toBe('bad_signature');
    const flipped = signature.slice(0, -2) + (signature.endsWith('AA') ? 'BA' : 'AA');
    expect(reason(() => verifyLinkToken(secret, `${payload}.${flipped}`, now))).toBe('bad_signature');
    expect(reason(() => verifyLinkToken(secret, `${payload}.${signature.slice(0, 20)}`, now))).toBe('bad_signature');
    // The last character carries 2 unused bits: a variant that decodes to the same bytes is still refused.
    const last = signature.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) ^ 1]!;
    expect(Buffer.from(signature.slice(0, -1) + sibling, 'base64url').equals(Buffer.from(signature, 'base64url'))).toBe(true);
    expect(reason(() => verifyLinkToken(secret, `${payload}.${signature.slice(0, -1)}${sibling}`, now))).toBe('bad_signature');
    expect(reason(() => verifyLinkToken('another-secret', `${payload}.${signature}`, now))).toBe('bad_signature');
    // A plain HMAC of the payload (no domain prefix) made with the right secret does not pass either.
    const plain = createHmac('sha256', secret).update(payload).digest('base64url');
    expect(reason(() => verifyLinkToken(secret, `${payload}.${plain}`, now))).toBe('bad_signature');
  });

  it('rejects a token at and after its expiry', () => {
    const token = signLinkToken(secret, claims);
    expect(verifyLinkToken(secret, token, claims.expiresAt - 1).eventId).toBe('ev-1');
    expect(reason(() => verifyLinkToken(secret, token, claims.expiresAt))).toBe('expired');
    expect(reason(() => verifyLinkToken(secret, token, claims.expiresAt + 86_400_000))).toBe('expired');
  });

  it('rejects malformed input without quoting it', () => {
    for (const bad of ['', 'abc', 'a.b.c', '.sig', 'payload.', 'pay load.sig', 'pay+load.sig', '%%%.***']) {
      expect(reason(() => verifyLinkToken(secret, bad, now))).toBe('malformed');
    }
    const token = signLinkToken(secret, claims);
    expect(reason(() => verifyLinkToken(secret, `${token}x.y`, now))).toBe('malformed');
    expect(() => verifyLinkToken(secret, `${token}x.y`, now)).toThrow(/^the link token is malformed$/);
    // Correctly signed but not our claims (e.g. a token from another version): still malformed.
    const payload = b64(JSON.stringify({ eventId: 'ev-1', action: 'acknowledge' }));
    const mac = createHmac('sha256', secret).update('smart-agents.escalation-link.v1.').update(payload).digest('base64url');
    expect(reason(() => verifyLinkToken(secret, `${payload}.${mac}`, now))).toBe('malformed');
  });

  it('refuses to sign invalid claims or with an empty secret', () => {
    expect(() => signLinkToken(secret, { ...claims, action: 'ignore' as 'resolve' })).toThrow();
    expect(() => signLinkToken(secret, { ...claims, eventId: '' })).toThrow();
    expect(() => signLinkToken('', claims)).toThrow(/secret/);
  });
});

describe('escalationLinks', () => {
  it('builds acknowledge and resolve URLs that verify, without a doubled slash', () => {
    const links = escalationLinks({ secret, publicBaseUrl: 'https://agents.example.com/app//', ttlSeconds: 3600, nowMs: now }, 'ev-9', 'user-2');
    const prefix = 'https://agents.example.com/app/links/escalations/';
    expect(links.acknowledge!.startsWith(prefix)).toBe(true);
    expect(links.resolve!.startsWith(prefix)).toBe(true);
    const ack = verifyLinkToken(secret, links.acknowledge!.slice(prefix.length), now);
    expect(ack).toEqual({ eventId: 'ev-9', action: 'acknowledge', userId: 'user-2', expiresAt: now + 3_600_000 });
    expect(verifyLinkToken(secret, links.resolve!.slice(prefix.length), now).action).toBe('resolve');
    expect(new URL(links.acknowledge!).pathname).toBe(`/app/links/escalations/${links.acknowledge!.slice(prefix.length)}`);

    const bare = escalationLinks({ secret, publicBaseUrl: 'http://localhost:3000', ttlSeconds: 60, nowMs: now }, 'ev-9', null);
    expect(bare.acknowledge).toMatch(/^http:\/\/localhost:3000\/links\/escalations\/[^/]+$/);
  });

  it('returns no links when no secret is configured', () => {
    expect(escalationLinks({ secret: null, publicBaseUrl: 'http://localhost:3000', ttlSeconds: 60, nowMs: now }, 'ev-9', 'user-2')).toEqual({ acknowledge: null, resolve: null });
  });
});

describe('what a link offers', () => {
  const ack = claims;
  const resolve: LinkClaims = { ...claims, action: 'resolve' };
  it('offers acknowledge only while the escalation waits for one, and resolve until it is closed', () => {
    expect(offeredActions(ack, 'pending')).toEqual(['acknowledge', 'resolve']);
    expect(offeredActions(ack, 'snoozed')).toEqual(['acknowledge', 'resolve']);
    expect(offeredActions(ack, 'acknowledged')).toEqual(['resolve']);
    expect(offeredActions(ack, 'resolved')).toEqual([]);
    expect(offeredActions(ack, 'ignored')).toEqual([]);
  });
  it('never lets a resolve link acknowledge', () => {
    expect(offeredActions(resolve, 'pending')).toEqual(['resolve']);
    expect(offeredActions(resolve, 'acknowledged')).toEqual(['resolve']);
    expect(allowedActions.resolve).toEqual(['resolve']);
  });
});
