import { and, eq, isNull } from 'drizzle-orm';
import { notification } from '../../db/schema/index.js';
import { channels } from '../../../workflows/contracts/index.js';
import { idParams, keyset, pageQuery, pageSchema, toPage } from '../common.js';
import type { RouteContext } from '../deps.js';
import { NotFoundError } from '../../errors.js';
import { z } from '../../zod.js';
import { defineRoute } from '../route.js';
import { toIso } from '../serialize.js';

type NotificationRow = typeof notification.$inferSelect;
const view = (n: NotificationRow) => {
  const { idempotencyKey: _key, ...rest } = n;
  return { ...toIso(rest), level: n.level + 1 };
};

const listQuery = pageQuery.extend({
  userId: z.string().uuid().optional(),
  channel: z.enum(channels).optional(),
  status: z.enum(['pending', 'sent', 'failed', 'read']).optional(),
  eventId: z.string().uuid().optional(),
  unread: z.enum(['true', 'false']).optional().transform((v) => v === 'true'),
});

/** The notification log, and the in-app inbox: `GET /v1/notifications?userId=…&channel=in_app&unread=true`. */
export function registerNotificationRoutes({ router, registry, deps }: RouteContext): void {
  const { db } = deps;
  const tag = 'Escalations';
  defineRoute(router, registry, {
    method: 'get', path: '/v1/notifications', tag, summary: 'Notifications (every delivery, and the in-app inbox), newest first', permission: 'escalations:read',
    query: listQuery, responses: { 200: { description: 'A page of notifications', schema: pageSchema(z.record(z.string(), z.unknown())) } },
    handler: async ({ query, auth }) => {
      const page = keyset(notification, query.cursor);
      const rows = await db
        .select()
        .from(notification)
        .where(and(
          eq(notification.projectId, auth.projectId),
          query.userId ? eq(notification.targetUserId, query.userId) : undefined,
          query.channel ? eq(notification.channel, query.channel) : undefined,
          query.status ? eq(notification.status, query.status) : undefined,
          query.eventId ? eq(notification.escalationEventId, query.eventId) : undefined,
          query.unread ? isNull(notification.readAt) : undefined,
          page.where,
        ))
        .orderBy(...page.orderBy)
        .limit(query.limit + 1);
      return { status: 200, body: toPage(rows, query.limit, view) };
    },
  });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/notifications/:id/read', tag, summary: 'Mark an in-app notification read', permission: 'escalations:ack',
    params: idParams, responses: { 200: { description: 'The notification' } },
    handler: async ({ params, auth }) => {
      const [row] = await db.select().from(notification).where(and(eq(notification.id, params.id), eq(notification.projectId, auth.projectId)));
      if (!row) throw new NotFoundError('notification');
      if (row.readAt) return { status: 200, body: view(row) };
      const [updated] = await db
        .update(notification)
        .set({ readAt: new Date(), ...(row.channel === 'in_app' ? { status: 'read' } : {}) })
        .where(eq(notification.id, row.id))
        .returning();
      return { status: 200, body: view(updated!) };
    },
  });
}
