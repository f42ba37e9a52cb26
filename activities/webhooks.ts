import { activityInfo, ApplicationFailure, Context } from '@temporalio/activity';
import type { Db } from '../src/db/client.js';
import type { NetGuard } from '../src/net/net-guard.js';
import type { CredentialKeyring } from '../src/tools/credentials.js';
import { findDeliveryTarget, markDeliveryFailed, recordDeliveryAttempt } from '../src/webhooks/delivery-store.js';
import { openWebhookSecret } from '../src/webhooks/secret.js';
import { sendWebhook } from '../src/webhooks/send.js';
import { webhookFailureTypes, type WebhookAttemptInput, type WebhookDeliveryResult } from '../workflows/contracts/index.js';

export interface WebhookActivityDeps {
  db: Db;
  /** The outbound-address policy of tool calls. */
  guard: NetGuard;
  keyring: CredentialKeyring | null;
  now?: () => number;
}

export function createWebhookActivities(deps: WebhookActivityDeps) {
  const now = deps.now ?? Date.now;
  return {
    /**
     * One attempt of one delivery: read the delivery and its subscription, sign, POST, record the attempt
     * (status code or error, never a body beyond a short excerpt, never the secret). A delivery no longer
     * pending (already delivered, or its subscription deleted) is left alone.
     */
    async deliverWebhook(input: WebhookAttemptInput): Promise<WebhookDeliveryResult> {
      const target = await findDeliveryTarget(deps.db, input.deliveryId);
      if (!target) return { status: 'gone' };
      if (target.status !== 'pending') return { status: target.status === 'delivered' ? 'delivered' : 'failed' };
      if (!deps.keyring) {
        throw ApplicationFailure.create({ type: webhookFailureTypes.rejected, message: 'this worker has no TOOL_CREDENTIALS_KEYS to open the signing secret', nonRetryable: true });
      }
      const secret = openWebhookSecret(deps.keyring, target.secretSealed);
      const signal = AbortSignal.any([Context.current().cancellationSignal, AbortSignal.timeout(input.timeoutMs)]);
      const at = now();
      const outcome = await sendWebhook(deps.guard, { url: target.url, eventKey: target.eventKey, payload: target.payload, secret }, { signal, nowMs: at });
      const attempt = activityInfo().attempt;
      await recordDeliveryAttempt(
        deps.db,
        target.id,
        { attempt, at: new Date(at).toISOString(), durationMs: outcome.durationMs, ...(outcome.statusCode ? { statusCode: outcome.statusCode } : {}), ...(outcome.kind === 'delivered' ? {} : { error: outcome.error }) },
        outcome.kind === 'delivered',
      );
      if (outcome.kind === 'delivered') return { status: 'delivered' };
      throw ApplicationFailure.create({
        type: outcome.kind === 'rejected' ? webhookFailureTypes.rejected : webhookFailureTypes.failed,
        message: outcome.error,
        nonRetryable: outcome.kind === 'rejected',
        ...(outcome.kind === 'retry' && outcome.retryAfterMs ? { nextRetryDelay: outcome.retryAfterMs } : {}),
      });
    },

    /** Marks a delivery failed once the workflow gives up on it (refused for good, or out of attempts). */
    async failWebhookDelivery(input: { deliveryId: string }): Promise<void> {
      await markDeliveryFailed(deps.db, input.deliveryId);
    },
  };
}
