import { and, desc, eq } from 'drizzle-orm';
import { integrationConnection, integrationEvent } from '../../db/schema/index.js';
import { idParams, keyset, pageQuery, pageSchema, toPage } from '../common.js';
import type { RouteContext } from '../deps.js';
import { NotFoundError } from '../../errors.js';
import { z } from '../../zod.js';
import { defineRoute } from '../route.js';
import { toIso } from '../serialize.js';

type ConnectionRow = typeof integrationConnection.$inferSelect;
/** Never shows the sealed credentials of a connection. */
const connectionView = ({ credentialsEncrypted, credentialsKeyId: _k, ...c }: ConnectionRow) => ({
  ...toIso(c),
  hasCredentials: credentialsEncrypted !== null,
});
const eventsQuery = pageQuery.extend({ eventType: z.enum(['connected', 'disconnected', 'tool_used', 'error', 'refreshed']).optional() });

export function registerIntegrationRoutes({ router, registry, deps }: RouteContext): void {
  const { db } = deps;
  const tag = 'Integrations';
  const load = async (projectId: string, id: string) => {
    const [row] = await db.select().from(integrationConnection).where(and(eq(integrationConnection.id, id), eq(integrationConnection.projectId, projectId)));
    if (!row) throw new NotFoundError('integration');
    return row;
  };

  defineRoute(router, registry, {
    method: 'get', path: '/v1/integrations', tag, summary: 'MCP servers and OAuth2 connections of the project', permission: 'tools:read',
    query: pageQuery, responses: { 200: { description: 'A page of connections', schema: pageSchema(z.record(z.string(), z.unknown())) } },
    handler: async ({ query, auth }) => {
      const page = keyset(integrationConnection, query.cursor);
      const rows = await db.select().from(integrationConnection)
        .where(and(eq(integrationConnection.projectId, auth.projectId), page.where)).orderBy(...page.orderBy).limit(query.limit + 1);
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
      const cursor = query.cursor ? keyset(integrationEvent, query.cursor) : undefined;
      const rows = await db.select().from(integrationEvent)
        .where(and(
          eq(integrationEvent.integrationId, params.id),
          query.eventType ? eq(integrationEvent.eventType, query.eventType) : undefined,
          cursor?.where,
        ))
        .orderBy(desc(integrationEvent.createdAt), desc(integrationEvent.id))
        .limit(query.limit + 1);
      return { status: 200, body: toPage(rows, query.limit, toIso) };
    },
  });
}

