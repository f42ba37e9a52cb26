import { NotFoundError, ValidationError } from '../../errors.js';
import { createNetGuard } from '../../net/net-guard.js';
import { OutboundError } from '../../net/outbound-error.js';
import { z } from '../../zod.js';
import { createdWebhookSchema, createWebhookBody, webhookDeliverySchema, webhookDeliveryStatuses, webhookSchema } from '../../webhooks/contracts.js';
import { sealWebhookSecret } from '../../webhooks/secret.js';
import { generateSigningSecret } from '../../webhooks/signing.js';
import * as webhooks from '../../webhooks/store.js';
import { idParams, pageQuery } from '../common.js';
import type { RouteContext } from '../deps.js';
import { defineListRoute } from '../list-route.js';
import { defineRoute } from '../route.js';
import { toIso } from '../serialize.js';

const webhookView = ({ projectId: _p, secretSealed: _s, ...row }: webhooks.WebhookRow) => toIso(row);
const deliveryView = ({ projectId: _p, ...row }: webhooks.WebhookDeliveryRow) => toIso(row);
const deliveriesQuery = pageQuery.extend({ status: z.enum(webhookDeliveryStatuses).optional() });

/**
 * A project's webhook subscriptions and their deliveries. The URL passes the tool calls' outbound-address
 * policy when it is saved (and again on every delivery); the signing secret is made here, sealed, and
 * shown once, in the create response.
 */
export function registerWebhookRoutes({ router, registry, deps }: RouteContext): void {
  const { db } = deps;
  const guard = deps.netGuard ?? createNetGuard({ allow: [] });
  const tag = 'Webhooks';

  defineRoute(router, registry, {
    method: 'post', path: '/v1/webhooks', tag, summary: 'Subscribe a URL to events (the signing secret is in this response only)', permission: 'webhooks:write',
    body: createWebhookBody,
    responses: { 201: { description: 'Created, with its secret', schema: createdWebhookSchema }, 409: { description: 'Too many webhooks (webhook_limit_reached)' } },
    handler: async ({ body, auth }) => {
      await checkDestination(guard, body.url);
      const secret = generateSigningSecret();
      const row = await webhooks.createWebhook(db, auth.projectId, { ...body, secretSealed: sealWebhookSecret(deps.keyring, secret) });
      return { status: 201, body: { ...webhookView(row), secret }, headers: { Location: `/v1/webhooks/${row.id}` } };
    },
  });

  defineListRoute(router, registry, {
    path: '/v1/webhooks', tag, summary: 'List webhooks, newest first', permission: 'webhooks:read', query: pageQuery,
    description: 'A page of webhooks', item: webhookSchema, view: webhookView,
    rows: ({ query, auth }) => webhooks.listWebhooks(db, auth.projectId, query),
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/webhooks/:id', tag, summary: 'Get a webhook', permission: 'webhooks:read', params: idParams,
    responses: { 200: { description: 'The webhook', schema: webhookSchema } },
    handler: async ({ params, auth }) => {
      const row = await webhooks.findWebhook(db, auth.projectId, params.id);
      if (!row) throw new NotFoundError('webhook');
      return { status: 200, body: webhookView(row) };
    },
  });

  defineRoute(router, registry, {
    method: 'delete', path: '/v1/webhooks/:id', tag, summary: 'Delete a webhook and its deliveries (pending ones are not sent)', permission: 'webhooks:write',
    params: idParams,
    responses: { 204: { description: 'Deleted' } },
    handler: async ({ params, auth }) => {
      if (!(await webhooks.deleteWebhook(db, auth.projectId, params.id))) throw new NotFoundError('webhook');
      return { status: 204 };
    },
  });

  defineListRoute(router, registry, {
    path: '/v1/webhooks/:id/deliveries', tag, summary: "A webhook's deliveries with their attempts, newest first", permission: 'webhooks:read',
    params: idParams, query: deliveriesQuery, description: 'A page of deliveries', item: webhookDeliverySchema, view: deliveryView,
    rows: async ({ params, query, auth }) => {
      if (!(await webhooks.findWebhook(db, auth.projectId, params.id))) throw new NotFoundError('webhook');
      return webhooks.listDeliveries(db, params.id, query.status, query);
    },
  });
}

/** 400 when the URL's host is refused by the outbound-address policy or does not resolve. */
async function checkDestination(guard: ReturnType<typeof createNetGuard>, url: string): Promise<void> {
  try {
    await guard.resolve(new URL(url), AbortSignal.timeout(5_000));
  } catch (err) {
    const message = err instanceof OutboundError ? err.message : 'the host could not be checked';
    throw new ValidationError(`invalid request: body.url: ${message}`, [{ field: 'body.url', message }]);
  }
}
