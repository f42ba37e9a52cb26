import { and, eq, isNull } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { agentToolAssignment, tool } from '../db/schema/index.js';

/** A tool as a turn offers it to the model, with what the workflow needs to schedule its activity. */
export interface TurnTool {
  toolId: string;
  name: string;
  description: string;
  parameters: Record<string, unknown>;
  timeoutMs: number;
  retry: { maximumAttempts: number; initialIntervalMs: number; backoffCoefficient: number; maximumIntervalMs: number };
  /** For a tool an MCP server exposes through one registered `mcp` tool: its name on that server. */
  mcpTool?: string;
}

/** An MCP tool registered without a fixed `config.tool` stands for every tool its server lists. */
export function exposesServerTools(toolType: string, config: Record<string, unknown>): boolean {
  return toolType === 'mcp' && typeof config.tool !== 'string';
}

/** Retry policy of a tool call when the tool sets none: three attempts, 1 s, doubling. */
export const defaultToolRetry = { maximumAttempts: 3, initialIntervalMs: 1000, backoffCoefficient: 2, maximumIntervalMs: 30_000 };

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
    retry: { ...defaultToolRetry, ...(t.retryPolicy as Partial<TurnTool['retry']>) },
    ...(exposesServerTools(t.toolType, t.config) ? { mcpTool: '' } : {}),
  }));
}
