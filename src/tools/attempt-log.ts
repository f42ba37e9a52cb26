import { and, eq, gt, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { toolExecutionLog } from '../db/schema/index.js';
import type { ToolCallParams } from './execute.js';
import { ToolError } from './types.js';

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
