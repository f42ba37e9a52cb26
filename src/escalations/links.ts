import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

export type LinkAction = 'acknowledge' | 'resolve';

/** What a link allows: one action on one event, by one user (null: whoever holds the link), until `expiresAt`. */
export interface LinkClaims {
  eventId: string;
  action: LinkAction;
  userId: string | null;
  /** Unix milliseconds. */
  expiresAt: number;
}

const claimsSchema = z
  .object({
    eventId: z.string().min(1),
    action: z.enum(['acknowledge', 'resolve']),
    userId: z.string().min(1).nullable(),
    expiresAt: z.number().int().nonnegative(),
  })
  .strict();

/** Thrown by {@link verifyLinkToken}; the link route answers each reason with its own page or status. */
export class LinkTokenError extends Error {
  constructor(
    readonly reason: 'malformed' | 'bad_signature' | 'expired',
    message: string,
  ) {
    super(message);
    this.name = 'LinkTokenError';
  }
}

/**
 * Separates these MACs from any other use of the same secret: a value signed elsewhere can never pass
 * as a link token, even if its bytes happen to look like one.
 */
const domain = 'smart-agents.escalation-link.v1.';
const segment = /^[A-Za-z0-9_-]+$/;

function mac(secret: string, payload: string): Buffer {
  if (!secret) throw new Error('the link secret must not be empty');
  return createHmac('sha256', secret).update(domain).update(payload).digest();
}

/**
 * `base64url(payload JSON) + '.' + base64url(HMAC-SHA256)`: self-contained, so the link route needs no
 * stored token, and URL-safe as it is. Anyone can read the claims; only the secret's holder can make them.
 */
export function signLinkToken(secret: string, claims: LinkClaims): string {
  const parsed = claimsSchema.parse(claims);
  const payload = Buffer.from(JSON.stringify(parsed)).toString('base64url');
  return `${payload}.${mac(secret, payload).toString('base64url')}`;
}

/**
 * Checks the signature (constant-time) before reading the payload, then the expiry.
 * @throws LinkTokenError `malformed`, `bad_signature` or `expired`; messages never quote the token.
 */
export function verifyLinkToken(secret: string, token: string, nowMs = Date.now()): LinkClaims {
  const parts = typeof token === 'string' ? token.split('.') : [];
  const [payload, signature] = parts;
  if (parts.length !== 2 || !payload || !signature || !segment.test(payload) || !segment.test(signature)) {
    throw new LinkTokenError('malformed', 'the link token is malformed');
  }
  const expected = mac(secret, payload);
  const given = Buffer.from(signature, 'base64url');
  // The canonical-encoding check stops variants of one signature (base64 ignores trailing bits) from passing.
  if (given.length !== expected.length || given.toString('base64url') !== signature || !timingSafeEqual(given, expected)) {
    throw new LinkTokenError('bad_signature', 'the link token signature does not match');
  }
  let claims: LinkClaims;
  try {
    claims = claimsSchema.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
  } catch {
    // Only reachable with a correctly signed but unreadable payload, i.e. a token from another version.
    throw new LinkTokenError('malformed', 'the link token payload is not readable');
  }
  if (nowMs >= claims.expiresAt) throw new LinkTokenError('expired', 'the link has expired');
  return claims;
}

export interface EscalationLinkOptions {
  /** Null turns links off (ESCALATION_LINK_SECRET unset). */
  secret: string | null;
  /** Where people reach the gateway, e.g. `https://agents.example.com` (a trailing slash is fine). */
  publicBaseUrl: string;
  ttlSeconds: number;
  nowMs: number;
}

/** The acknowledge and resolve URLs for one recipient of one event; both null when links are off. */
export function escalationLinks(
  opts: EscalationLinkOptions,
  eventId: string,
  userId: string | null,
): { acknowledge: string | null; resolve: string | null } {
  const secret = opts.secret;
  if (secret === null) return { acknowledge: null, resolve: null };
  const base = opts.publicBaseUrl.replace(/\/+$/, '');
  const expiresAt = opts.nowMs + opts.ttlSeconds * 1000;
  const url = (action: LinkAction) => `${base}/links/escalations/${signLinkToken(secret, { eventId, action, userId, expiresAt })}`;
  return { acknowledge: url('acknowledge'), resolve: url('resolve') };
}

/**
 * What a link's holder may do: an acknowledge link also resolves (the person paged acknowledges, then
 * resolves from the same message, and an SMS carries only the acknowledge link; the API's
 * `escalations:ack` permission covers both the same way); a resolve link only resolves.
 */
export const allowedActions: Record<LinkAction, LinkAction[]> = { acknowledge: ['acknowledge', 'resolve'], resolve: ['resolve'] };

/** The commands that change an event in this status: none once it is closed, no acknowledge once acknowledged. */
function applicableActions(status: string): LinkAction[] {
  if (status === 'pending' || status === 'snoozed') return ['acknowledge', 'resolve'];
  if (status === 'acknowledged') return ['resolve'];
  return [];
}

/** The buttons the page offers: what the link allows and the event's status still takes. */
export function offeredActions(claims: LinkClaims, status: string): LinkAction[] {
  const applicable = applicableActions(status);
  return allowedActions[claims.action].filter((a) => applicable.includes(a));
}
