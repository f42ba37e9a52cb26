import { eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { escalationEvent, notification } from '../../db/schema/index.js';
import type { Channel, EscalationSnapshot } from '../../../workflows/contracts/index.js';
import { DeliveryError, type Deliverer } from './deliverer.js';

/** Thrown when a notification row is missing or cannot be sent at all; the workflow records it as failed. */
export class NotificationUndeliverableError extends Error {}

/**
 * Sends one stored notification. Already sent → nothing happens (a retried activity never sends twice
 * once the send was recorded). Each attempt counts in `attempts`; the last error is kept on the row.
 * Failures are rethrown for Temporal to retry (or not, for `DeliveryError.retryable === false`).
 */
export async function deliverStoredNotification(db: DbOrTx, deliverer: Deliverer, notificationId: string, signal?: AbortSignal): Promise<{ status: string }> {
  const [row] = await db.select().from(notification).where(eq(notification.id, notificationId));
  if (!row) throw new NotificationUndeliverableError(`notification ${notificationId} does not exist`);
  if (row.status === 'sent' || row.status === 'read') return { status: row.status };
  if (row.status === 'failed' || !row.targetAddress || row.channel === 'in_app') return { status: row.status };
  const [event] = row.escalationEventId ? await db.select().from(escalationEvent).where(eq(escalationEvent.id, row.escalationEventId)) : [];
  const snapshot = event?.policySnapshot as unknown as EscalationSnapshot | undefined;
  await db.update(notification).set({ attempts: sql`${notification.attempts} + 1` }).where(eq(notification.id, row.id));
  try {
    await deliverer.deliver(
      {
        notificationId: row.id,
        eventId: row.escalationEventId ?? '',
        channel: row.channel as Exclude<Channel, 'in_app'>,
        to: row.targetAddress,
        subject: row.subject,
        body: row.body,
        idempotencyKey: row.idempotencyKey,
        data: {
          level: row.level + 1,
          pass: row.pass + 1,
          status: event?.status ?? null,
          priority: snapshot?.priority ?? null,
          rule: snapshot ? { id: snapshot.ruleId, name: snapshot.ruleName, type: snapshot.ruleType } : null,
          agentId: event?.agentId ?? null,
          conversationId: event?.conversationId ?? null,
          reason: event?.reason ?? null,
        },
      },
      signal,
    );
    await db.update(notification).set({ status: 'sent', sentAt: new Date(), error: null }).where(eq(notification.id, row.id));
    return { status: 'sent' };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const permanent = err instanceof DeliveryError && !err.retryable;
    await db.update(notification).set({ error: message.slice(0, 1000), ...(permanent ? { status: 'failed' } : {}) }).where(eq(notification.id, row.id));
    throw err;
  }
}

/** After the last retry: the row says the delivery failed, with the last error kept. */
export async function markNotificationFailed(db: DbOrTx, notificationId: string, error: string): Promise<void> {
  await db.update(notification).set({ status: 'failed', error: error.slice(0, 1000) }).where(eq(notification.id, notificationId));
}
