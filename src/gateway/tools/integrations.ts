import { findIntegration, integrationEventTypes, listIntegrationEvents, listIntegrations, type ConnectionRow } from '../../tools/integrations-store.js';
import { idParams, pageQuery } from '../common.js';
import type { RouteContext } from '../deps.js';
import { NotFoundError } from '../../errors.js';
import { z } from '../../zod.js';
import { defineListRoute } from '../list-route.js';
import { defineRoute } from '../route.js';
import { toIso } from '../serialize.js';

/** Never shows the sealed credentials of a connection. */
const connectionView = ({ credentialsEncrypted, credentialsKeyId: _k, ...c }: ConnectionRow) => ({
  ...toIso(c),
  hasCredentials: credentialsEncrypted !== null,
});
const eventsQuery = pageQuery.extend({ eventType: z.enum(integrationEventTypes).optional() });

export function registerIntegrationRoutes({ router, registry, deps }: RouteContext): void {
  const { db } = deps;
  const tag = 'Integrations';
  const load = async (projectId: string, id: string) => {
    const row = await findIntegration(db, projectId, id);
    if (!row) throw new NotFoundError('integration');
    return row;
  };

  defineListRoute(router, registry, {
    path: '/v1/integrations', tag, summary: 'MCP servers and OAuth2 connections of the project', permission: 'tools:read',
    query: pageQuery, description: 'A page of connections', view: connectionView,
    rows: ({ query, auth }) => listIntegrations(db, auth.projectId, query),
  });
  defineRoute(router, registry, {
    method: 'get', path: '/v1/integrations/:id', tag, summary: 'One connection', permission: 'tools:read', params: idParams,
    responses: { 200: { description: 'The connection' } },
    handler: async ({ params, auth }) => ({ status: 200, body: connectionView(await load(auth.projectId, params.id)) }),
  });
  defineListRoute(router, registry, {
    path: '/v1/integrations/:id/events', tag, summary: 'Events: connected, disconnected, tool used, error, refreshed (newest first)',
    permission: 'tools:read', params: idParams, query: eventsQuery, description: 'A page of events', view: toIso,
    rows: async ({ params, query, auth }) => {
      await load(auth.projectId, params.id);
      return listIntegrationEvents(db, params.id, query, query);
    },
  });
}
