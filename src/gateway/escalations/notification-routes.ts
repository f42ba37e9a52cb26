import { listNotificationsFilter } from '../../escalations/contracts/event-api.js';
import { listNotifications, markNotificationRead, type NotificationRow } from '../../escalations/notifications/notification-store.js';
import { idParams, pageQuery } from '../common.js';
import type { RouteContext } from '../deps.js';
import { NotFoundError } from '../../errors.js';
import { defineListRoute } from '../list-route.js';
import { defineRoute } from '../route.js';
import { toIso } from '../serialize.js';

const view = (n: NotificationRow) => {
  const { idempotencyKey: _key, ...rest } = n;
  return { ...toIso(rest), level: n.level + 1, pass: n.pass + 1 };
};

const listQuery = pageQuery.merge(listNotificationsFilter);

/** The notification log, and the in-app inbox: `GET /v1/notifications?userId=…&channel=in_app&unread=true`. */
export function registerNotificationRoutes({ router, registry, deps }: RouteContext): void {
  const { db } = deps;
  const tag = 'Escalations';
  defineListRoute(router, registry, {
    path: '/v1/notifications', tag, summary: 'Notifications (every delivery, and the in-app inbox), newest first', permission: 'escalations:read',
    query: listQuery, description: 'A page of notifications', view,
    rows: ({ query, auth }) => listNotifications(db, auth.projectId, query, query),
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
