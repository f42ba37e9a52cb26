import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { integrationConnection, integrationEvent } from '../db/schema/index.js';

export type IntegrationEventType = 'connected' | 'disconnected' | 'tool_used' | 'error' | 'refreshed';

/** Which tools are integrations: MCP servers, and anything authenticating with OAuth2 client credentials. */
export function integrationKind(tool: { toolType: string; authMethod: string }): 'mcp' | 'oauth2' | null {
  if (tool.toolType === 'mcp') return 'mcp';
  if (tool.authMethod === 'oauth2') return 'oauth2';
  return null;
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
  await db.update(integrationConnection).set({ status: 'disconnected' }).where(eq(integrationConnection.id, integrationId));
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
