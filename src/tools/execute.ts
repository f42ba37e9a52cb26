import { and, eq, gt, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { agentToolAssignment, tool, toolExecutionLog } from '../db/schema/index.js';
import { recordIntegrationEvent } from '../services/integrations.js';
import { recordMetrics } from '../services/metrics.js';
import { openCredentials, type CredentialKeyring } from './credentials.js';
import { validateArguments } from './schema-check.js';
import { ToolError, type ResolvedTool, type ToolRunner } from './types.js';

export interface ToolExecutionDeps {
  db: Db;
  runners: Partial<Record<ResolvedTool['toolType'], ToolRunner>>;
  keyring: CredentialKeyring | null;
}

export interface ToolCallParams {
  projectId: string;
  toolId: string;
  agentId?: string;
  conversationId?: string;
  workflowId?: string;
  toolCallId: string;
  /** JSON text as the model wrote it, or an object (API test calls). */
  arguments: string | Record<string, unknown>;
  attempt: number;
  executionType: 'agent_runtime' | 'test' | 'manual';
  signal: AbortSignal;
}

export interface ToolCallOutcome {
  logId: string;
  output: unknown;
  executionTimeMs: number;
}

/** How much of a tool's output is kept in the log row (and handed back to the model). */
export const MAX_OUTPUT_CHARS = 16_000;

export function trimOutput(output: unknown): unknown {
  const text = JSON.stringify(output ?? null);
  return text.length <= MAX_OUTPUT_CHARS ? output : { truncated: true, preview: text.slice(0, MAX_OUTPUT_CHARS) };
}

function parseArguments(raw: ToolCallParams['arguments']): Record<string, unknown> {
  if (typeof raw !== 'string') return raw;
  try {
    const parsed = JSON.parse(raw || '{}') as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new ToolError('invalid_input', 'the arguments are not a JSON object');
}

const logStatus = (err: ToolError) => (err.kind === 'timeout' ? 'timeout' : err.kind === 'invalid_input' || err.kind === 'forbidden' ? 'error' : 'failure');

/**
 * One attempt of one tool call: load the tool (and the agent's assignment), check the rate limit and the
 * arguments, open the credentials, run the tool, and write exactly one `tool_execution_log` row for the
 * attempt, success or not. Throws {@link ToolError} on failure, after logging it.
 */
export async function executeToolCall(deps: ToolExecutionDeps, p: ToolCallParams): Promise<ToolCallOutcome> {
  const started = Date.now();
  let input: Record<string, unknown> | undefined;
  const [row] = await deps.db.select().from(tool).where(and(eq(tool.id, p.toolId), eq(tool.projectId, p.projectId)));
  if (!row) throw new ToolError('invalid_input', 'the tool no longer exists');
  // The log row, its integration event and its metrics are one transaction: an attempt is counted whole or not at all.
  const log = (status: string, output: unknown, error: string | null) => deps.db.transaction(async (tx) => {
    const [logged] = await tx
      .insert(toolExecutionLog)
      .values({
        toolId: p.toolId, agentId: p.agentId ?? null, conversationId: p.conversationId ?? null, workflowId: p.workflowId ?? null,
        toolCallId: p.toolCallId, attempt: p.attempt, status, inputParams: input ?? null, outputResult: output ?? null,
        errorMessage: error, executionTimeMs: Date.now() - started, executionType: p.executionType,
      })
      .onConflictDoUpdate({
        target: [toolExecutionLog.workflowId, toolExecutionLog.toolCallId, toolExecutionLog.attempt],
        set: { status, outputResult: output ?? null, errorMessage: error, executionTimeMs: Date.now() - started },
      })
      .returning({ id: toolExecutionLog.id });
    if (row.integrationId) {
      await recordIntegrationEvent(tx, {
        projectId: p.projectId, integrationId: row.integrationId, eventType: status === 'success' ? 'tool_used' : 'error',
        toolName: row.name, toolParameters: input, toolResult: status === 'success' ? output : undefined, errorMessage: error ?? undefined,
      });
    }
    if (p.executionType === 'agent_runtime') {
      await recordMetrics(tx, [
        { projectId: p.projectId, agentId: p.agentId, name: 'tool_call_ms', value: Date.now() - started, tags: { toolId: p.toolId } },
        { projectId: p.projectId, agentId: p.agentId, name: 'tool_failure', value: status === 'success' ? 0 : 1, tags: { toolId: p.toolId } },
      ]);
    }
    return logged!.id;
  });

  try {
    input = parseArguments(p.arguments);
    let config = row.config;
    if (p.agentId && p.executionType === 'agent_runtime') {
      const [assignment] = await deps.db
        .select()
        .from(agentToolAssignment)
        .where(and(eq(agentToolAssignment.agentId, p.agentId), eq(agentToolAssignment.toolId, p.toolId)));
      if (!assignment) throw new ToolError('forbidden', 'the tool is not assigned to this agent');
      config = { ...config, ...(assignment.toolConfigOverride ?? {}) };
      if (assignment.rateLimit !== null) await reserveRateLimitedCall(deps.db, p, assignment.rateLimit);
    }
    const problem = validateArguments(row.inputSchema, input);
    if (problem) throw new ToolError('invalid_input', `invalid arguments: ${problem}`);
    const runner = deps.runners[row.toolType as ResolvedTool['toolType']];
    if (!runner) throw new ToolError('invalid_input', `tool type ${row.toolType} is not available on this worker`);
    if (row.credentialsEncrypted && !deps.keyring) throw new ToolError('forbidden', 'no credential key is configured on this worker');
    const resolved: ResolvedTool = {
      id: row.id, name: row.name, toolType: row.toolType as ResolvedTool['toolType'], config, timeoutMs: row.timeoutMs,
      credentials: row.credentialsEncrypted && deps.keyring ? openCredentials(deps.keyring, row.credentialsEncrypted) : undefined,
    };
    let refreshed = false;
    const output = trimOutput(
      await runner(resolved, input, {
        signal: p.signal, attempt: p.attempt, idempotencyKey: `${p.workflowId ?? 'test'}:${p.toolCallId}`, onTokenRefreshed: () => (refreshed = true),
      }),
    );
    if (refreshed && row.integrationId) {
      await recordIntegrationEvent(deps.db, { projectId: p.projectId, integrationId: row.integrationId, eventType: 'refreshed', toolName: row.name });
    }
    const logId = await log('success', output, null);
    return { logId, output, executionTimeMs: Date.now() - started };
  } catch (err) {
    const toolError = err instanceof ToolError ? err : p.signal.aborted ? new ToolError('timeout', `timed out after ${row.timeoutMs} ms`) : new ToolError('network', err instanceof Error ? err.message : String(err));
    await log(logStatus(toolError), null, toolError.message.slice(0, 2000));
    throw toolError;
  }
}

/**
 * Calls per hour of one tool by one agent, counted over distinct tool calls (not retries). The check and
 * the reservation (a `running` log row for this attempt, completed by `log`) happen under an advisory
 * lock per (agent, tool), so parallel calls cannot all see the same count and all pass.
 */
async function reserveRateLimitedCall(db: Db, p: ToolCallParams, limit: number): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`tool-rate:${p.agentId}:${p.toolId}`}, 0))`);
    const [counted] = await tx
      .select({ calls: sql<number>`count(distinct (${toolExecutionLog.workflowId}, ${toolExecutionLog.toolCallId}))::int` })
      .from(toolExecutionLog)
      .where(
        and(
          eq(toolExecutionLog.agentId, p.agentId!),
          eq(toolExecutionLog.toolId, p.toolId),
          eq(toolExecutionLog.executionType, 'agent_runtime'),
          gt(toolExecutionLog.createdAt, sql`now() - interval '1 hour'`),
          sql`not (${toolExecutionLog.workflowId} is not distinct from ${p.workflowId ?? null} and ${toolExecutionLog.toolCallId} = ${p.toolCallId})`,
          sql`${toolExecutionLog.errorMessage} is distinct from 'rate limit exceeded'`,
        ),
      );
    if ((counted?.calls ?? 0) >= limit) throw new ToolError('forbidden', 'rate limit exceeded');
    await tx
      .insert(toolExecutionLog)
      .values({
        toolId: p.toolId, agentId: p.agentId ?? null, conversationId: p.conversationId ?? null, workflowId: p.workflowId ?? null,
        toolCallId: p.toolCallId, attempt: p.attempt, status: 'running', executionType: p.executionType,
      })
      .onConflictDoNothing();
  });
}
