// Queries for notifications (deliveries and the in-app inbox); tenant scoping (the projectId filter) lives here.
import { and, asc, eq, isNull } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { selectPage, type PageRequest } from '../../db/pagination.js';
import { notification } from '../../db/schema/index.js';

export type NotificationRow = typeof notification.$inferSelect;

/** Filters of `GET /v1/notifications`; each one given narrows the list. */
export interface NotificationFilter {
  userId?: string | undefined;
  channel?: string | undefined;
  status?: string | undefined;
  eventId?: string | undefined;
  /** Only notifications nobody has marked read. */
  unread?: boolean;
}

/** A page of the project's notifications, newest first; returns `limit + 1` rows (see `toPage`). */
export function listNotifications(db: DbOrTx, projectId: string, filter: NotificationFilter, page: PageRequest): Promise<NotificationRow[]> {
  return selectPage(db, notification, eq(notification.projectId, projectId), [
    filter.userId ? eq(notification.targetUserId, filter.userId) : undefined,
    filter.channel ? eq(notification.channel, filter.channel) : undefined,
    filter.status ? eq(notification.status, filter.status) : undefined,
    filter.eventId ? eq(notification.escalationEventId, filter.eventId) : undefined,
    filter.unread ? isNull(notification.readAt) : undefined,
  ], page);
}

/** Every delivery of an event, oldest first; the event was found in the caller's project. */
export function listEventDeliveries(db: DbOrTx, eventId: string): Promise<NotificationRow[]> {
  return db.select().from(notification).where(eq(notification.escalationEventId, eventId)).orderBy(asc(notification.createdAt), asc(notification.id));
}

/**
 * Marks the project's notification read (an in-app one also gets status `read`); one already read is
 * returned unchanged. Undefined when the project has no such notification.
 */
export async function markNotificationRead(db: DbOrTx, projectId: string, id: string): Promise<NotificationRow | undefined> {
  const [row] = await db.select().from(notification).where(and(eq(notification.id, id), eq(notification.projectId, projectId)));
  if (!row || row.readAt) return row;
  const [updated] = await db
    .update(notification)
    .set({ readAt: new Date(), ...(row.channel === 'in_app' ? { status: 'read' } : {}) })
    .where(eq(notification.id, row.id))
    .returning();
  return updated!;
}
