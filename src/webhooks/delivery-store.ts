// The worker's side of deliveries: reached by delivery id, which only the dispatcher (from the outbox) holds.
import { and, asc, eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { webhookDelivery, webhookSubscription, type WebhookAttempt } from '../db/schema/index.js';

/** What one attempt needs: the delivery and its subscription's URL and sealed secret. */
export interface DeliveryTarget {
  id: string;
  projectId: string;
  status: string;
  eventKey: string;
  payload: Record<string, unknown>;
  url: string;
  secretSealed: string;
}

export async function findDeliveryTarget(db: DbOrTx, deliveryId: string): Promise<DeliveryTarget | undefined> {
  const [row] = await db
    .select({
      id: webhookDelivery.id, projectId: webhookDelivery.projectId, status: webhookDelivery.status, eventKey: webhookDelivery.eventKey,
      payload: webhookDelivery.payload, url: webhookSubscription.url, secretSealed: webhookSubscription.secretSealed,
    })
    .from(webhookDelivery)
    .innerJoin(webhookSubscription, eq(webhookSubscription.id, webhookDelivery.subscriptionId))
    .where(eq(webhookDelivery.id, deliveryId));
  return row;
}

/**
 * Appends one attempt to a pending delivery (and marks it delivered when it succeeded). Keyed on the attempt
 * number, so a retried write of the same attempt records it once.
 */
export async function recordDeliveryAttempt(db: DbOrTx, deliveryId: string, attempt: WebhookAttempt, delivered: boolean): Promise<void> {
  await db
    .update(webhookDelivery)
    .set({
      attempts: sql`${webhookDelivery.attempts} || ${JSON.stringify([attempt])}::jsonb`,
      attemptCount: sql`${webhookDelivery.attemptCount} + 1`,
      ...(delivered ? { status: 'delivered', deliveredAt: new Date(attempt.at) } : {}),
    })
    .where(
      and(
        eq(webhookDelivery.id, deliveryId),
        eq(webhookDelivery.status, 'pending'),
        sql`not (${webhookDelivery.attempts} @> ${JSON.stringify([{ attempt: attempt.attempt }])}::jsonb)`,
      ),
    );
}

/** Gives up on a delivery that is still pending (a permanent refusal, or every attempt used). */
export async function markDeliveryFailed(db: DbOrTx, deliveryId: string): Promise<void> {
  await db
    .update(webhookDelivery)
    .set({ status: 'failed' })
    .where(and(eq(webhookDelivery.id, deliveryId), eq(webhookDelivery.status, 'pending')));
}

/**
 * Pending deliveries no attempt has been recorded for yet, oldest first: what the dispatcher (re)starts
 * after a missed NOTIFY. Served by the partial index on pending rows.
 */
export async function undispatchedDeliveries(db: DbOrTx, limit: number): Promise<{ id: string; projectId: string; eventType: string }[]> {
  return db
    .select({ id: webhookDelivery.id, projectId: webhookDelivery.projectId, eventType: webhookDelivery.eventType })
    .from(webhookDelivery)
    .where(and(eq(webhookDelivery.status, 'pending'), eq(webhookDelivery.attemptCount, 0)))
    .orderBy(asc(webhookDelivery.createdAt))
    .limit(limit);
}
