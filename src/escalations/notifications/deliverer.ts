import type { NetGuard } from '../../net/net-guard.js';
import { createEmailChannel } from './channels/email.js';
import { DeliveryError, type DeliveryReceipt, type OutgoingNotification } from './channels/channel-common.js';
import { sendSms } from './channels/sms.js';
import { sendWebhook } from './channels/webhook.js';

export { DeliveryError, type DeliveryReceipt, type OutgoingNotification } from './channels/channel-common.js';
export { signWebhookPayload, verifyWebhookSignature, type VerifyWebhookOptions } from './channels/webhook.js';
export { messageIdFor } from './channels/email.js';

/** Built once by the worker from the parsed config; tests point it at local receivers. */
export interface DeliveryConfig {
  /** `smtp://user:pass@host:port` or `smtps://…`; without it e-mail deliveries fail permanently. */
  smtpUrl?: string;
  smtpFrom: string;
  /** POST JSON `{ to, body, reference }` with `Authorization: Bearer <smsGatewayToken>`. */
  smsGatewayUrl?: string;
  smsGatewayToken?: string;
  /** HMAC-SHA256 key for webhook signatures. */
  webhookSecret?: string;
  /** Webhook URLs come from project settings, so they pass the same SSRF guard as tool calls (as does the SMS gateway). */
  guard: NetGuard;
  /** Per request; default 10 s. */
  timeoutMs?: number;
  /** Clock for webhook timestamps; injected by tests. */
  now?: () => number;
}

/**
 * Sends one notification per call and makes exactly one attempt: retries and backoff belong to the
 * activity's Temporal retry policy, which reads `DeliveryError.retryable` and `retryAfterMs`.
 */
export interface Deliverer {
  /** @throws DeliveryError */
  deliver(n: OutgoingNotification, signal?: AbortSignal): Promise<DeliveryReceipt>;
  /** Closes the pooled SMTP connections (worker shutdown). */
  close(): Promise<void>;
}

const defaultTimeoutMs = 10_000;

/** Builds the e-mail, webhook and SMS channels over one config; the SMTP pool opens on the first e-mail. */
export function createDeliverer(config: DeliveryConfig): Deliverer {
  const timeoutMs = config.timeoutMs ?? defaultTimeoutMs;
  const now = config.now ?? Date.now;
  const email = createEmailChannel({ smtpUrl: config.smtpUrl, smtpFrom: config.smtpFrom, timeoutMs });

  return {
    async deliver(n, signal) {
      const timeout = AbortSignal.timeout(timeoutMs);
      const attempt = signal ? AbortSignal.any([signal, timeout]) : timeout;
      switch (n.channel) {
        case 'email':
          return email.send(n, attempt);
        case 'webhook':
          return sendWebhook({ guard: config.guard, secret: config.webhookSecret, now }, n, attempt);
        case 'sms':
          return sendSms({ guard: config.guard, gatewayUrl: config.smsGatewayUrl, token: config.smsGatewayToken }, n, attempt);
        default:
          throw new DeliveryError(n.channel, `channel ${String(n.channel)} is not delivered externally`, { retryable: false });
      }
    },
    close: () => email.close(),
  };
}
