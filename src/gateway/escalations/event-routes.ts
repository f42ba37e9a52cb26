import { findConversation } from '../../conversations/store.js';
import { commandBody, idempotencyHeader, listEventsFilter, manualEscalationBody, snoozeBody } from '../../escalations/contracts/event-api.js';
import { EscalationCommandRefusedError, pickManualRule, sendEscalationCommand, startManualEscalation } from '../../escalations/events/event-commands.js';
import { findEvent, listEvents, type EventRow } from '../../escalations/events/event-store.js';
import { levelNumber, notificationCounts, timelineView } from '../../escalations/events/event-view.js';
import { listEventDeliveries, type NotificationRow } from '../../escalations/notifications/notification-store.js';
import type { EscalationUpdateName } from '../../../workflows/contracts/index.js';
import { idParams, pageQuery } from '../common.js';
import type { RouteContext } from '../deps.js';
import { ConflictError, NotFoundError } from '../../errors.js';
import { defineListRoute } from '../list-route.js';
import { defineRoute } from '../route.js';
import { toIso } from '../serialize.js';
import { registerNotificationRoutes } from './notification-routes.js';

/**
 * The API view of an event: no dedupe key; the frozen policy as `policy`. Levels and passes count from 1:
 * `level` is the level being notified; `currentLevel` (the same, from 0) stays for older clients and is
 * deprecated.
 */
export function eventView(e: EventRow) {
  const { dedupeKey: _dedupe, policySnapshot, timeline, ...rest } = e;
  return { ...toIso(rest), level: levelNumber(e.currentLevel), timeline: timelineView(timeline), policy: policySnapshot };
}

/** Deliveries as the event shows them: bodies stay out (they carry the signed links of their recipient). */
const deliveryView = (n: NotificationRow) => {
  const { body: _body, idempotencyKey: _key, ...rest } = n;
  return { ...toIso(rest), level: n.level + 1, pass: n.pass + 1 };
};

const listQuery = pageQuery.merge(listEventsFilter);

export function registerEscalationRoutes({ router, registry, deps }: RouteContext): void {
  const { db } = deps;
  const tag = 'Escalations';
  const load = async (projectId: string, id: string) => {
    const row = await findEvent(db, projectId, id);
    if (!row) throw new NotFoundError('escalation');
    return row;
  };

  defineListRoute(router, registry, {
    path: '/v1/escalations', tag, summary: 'Escalation events, newest first', permission: 'escalations:read',
    query: listQuery, description: 'A page of escalations', view: eventView,
    rows: ({ query, auth }) => listEvents(db, auth.projectId, query, query),
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/escalations/:id', tag, summary: 'An escalation with its timeline and deliveries', permission: 'escalations:read',
    params: idParams, responses: { 200: { description: 'The escalation' } },
    handler: async ({ params, auth }) => {
      const event = await load(auth.projectId, params.id);
      const deliveries = await listEventDeliveries(db, event.id);
      return { status: 200, body: { ...eventView(event), notifications: notificationCounts(deliveries), deliveries: deliveries.map(deliveryView) } };
    },
  });

  const commands: { name: EscalationUpdateName; summary: string; body: typeof commandBody | typeof snoozeBody }[] = [
    { name: 'acknowledge', summary: 'Acknowledge: stops escalating to further levels (repeating is harmless)', body: commandBody },
    { name: 'resolve', summary: 'Resolve: closes the escalation', body: commandBody },
    { name: 'ignore', summary: 'Ignore: closes the escalation without action', body: commandBody },
    { name: 'snooze', summary: 'Snooze until a time; then it is pending again and re-notified', body: snoozeBody },
  ];
  for (const c of commands) {
    defineRoute(router, registry, {
      method: 'post', path: `/v1/escalations/:id/${c.name}`, tag, summary: c.summary, permission: 'escalations:ack',
      params: idParams, body: c.body,
      responses: { 200: { description: 'The escalation after the workflow took the command' }, 409: { description: 'The escalation is closed or refused the command' } },
      handler: async ({ params, body, auth }) => {
        const event = await load(auth.projectId, params.id);
        try {
          const after = await sendEscalationCommand(db, deps.temporal, event, c.name, { actor: `api_key:${auth.keyId}`, ...body });
          return { status: 200, body: eventView(after) };
        } catch (err) {
          if (err instanceof EscalationCommandRefusedError) throw new ConflictError(err.code, err.message, { status: err.status });
          throw err;
        }
      },
    });
  }

  defineRoute(router, registry, {
    method: 'post', path: '/v1/conversations/:id/escalations', tag, summary: 'Escalate a conversation by hand (manual rule)', permission: 'escalations:write',
    params: idParams, body: manualEscalationBody, headers: idempotencyHeader,
    responses: { 201: { description: 'Escalation opened and its workflow started' }, 200: { description: 'Same Idempotency-Key: the first escalation' }, 409: { description: 'No active manual rule' } },
    handler: async ({ params, body, auth, req }) => {
      const conv = await findConversation(db, auth.projectId, params.id);
      if (!conv) throw new NotFoundError('conversation');
      const rule = await pickManualRule(db, conv.agentId, body.ruleId);
      const key = req.get('idempotency-key');
      const { event, created, workflowId } = await startManualEscalation(db, deps.temporal, deps.settings.taskQueue, rule, {
        conversationId: conv.id, eventType: 'manual', reason: body.reason,
        triggerData: { reason: body.reason, requestedBy: `api_key:${auth.keyId}` },
        ...(key ? { dedupeKey: `manual:${auth.projectId}:${key.slice(0, 200)}` } : {}),
      });
      // The workflow writes its id on the row once it runs, usually after this answer: say which it is now.
      return { status: created ? 201 : 200, body: { ...eventView(event), workflowId: event.workflowId ?? workflowId }, headers: { Location: `/v1/escalations/${event.id}` } };
    },
  });

  registerNotificationRoutes({ router, registry, deps });
}
