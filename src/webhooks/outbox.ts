// The webhook outbox: an event becomes one delivery row per matching active subscription, written in the
// transaction of the state change that caused it, so an event is delivered if and only if it happened.
import { sql } from 'drizzle-orm';
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
 *
 * One statement per event (find the subscriptions, insert, notify): it sits in the transaction of every turn's
 * end, where a round trip is time on the answer's path. Statements of one transaction are pipelined by the
 * driver when issued together, so a caller may issue this alongside its other writes without awaiting each.
 */
export async function enqueueWebhookEvents(tx: DbOrTx, projectId: string, events: WebhookEvent[]): Promise<string[]> {
  const batches = await Promise.all(events.map((event) => enqueueOne(tx, projectId, event)));
  return batches.flat();
}

async function enqueueOne(tx: DbOrTx, projectId: string, event: WebhookEvent): Promise<string[]> {
  const patterns = patternsMatching(event.type);
  const payload = { type: event.type, timestamp: (event.at ?? new Date()).toISOString(), data: event.data };
  // At most 20 subscriptions per event, 37 bytes per id: far below NOTIFY's 8000-byte payload limit.
  const rows = await tx.execute<{ ids: string[] | null }>(sql`
    with subscriptions as (
      select ${webhookSubscription.id} as id from ${webhookSubscription}
      where ${webhookSubscription.projectId} = ${projectId}::uuid and ${webhookSubscription.active}
        and ${webhookSubscription.eventTypes} ?| array[${sql.join(patterns.map((p) => sql`${p}`), sql`, `)}]::text[]),
    inserted as (
      insert into ${webhookDelivery} (project_id, subscription_id, event_type, event_key, payload)
      select ${projectId}::uuid, s.id, ${event.type}::text, ${event.key}::text, ${JSON.stringify(payload)}::jsonb from subscriptions s
      on conflict (subscription_id, event_key) do nothing
      returning id)
    select (select array_agg(id::text) from inserted) as ids,
           (select pg_notify(${WEBHOOK_DELIVERIES_CHANNEL}, string_agg(id::text, ',')) from inserted having count(*) > 0) as notified`);
  return rows[0]?.ids ?? [];
}
