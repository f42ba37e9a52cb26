// Tenant isolation for webhooks lives here: every API read and write is filtered by project; deliveries are
// reached through their subscription, which the caller has loaded from the project.
import { and, count, eq, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../db/client.js';
import { selectPage, type PageRequest } from '../db/pagination.js';
import { webhookDelivery, webhookSubscription } from '../db/schema/index.js';
import { ConflictError } from '../errors.js';
import { MAX_WEBHOOKS_PER_PROJECT } from './contracts.js';

export type WebhookRow = typeof webhookSubscription.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDelivery.$inferSelect;

/**
 * Saves a subscription; the count and the insert run under a per-project advisory lock, so parallel
 * creates cannot all pass the cap. Throws {@link ConflictError} `webhook_limit_reached` beyond it.
 */
export async function createWebhook(
  db: Db,
  projectId: string,
  values: { url: string; eventTypes: string[]; description?: string | undefined; secretSealed: string },
): Promise<WebhookRow> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`webhooks:${projectId}`}, 0))`);
    const [held] = await tx.select({ n: count() }).from(webhookSubscription).where(eq(webhookSubscription.projectId, projectId));
    if ((held?.n ?? 0) >= MAX_WEBHOOKS_PER_PROJECT) {
      throw new ConflictError('webhook_limit_reached', `a project can hold ${MAX_WEBHOOKS_PER_PROJECT} webhooks; delete one first`);
    }
    const [row] = await tx
      .insert(webhookSubscription)
      .values({ projectId, url: values.url, eventTypes: values.eventTypes, description: values.description ?? null, secretSealed: values.secretSealed })
      .returning();
    return row!;
  });
}

/** The subscription if it belongs to the project; another project's is indistinguishable from none. */
export async function findWebhook(db: DbOrTx, projectId: string, id: string): Promise<WebhookRow | undefined> {
  const [row] = await db.select().from(webhookSubscription).where(and(eq(webhookSubscription.id, id), eq(webhookSubscription.projectId, projectId)));
  return row;
}

/** The project's subscriptions, newest first: `limit + 1` rows. */
export function listWebhooks(db: DbOrTx, projectId: string, page: PageRequest): Promise<WebhookRow[]> {
  return selectPage(db, webhookSubscription, eq(webhookSubscription.projectId, projectId), [], page);
}

/** Deletes the subscription and its deliveries (pending ones are then dropped by their workflow); false when not found. */
export async function deleteWebhook(db: DbOrTx, projectId: string, id: string): Promise<boolean> {
  const deleted = await db
    .delete(webhookSubscription)
    .where(and(eq(webhookSubscription.id, id), eq(webhookSubscription.projectId, projectId)))
    .returning({ id: webhookSubscription.id });
  return deleted.length > 0;
}

/** A subscription's deliveries, newest first, optionally of one status: `limit + 1` rows. */
export function listDeliveries(db: DbOrTx, subscriptionId: string, status: string | undefined, page: PageRequest): Promise<WebhookDeliveryRow[]> {
  return selectPage(db, webhookDelivery, eq(webhookDelivery.subscriptionId, subscriptionId), [status ? eq(webhookDelivery.status, status) : undefined], page);
}
