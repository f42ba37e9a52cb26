import type { Channel } from '../../../../workflows/contracts/index.js';
import { guardedFetch, type GuardedResponse, type NetGuard } from '../../../net/net-guard.js';
import { parseRetryAfter } from '../../../tools/runners/http-response.js';
import { OutboundError } from '../../../net/outbound-error.js';

/** One notification to send on one external channel; built by the delivery activity from the stored row. */
export interface OutgoingNotification {
  notificationId: string;
  eventId: string;
  channel: Exclude<Channel, 'in_app'>;
  /** E-mail address, webhook URL, or E.164 phone number. */
  to: string;
  subject: string | null;
  body: string;
  /** Stable across retries of the same delivery, so receivers can drop duplicates. */
  idempotencyKey: string;
  /** Extra JSON fields for the webhook payload (event status, level, links, trigger data…). */
  data?: Record<string, unknown>;
}

/**
 * Thrown when one delivery attempt fails. The activity turns it into an `ApplicationFailure`: `retryable`
 * false for failures a retry cannot fix (bad address, 4xx other than 408/429, auth rejected, not
 * configured); `retryAfterMs` comes from Retry-After on 429/503 and becomes the next retry delay.
 * Messages never contain the SMTP password, the SMS token or the webhook secret.
 */
export class DeliveryError extends Error {
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly channel: Channel;
  /** HTTP status or SMTP reply code, when the remote side answered. */
  readonly status?: number;

  constructor(channel: Channel, message: string, opts: { retryable: boolean; retryAfterMs?: number; status?: number }) {
    super(message);
    this.name = 'DeliveryError';
    this.channel = channel;
    this.retryable = opts.retryable;
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
    if (opts.status !== undefined) this.status = opts.status;
  }
}

/** What one channel returns on success: the provider's id of the message, when it tells us one. */
export interface DeliveryReceipt {
  providerId: string | null;
}

/** Error bodies are quoted this far, enough to see why a receiver refused. */
const snippetChars = 200;
/** Receivers' answers are only inspected for an id or an error reason. */
const maxResponseBytes = 8_192;

/** Blanks every secret out of text that may echo what was sent (a receiver's error body, a server reply). */
export function redact(text: string, secrets: ReadonlyArray<string | undefined>): string {
  return secrets.reduce<string>((out, s) => (s && s.length >= 4 ? out.split(s).join('[redacted]') : out), text);
}

export interface JsonPost {
  channel: Exclude<Channel, 'in_app'>;
  /** Names the receiver in messages (its host, never the full URL, which may carry a token). */
  label: string;
  guard: NetGuard;
  url: URL;
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
  secrets: ReadonlyArray<string | undefined>;
}

/**
 * One guarded POST with the status mapping shared by webhooks and the SMS gateway: 2xx is delivered;
 * 408, 429 and 5xx are retryable (Retry-After on 429/503 sets `retryAfterMs`); any other status, and
 * an answer that came from a redirect target, is not.
 */
export async function postJson(req: JsonPost): Promise<DeliveryReceipt> {
  let res: GuardedResponse;
  try {
    res = await guardedFetch(req.guard, req.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'User-Agent': 'smart-agents-escalations', ...req.headers },
      body: req.body,
      signal: req.signal,
      maxResponseBytes,
    });
  } catch (err) {
    throw fromOutboundError(req, err);
  }
  if (res.url !== req.url.href) {
    // A 301/302/303 has turned the POST into a bodyless GET whose 2xx would look like a delivery; like
    // GitHub and Stripe webhooks, a moved receiver is a configuration error, not something to chase.
    throw new DeliveryError(req.channel, `${req.label} redirected the request; configure the final URL`, { retryable: false, status: res.status });
  }
  if (res.status >= 200 && res.status < 300) return { providerId: providerIdOf(res) };

  const quoted = redact(res.body.slice(0, snippetChars), req.secrets).trim();
  const message = `${req.label} answered HTTP ${res.status}${quoted ? `: ${quoted}` : ''}`;
  const retryable = res.status === 408 || res.status === 429 || res.status >= 500;
  const retryAfterMs = res.status === 429 || res.status === 503 ? parseRetryAfter(res.headers.get('retry-after')) : undefined;
  throw new DeliveryError(req.channel, message, { retryable, retryAfterMs, status: res.status });
}

/** Guard refusals and bad requests are permanent; timeouts and network failures are worth another attempt. */
function fromOutboundError(req: JsonPost, err: unknown): DeliveryError {
  if (!(err instanceof OutboundError)) return new DeliveryError(req.channel, `${req.label}: request failed`, { retryable: true });
  const retryable = err.kind === 'timeout' || err.kind === 'network';
  return new DeliveryError(req.channel, `${req.label}: ${redact(err.message, req.secrets)}`, { retryable });
}

/** A receiver that answers JSON with a string `id` (or `messageId`, `sid`) names its copy of the message. */
function providerIdOf(res: GuardedResponse): string | null {
  if (res.truncated || !/^\s*\{/.test(res.body)) return null;
  try {
    const json = JSON.parse(res.body) as Record<string, unknown>;
    const id = json.id ?? json.messageId ?? json.sid;
    return typeof id === 'string' || typeof id === 'number' ? String(id) : null;
  } catch {
    return null;
  }
}

/** Parses a configured or addressed URL without echoing it (it may carry a token in its path or query). */
export function parseTargetUrl(channel: Exclude<Channel, 'in_app'>, text: string, what: string): URL {
  try {
    return new URL(text);
  } catch {
    throw new DeliveryError(channel, `${what} is not a valid absolute URL`, { retryable: false });
  }
}
