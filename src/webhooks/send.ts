import type { NetGuard } from '../net/net-guard.js';
import { guardedFetch } from '../net/guarded-fetch.js';
import { OutboundError } from '../net/outbound-error.js';
import { redactText } from '../tools/redact-secrets.js';
import { signWebhook } from './signing.js';

/** What a receiver answers is read up to this many bytes; only a short excerpt of it is kept. */
const MAX_RESPONSE_BYTES = 4096;
const EXCERPT_CHARS = 200;

export interface WebhookRequest {
  url: string;
  /** The idempotency key, sent as `Webhook-Id`. */
  eventKey: string;
  payload: Record<string, unknown>;
  secret: string;
}

/**
 * How an attempt ended. `retry`: worth trying again (5xx, 408, 429, timeout, network); `rejected`: the
 * receiver or the address policy refused it for good (other 4xx, a redirect, a refused address).
 */
export type WebhookOutcome =
  | { kind: 'delivered'; statusCode: number; durationMs: number }
  | { kind: 'retry' | 'rejected'; statusCode?: number; error: string; durationMs: number; retryAfterMs?: number };

/**
 * One signed POST of a delivery through the guarded client: the same address policy as tool calls, checked
 * again on every attempt (DNS may have changed since the URL was saved), no redirects followed, a bounded
 * response read. Never throws for the receiver's or the network's failures: the outcome says what happened.
 */
export async function sendWebhook(guard: NetGuard, req: WebhookRequest, opts: { signal: AbortSignal; nowMs: number }): Promise<WebhookOutcome> {
  const body = JSON.stringify(req.payload);
  const timestamp = String(Math.floor(opts.nowMs / 1000));
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'smart-agents-webhooks/1',
    'webhook-id': req.eventKey,
    'webhook-timestamp': timestamp,
    'webhook-signature': signWebhook(req.secret, req.eventKey, timestamp, body),
  };
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const res = await guardedFetch(guard, req.url, { method: 'POST', headers, body, signal: opts.signal, maxResponseBytes: MAX_RESPONSE_BYTES, followRedirects: false });
    if (res.status >= 200 && res.status < 300) return { kind: 'delivered', statusCode: res.status, durationMs: elapsed() };
    const excerpt = redactText(res.body, [req.secret]).slice(0, EXCERPT_CHARS).trim();
    const error = `the receiver answered ${res.status}${res.status >= 300 && res.status < 400 ? ' (redirects are not followed)' : ''}${excerpt ? `: ${excerpt}` : ''}`;
    const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
    return { kind: retryable ? 'retry' : 'rejected', statusCode: res.status, error, durationMs: elapsed(), ...retryAfter(res.status, res.headers) };
  } catch (err) {
    if (!(err instanceof OutboundError)) throw err;
    const permanent = err.kind === 'forbidden' || err.kind === 'invalid_input';
    return { kind: permanent ? 'rejected' : 'retry', error: err.message, durationMs: elapsed() };
  }
}

/** A 429's or 503's `Retry-After` in seconds, capped at an hour. */
function retryAfter(status: number, headers: Headers): { retryAfterMs?: number } {
  const value = status === 429 || status === 503 ? headers.get('retry-after') : null;
  const seconds = value && /^\d{1,6}$/.test(value.trim()) ? Number(value.trim()) : undefined;
  return seconds === undefined ? {} : { retryAfterMs: Math.min(seconds, 3600) * 1000 };
}
