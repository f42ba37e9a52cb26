import { findIntegration, integrationEventTypes, listIntegrationEvents, listIntegrations, type ConnectionRow } from '../../tools/integrations-store.js';
import { idParams, pageQuery, pageSchema, toPage } from '../common.js';
import type { RouteContext } from '../deps.js';
import { NotFoundError } from '../../errors.js';
import { z } from '../../zod.js';
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

  defineRoute(router, registry, {
    method: 'get', path: '/v1/integrations', tag, summary: 'MCP servers and OAuth2 connections of the project', permission: 'tools:read',
    query: pageQuery, responses: { 200: { description: 'A page of connections', schema: pageSchema(z.record(z.string(), z.unknown())) } },
    handler: async ({ query, auth }) => {
      const rows = await listIntegrations(db, auth.projectId, query);
      return { status: 200, body: toPage(rows, query.limit, connectionView) };
    },
  });
  defineRoute(router, registry, {
    method: 'get', path: '/v1/integrations/:id', tag, summary: 'One connection', permission: 'tools:read', params: idParams,
    responses: { 200: { description: 'The connection' } },
    handler: async ({ params, auth }) => ({ status: 200, body: connectionView(await load(auth.projectId, params.id)) }),
  });
  defineRoute(router, registry, {
    method: 'get', path: '/v1/integrations/:id/events', tag, summary: 'Events: connected, disconnected, tool used, error, refreshed (newest first)',
    permission: 'tools:read', params: idParams, query: eventsQuery,
    responses: { 200: { description: 'A page of events', schema: pageSchema(z.record(z.string(), z.unknown())) } },
    handler: async ({ params, query, auth }) => {
      await load(auth.projectId, params.id);
      const rows = await listIntegrationEvents(db, params.id, query, query);
      return { status: 200, body: toPage(rows, query.limit, toIso) };
    },
  });
}
