// The tool execution log: one row per attempt of a tool call, its rate-limit reservations, and reading it
// back. Rows are reached through their tool, which the caller has loaded from the project.
import { and, desc, eq, gt, lt, or, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../db/client.js';
import { selectPage, type PageRequest } from '../db/pagination.js';
import { toolExecutionLog } from '../db/schema/index.js';
import type { ToolCallParams } from './execute.js';
import { ToolError } from './types.js';

export type ExecutionLogRow = typeof toolExecutionLog.$inferSelect;

/**
 * No attempt can still run this long after its row was written: tools time out after at most 300 s
 * (the API's limit) and Temporal gives up on an attempt 2 s after that.
 */
const staleRunningMs = 10 * 60_000;
const abandonedMessage = 'the worker running this attempt stopped before it finished';

/**
 * A `running` row is written before a rate-limited attempt runs and completed by its outcome; a worker
 * killed in between never completes it. So each attempt closes as `abandoned` the running rows that cannot
 * be running any more: earlier attempts of the same call (Temporal only starts attempt n+1 once attempt n
 * failed or timed out) and any row older than the longest possible attempt, whatever tool or turn it
 * belongs to, so a call that is never retried is closed by the next tool call anywhere.
 */
export async function closeAbandonedAttempts(db: Db, p: Pick<ToolCallParams, 'workflowId' | 'toolCallId' | 'attempt'>): Promise<void> {
  const earlierAttempt = p.workflowId
    ? and(eq(toolExecutionLog.workflowId, p.workflowId), eq(toolExecutionLog.toolCallId, p.toolCallId), lt(toolExecutionLog.attempt, p.attempt))
    : undefined;
  await db
    .update(toolExecutionLog)
    .set({ status: 'abandoned', errorMessage: abandonedMessage })
    .where(
      and(
        eq(toolExecutionLog.status, 'running'),
        or(earlierAttempt, lt(toolExecutionLog.createdAt, sql`now() - make_interval(secs => ${staleRunningMs / 1000})`)),
      ),
    );
}

/**
 * Calls per hour of one tool by one agent, counted over distinct tool calls (not retries). The check and
 * the reservation (a `running` log row for this attempt, completed by the attempt's outcome) happen under
 * an advisory lock per (agent, tool), so parallel calls cannot all see the same count and all pass.
 */
export async function reserveRateLimitedCall(db: Db, p: ToolCallParams, limit: number): Promise<void> {
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

/** How one attempt ended, as its log row records it. */
export interface AttemptOutcome {
  status: string;
  input: Record<string, unknown> | undefined;
  output: unknown;
  error: string | null;
  executionTimeMs: number;
}

/**
 * Writes the attempt's log row, or completes the `running` row its rate-limit reservation wrote. Returns
 * the row's id.
 */
export async function writeAttemptLog(db: DbOrTx, p: Omit<ToolCallParams, 'signal' | 'arguments'>, o: AttemptOutcome): Promise<string> {
  const [logged] = await db
    .insert(toolExecutionLog)
    .values({
      toolId: p.toolId, agentId: p.agentId ?? null, conversationId: p.conversationId ?? null, workflowId: p.workflowId ?? null,
      toolCallId: p.toolCallId, attempt: p.attempt, status: o.status, inputParams: o.input ?? null, outputResult: o.output ?? null,
      errorMessage: o.error, executionTimeMs: o.executionTimeMs, executionType: p.executionType,
    })
    .onConflictDoUpdate({
      target: [toolExecutionLog.workflowId, toolExecutionLog.toolCallId, toolExecutionLog.attempt],
      // The reservation row carries no input: the outcome fills it in (else every rate-limited call logged null).
      set: { status: o.status, inputParams: o.input ?? null, outputResult: o.output ?? null, errorMessage: o.error, executionTimeMs: o.executionTimeMs },
    })
    .returning({ id: toolExecutionLog.id });
  return logged!.id;
}

/** A page (`limit + 1` rows, newest first) of a tool's log. */
export function listExecutions(db: DbOrTx, toolId: string, page: PageRequest): Promise<ExecutionLogRow[]> {
  return selectPage(db, toolExecutionLog, eq(toolExecutionLog.toolId, toolId), [], page);
}

/** The latest log row of one call of a tool (a test call has one attempt). */
export async function findCallLog(db: DbOrTx, toolId: string, toolCallId: string): Promise<ExecutionLogRow | undefined> {
  const [row] = await db
    .select()
    .from(toolExecutionLog)
    .where(and(eq(toolExecutionLog.toolId, toolId), eq(toolExecutionLog.toolCallId, toolCallId)))
    .orderBy(desc(toolExecutionLog.createdAt), desc(toolExecutionLog.id))
    .limit(1);
  return row;
}
