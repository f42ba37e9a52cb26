import type { NetGuard } from '../../../net/net-guard.js';
import { DeliveryError, parseTargetUrl, postJson, type DeliveryReceipt, type OutgoingNotification } from './channel-common.js';

export interface SmsChannelOptions {
  guard: NetGuard;
  gatewayUrl?: string;
  /** Sent as `Authorization: Bearer …`; dropped by the guarded client if the gateway redirects elsewhere. */
  token?: string;
}

const e164 = /^\+[1-9]\d{6,14}$/;
/** Ten concatenated segments: what common gateways accept; longer text is cut rather than refused. */
const maxSmsChars = 1600;

/** POSTs `{ to, body, reference }` to the configured HTTP SMS gateway; `reference` lets it drop duplicates. */
export async function sendSms(opts: SmsChannelOptions, n: OutgoingNotification, signal: AbortSignal): Promise<DeliveryReceipt> {
  if (!opts.gatewayUrl) throw new DeliveryError('sms', 'the SMS gateway is not configured (SMS_GATEWAY_URL)', { retryable: false });
  if (!e164.test(n.to)) throw new DeliveryError('sms', 'the SMS recipient is not an E.164 phone number (+ and 7 to 15 digits)', { retryable: false });
  const url = parseTargetUrl('sms', opts.gatewayUrl, 'SMS_GATEWAY_URL');
  // Cut by code points so an emoji at the limit is not split into a lone surrogate.
  const body = Array.from(n.body).slice(0, maxSmsChars).join('');
  const headers: Record<string, string> = opts.token ? { Authorization: `Bearer ${opts.token}` } : {};
  return postJson({
    channel: 'sms',
    label: `SMS gateway ${url.host}`,
    guard: opts.guard,
    url,
    headers,
    body: JSON.stringify({ to: n.to, body, reference: n.idempotencyKey }),
    signal,
    secrets: [opts.token],
  });
}
