// The webhook outbox: an event becomes one delivery row per matching active subscription, written in the
// transaction of the state change that caused it, so an event is delivered if and only if it happened.
import { and, eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { webhookDelivery, webhookSubscription } from '../db/schema/index.js';
import { patternsMatching, type WebhookEventKind } from './contracts.js';

/** NOTIFY channel that wakes the dispatcher; the payload is the new delivery ids, comma-separated. */
export const WEBHOOK_DELIVERIES_CHANNEL = 'webhook_deliveries';

export interface WebhookEvent {
  type: WebhookEventKind;
  /**
   * The event's idempotency key (sent as `Webhook-Id`), deterministic so that the same event recorded twice
   * (a retried activity) is delivered once: e.g. `turn.completed:<conversationId>:<turnIndex>`.
   */
  key: string;
  data: Record<string, unknown>;
  /** When the event happened; the envelope's `timestamp`. */
  at?: Date;
}

/**
 * Inserts the deliveries of `events` for the project's active subscriptions whose kinds match (ON CONFLICT
 * DO NOTHING on (subscription, event key)) and NOTIFYs the dispatcher at commit. Call it with the
 * transaction that records the events. Returns the new deliveries' ids.
 */
export async function enqueueWebhookEvents(tx: DbOrTx, projectId: string, events: WebhookEvent[]): Promise<string[]> {
  const ids: string[] = [];
  for (const event of events) {
    const patterns = patternsMatching(event.type);
    const subscriptions = await tx
      .select({ id: webhookSubscription.id })
      .from(webhookSubscription)
      .where(
        and(
          eq(webhookSubscription.projectId, projectId),
          eq(webhookSubscription.active, true),
          sql`${webhookSubscription.eventTypes} ?| array[${sql.join(patterns.map((p) => sql`${p}`), sql`, `)}]::text[]`,
        ),
      );
    if (subscriptions.length === 0) continue;
    const payload = { type: event.type, timestamp: (event.at ?? new Date()).toISOString(), data: event.data };
    const inserted = await tx
      .insert(webhookDelivery)
      .values(subscriptions.map((s) => ({ projectId, subscriptionId: s.id, eventType: event.type, eventKey: event.key, payload })))
      .onConflictDoNothing({ target: [webhookDelivery.subscriptionId, webhookDelivery.eventKey] })
      .returning({ id: webhookDelivery.id });
    ids.push(...inserted.map((r) => r.id));
  }
  // At most 20 subscriptions per event, 37 bytes per id: far below NOTIFY's 8000-byte payload limit per event.
  for (let i = 0; i < ids.length; i += 100) {
    await tx.execute(sql`select pg_notify(${WEBHOOK_DELIVERIES_CHANNEL}, ${ids.slice(i, i + 100).join(',')})`);
  }
  return ids;
}
