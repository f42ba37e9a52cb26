import { and, desc, eq, isNull, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { agentToolAssignment, tool, toolExecutionLog } from '../db/schema/index.js';

export type ToolRow = typeof tool.$inferSelect;
export type AssignmentRow = typeof agentToolAssignment.$inferSelect;

export async function findTool(db: DbOrTx, projectId: string, id: string): Promise<ToolRow | undefined> {
  const [row] = await db.select().from(tool).where(and(eq(tool.id, id), eq(tool.projectId, projectId)));
  return row;
}

export function listTools(
  db: DbOrTx,
  projectId: string,
  filter: { status?: string; toolType?: string; category?: string },
  page: { where?: SQL; orderBy: SQL[]; limit: number },
) {
  return db
    .select()
    .from(tool)
    .where(
      and(
        eq(tool.projectId, projectId),
        isNull(tool.archivedAt),
        filter.status ? eq(tool.status, filter.status) : undefined,
        filter.toolType ? eq(tool.toolType, filter.toolType) : undefined,
        filter.category ? eq(tool.category, filter.category) : undefined,
        page.where,
      ),
    )
    .orderBy(...page.orderBy)
    .limit(page.limit + 1);
}

export function listExecutions(db: DbOrTx, toolId: string, page: { where?: SQL; limit: number }) {
  return db
    .select()
    .from(toolExecutionLog)
    .where(and(eq(toolExecutionLog.toolId, toolId), page.where))
    .orderBy(desc(toolExecutionLog.createdAt), desc(toolExecutionLog.id))
    .limit(page.limit + 1);
}

export async function findAssignment(db: DbOrTx, agentId: string, toolId: string): Promise<AssignmentRow | undefined> {
  const [row] = await db
    .select()
    .from(agentToolAssignment)
    .where(and(eq(agentToolAssignment.agentId, agentId), eq(agentToolAssignment.toolId, toolId)));
  return row;
}
