// Project-scoped queries on tools; tenant scoping (the `projectId` filter) lives here and nowhere else.
import { and, eq, inArray, isNull } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { selectPage, type PageRequest } from '../db/pagination.js';
import { agentToolAssignment, tool } from '../db/schema/index.js';
import { effectiveRetryPolicy, exposesServerTools, isArtifactType, type TurnTool } from './turn-tools.js';

export type ToolRow = typeof tool.$inferSelect;
/** The columns a caller sets on a new tool; the store adds the project. */
export type ToolInsert = Omit<typeof tool.$inferInsert, 'id' | 'projectId' | 'createdAt' | 'updatedAt'>;
export type ToolUpdate = Partial<ToolInsert>;

/** The tool if it belongs to the project (archived ones included); another project's tool is indistinguishable from none. */
export async function findTool(db: DbOrTx, projectId: string, id: string): Promise<ToolRow | undefined> {
  const [row] = await db.select().from(tool).where(and(eq(tool.id, id), eq(tool.projectId, projectId)));
  return row;
}

/** Tools by id, for a turn whose tools were loaded for its agent (`loadAgentTools`), so already scoped. */
export function findToolsByIds(db: DbOrTx, ids: string[]): Promise<ToolRow[]> {
  return db.select().from(tool).where(inArray(tool.id, ids));
}

/** A page (`limit + 1` rows, newest first) of the project's tools that are not archived. */
export function listTools(
  db: DbOrTx,
  projectId: string,
  filter: { status?: string; toolType?: string; category?: string },
  page: PageRequest,
): Promise<ToolRow[]> {
  return selectPage(db, tool, eq(tool.projectId, projectId), [
    isNull(tool.archivedAt),
    filter.status ? eq(tool.status, filter.status) : undefined,
    filter.toolType ? eq(tool.toolType, filter.toolType) : undefined,
    filter.category ? eq(tool.category, filter.category) : undefined,
  ], page);
}

export async function createTool(db: DbOrTx, projectId: string, values: ToolInsert): Promise<ToolRow> {
  const [row] = await db.insert(tool).values({ ...values, projectId }).returning();
  return row!;
}

/** Changes a tool the caller has loaded from the project. */
export async function updateTool(db: DbOrTx, projectId: string, id: string, values: ToolUpdate): Promise<ToolRow> {
  const [row] = await db.update(tool).set(values).where(and(eq(tool.id, id), eq(tool.projectId, projectId))).returning();
  return row!;
}

/** Archives a tool: agents stop seeing it, its execution log stays. */
export function archiveTool(db: DbOrTx, projectId: string, id: string): Promise<ToolRow> {
  return updateTool(db, projectId, id, { status: 'deprecated', archivedAt: new Date() });
}

/** The agent's active, function-calling-compatible tools. Credentials are not loaded here. */
export async function loadAgentTools(db: DbOrTx, agentId: string): Promise<TurnTool[]> {
  const rows = await db
    .select({ tool })
    .from(agentToolAssignment)
    .innerJoin(tool, eq(tool.id, agentToolAssignment.toolId))
    .where(and(eq(agentToolAssignment.agentId, agentId), eq(tool.status, 'active'), eq(tool.aiSdkFormatValid, true), isNull(tool.archivedAt)));
  return rows.map(({ tool: t }) => ({
    toolId: t.id,
    name: t.name,
    description: t.description ?? t.name,
    parameters: t.inputSchema,
    timeoutMs: t.timeoutMs,
    retry: effectiveRetryPolicy(t.retryPolicy as Partial<TurnTool['retry']>),
    ...(exposesServerTools(t.toolType, t.config) ? { mcpTool: '' } : {}),
    ...(isArtifactType(t.config.artifact) ? { artifactType: t.config.artifact } : {}),
  }));
}
