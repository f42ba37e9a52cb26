import { ActivityFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { failureMessage, webhookFailureTypes, type WebhookDeliveryInput, type WebhookDeliveryResult } from './contracts/index.js';
import { store } from './proxies.js';

/**
 * One webhook delivery: attempts with exponential backoff (a few seconds first, then up to the maximum
 * interval, about a day in all by default) until the receiver answers 2xx, refuses for good (4xx other
 * than 408/429), or the attempts run out; then the row says delivered or failed. The history holds ids,
 * status codes and error messages only: the payload, URL and secret stay in Postgres.
 */
export async function runWebhookDelivery(input: WebhookDeliveryInput): Promise<WebhookDeliveryResult> {
  const { deliverWebhook } = proxyActivities<Activities>({
    startToCloseTimeout: input.timeoutMs + 5_000, // the activity aborts the request at timeoutMs itself
    summary: `webhook ${input.eventType}`,
    retry: {
      initialInterval: input.retry.initialIntervalMs,
      backoffCoefficient: 2,
      maximumInterval: input.retry.maximumIntervalMs,
      maximumAttempts: input.retry.maximumAttempts,
      nonRetryableErrorTypes: [webhookFailureTypes.rejected],
    },
  });
  try {
    return await deliverWebhook({ deliveryId: input.deliveryId, timeoutMs: input.timeoutMs });
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    await store.failWebhookDelivery({ deliveryId: input.deliveryId });
    return { status: 'failed', error: failureMessage(err) };
  }
}
