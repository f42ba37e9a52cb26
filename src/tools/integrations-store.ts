// Project-scoped queries on integration connections and their events; tenant scoping lives here.
import { and, eq } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { selectPage, type PageRequest } from '../db/pagination.js';
import { integrationConnection, integrationEvent } from '../db/schema/index.js';
import type { ToolCredentials } from './types.js';

export type ConnectionRow = typeof integrationConnection.$inferSelect;
export type IntegrationEventRow = typeof integrationEvent.$inferSelect;
export const integrationEventTypes = ['connected', 'disconnected', 'tool_used', 'error', 'refreshed'] as const;
export type IntegrationEventType = (typeof integrationEventTypes)[number];

/** Which tools are integrations: MCP servers, and anything authenticating with OAuth2 client credentials. */
export function integrationKind(tool: { toolType: string; authMethod: string }): 'mcp' | 'oauth2' | null {
  if (tool.toolType === 'mcp') return 'mcp';
  if (tool.authMethod === 'oauth2') return 'oauth2';
  return null;
}

/** What an integration connection shows: where it points, never a secret. */
export function connectionConfig(config: Record<string, unknown>, credentials: ToolCredentials | undefined): Record<string, unknown> {
  return {
    ...(typeof config.url === 'string' ? { url: config.url } : {}),
    ...(credentials?.type === 'oauth2' ? { tokenUrl: credentials.tokenUrl, clientId: credentials.clientId, scope: credentials.scope } : {}),
  };
}

/** Creates the connection of a new integration tool and records that it was connected. */
export async function connectIntegration(
  db: DbOrTx,
  p: { projectId: string; kind: 'mcp' | 'oauth2'; name: string; config: Record<string, unknown> },
): Promise<string> {
  const [conn] = await db.insert(integrationConnection).values({ ...p, status: 'connected' }).returning({ id: integrationConnection.id });
  await recordIntegrationEvent(db, { projectId: p.projectId, integrationId: conn!.id, eventType: 'connected' });
  return conn!.id;
}

export async function disconnectIntegration(db: DbOrTx, projectId: string, integrationId: string): Promise<void> {
  await db
    .update(integrationConnection)
    .set({ status: 'disconnected' })
    .where(and(eq(integrationConnection.id, integrationId), eq(integrationConnection.projectId, projectId)));
  await recordIntegrationEvent(db, { projectId, integrationId, eventType: 'disconnected' });
}

export async function recordIntegrationEvent(
  db: DbOrTx,
  p: {
    projectId: string;
    integrationId: string;
    eventType: IntegrationEventType;
    toolName?: string;
    toolParameters?: Record<string, unknown>;
    toolResult?: unknown;
    errorMessage?: string;
    errorCode?: string;
  },
): Promise<void> {
  await db.insert(integrationEvent).values(p);
}

/** The connection if it belongs to the project. */
export async function findIntegration(db: DbOrTx, projectId: string, id: string): Promise<ConnectionRow | undefined> {
  const [row] = await db
    .select()
    .from(integrationConnection)
    .where(and(eq(integrationConnection.id, id), eq(integrationConnection.projectId, projectId)));
  return row;
}

/** A page (`limit + 1` rows, newest first) of the project's connections. */
export function listIntegrations(db: DbOrTx, projectId: string, page: PageRequest): Promise<ConnectionRow[]> {
  return selectPage(db, integrationConnection, eq(integrationConnection.projectId, projectId), [], page);
}

/** A page (`limit + 1` rows, newest first) of the events of a connection the caller has loaded from the project. */
export function listIntegrationEvents(
  db: DbOrTx,
  integrationId: string,
  filter: { eventType?: IntegrationEventType | undefined },
  page: PageRequest,
): Promise<IntegrationEventRow[]> {
  return selectPage(db, integrationEvent, eq(integrationEvent.integrationId, integrationId), [
    filter.eventType ? eq(integrationEvent.eventType, filter.eventType) : undefined,
  ], page);
}
