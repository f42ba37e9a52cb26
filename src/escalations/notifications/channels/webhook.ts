import { createHmac, timingSafeEqual } from 'node:crypto';
import type { NetGuard } from '../../../net/net-guard.js';
import { parseTargetUrl, postJson, type DeliveryReceipt, type OutgoingNotification } from './channel-common.js';

export interface WebhookChannelOptions {
  guard: NetGuard;
  /** HMAC-SHA256 key; without it the request carries no `X-Signature`. */
  secret?: string;
  now: () => number;
}

/**
 * POSTs `{ notificationId, eventId, subject, body, ...data }` to the notification's URL. The core fields
 * win over `data`, so extra fields can never forge which event a receiver acknowledges.
 */
export async function sendWebhook(opts: WebhookChannelOptions, n: OutgoingNotification, signal: AbortSignal): Promise<DeliveryReceipt> {
  const url = parseTargetUrl('webhook', n.to, 'the webhook address');
  const core = { notificationId: n.notificationId, eventId: n.eventId, subject: n.subject, body: n.body };
  const rawBody = JSON.stringify({ ...core, ...n.data, ...core });
  const timestamp = String(Math.floor(opts.now() / 1000));
  const headers: Record<string, string> = { 'Idempotency-Key': n.idempotencyKey, 'X-Signature-Timestamp': timestamp };
  if (opts.secret) headers['X-Signature'] = signWebhookPayload(opts.secret, timestamp, rawBody);
  return postJson({ channel: 'webhook', label: `webhook ${url.host}`, guard: opts.guard, url, headers, body: rawBody, signal, secrets: [opts.secret] });
}

/**
 * The `X-Signature` value: `sha256=` + hex HMAC-SHA256 over `${timestamp}.${rawBody}`. Signing the
 * timestamp with the body (the Stripe scheme) lets receivers reject replays of an old, captured request.
 */
export function signWebhookPayload(secret: string, timestamp: string, rawBody: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex')}`;
}

export interface VerifyWebhookOptions {
  /** How far `X-Signature-Timestamp` may be from now; default 300 s. */
  toleranceSeconds?: number;
  nowMs?: number;
}

/**
 * Checks an escalation webhook the way a receiver should: the timestamp is recent and the signature over
 * the raw body (before any JSON parsing) matches, compared in constant time. For receivers and tests.
 */
export function verifyWebhookSignature(
  secret: string,
  timestamp: string | string[] | null | undefined,
  rawBody: string | Buffer,
  signatureHeader: string | string[] | null | undefined,
  opts: VerifyWebhookOptions = {},
): boolean {
  if (typeof timestamp !== 'string' || !/^\d{1,12}$/.test(timestamp.trim())) return false;
  const ageSeconds = Math.abs((opts.nowMs ?? Date.now()) / 1000 - Number(timestamp.trim()));
  if (ageSeconds > (opts.toleranceSeconds ?? 300)) return false;
  const match = typeof signatureHeader === 'string' ? /^sha256=([0-9a-f]{64})$/i.exec(signatureHeader.trim()) : null;
  if (!match?.[1]) return false;
  const expected = createHmac('sha256', secret).update(`${timestamp.trim()}.`).update(rawBody).digest();
  return timingSafeEqual(expected, Buffer.from(match[1], 'hex'));
}
