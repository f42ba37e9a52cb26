/**
 * What the webhook dispatcher, the delivery workflow and its activities share: the workflow id, input and
 * result, and the failure types. No I/O: workflow code imports it.
 */

/** One delivery: one workflow per delivery row, never run twice (the dispatcher's second start is refused). */
export function webhookDeliveryWorkflowId(deliveryId: string): string {
  return `webhook:${deliveryId}`;
}

/** Raised by the delivery activity; the workflow's retry policy does not retry `rejected`. */
export const webhookFailureTypes = {
  /** The receiver refused the delivery for good (4xx other than 408/429, a redirect) or its address is refused. */
  rejected: 'WebhookRejected',
  /** Worth another attempt: 5xx, 408, 429, timeout, network. */
  failed: 'WebhookFailed',
} as const;

/** The retry schedule of a delivery's attempts (exponential backoff). */
export interface WebhookRetry {
  initialIntervalMs: number;
  maximumIntervalMs: number;
  maximumAttempts: number;
}

export interface WebhookDeliveryInput {
  deliveryId: string;
  projectId: string;
  eventType: string;
  /** Each attempt's HTTP deadline. */
  timeoutMs: number;
  retry: WebhookRetry;
}

export interface WebhookDeliveryResult {
  status: 'delivered' | 'failed' | 'gone';
  error?: string;
}

/** The delivery activity's input: ids and limits only; the URL, payload and secret are read from Postgres. */
export interface WebhookAttemptInput {
  deliveryId: string;
  timeoutMs: number;
}
