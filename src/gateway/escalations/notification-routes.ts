import { listNotificationsFilter } from '../../escalations/contracts/event-api.js';
import { listNotifications, markNotificationRead, type NotificationRow } from '../../escalations/notifications/notification-store.js';
import { idParams, pageQuery, pageSchema, toPage } from '../common.js';
import type { RouteContext } from '../deps.js';
import { NotFoundError } from '../../errors.js';
import { z } from '../../zod.js';
import { defineRoute } from '../route.js';
import { toIso } from '../serialize.js';

const view = (n: NotificationRow) => {
  const { idempotencyKey: _key, ...rest } = n;
  return { ...toIso(rest), level: n.level + 1 };
};

const listQuery = pageQuery.merge(listNotificationsFilter);

/** The notification log, and the in-app inbox: `GET /v1/notifications?userId=…&channel=in_app&unread=true`. */
export function registerNotificationRoutes({ router, registry, deps }: RouteContext): void {
  const { db } = deps;
  const tag = 'Escalations';
  defineRoute(router, registry, {
    method: 'get', path: '/v1/notifications', tag, summary: 'Notifications (every delivery, and the in-app inbox), newest first', permission: 'escalations:read',
    query: listQuery, responses: { 200: { description: 'A page of notifications', schema: pageSchema(z.record(z.string(), z.unknown())) } },
    handler: async ({ query, auth }) => {
      const rows = await listNotifications(db, auth.projectId, query, query);
      return { status: 200, body: toPage(rows, query.limit, view) };
    },
  });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/notifications/:id/read', tag, summary: 'Mark an in-app notification read', permission: 'escalations:ack',
    params: idParams, responses: { 200: { description: 'The notification' } },
    handler: async ({ params, auth }) => {
      const row = await markNotificationRead(db, auth.projectId, params.id);
      if (!row) throw new NotFoundError('notification');
      return { status: 200, body: view(row) };
    },
  });
}
