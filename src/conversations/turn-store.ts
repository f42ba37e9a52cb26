import { and, desc, eq, lt, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { recordMetrics } from '../metrics/store.js';
import { agentConfig, agentExecutionHistory, artifact, conversation, message, smartAgent, type KnowledgeSource, type ToolUse } from '../db/schema/index.js';

/** Fixed message positions inside a turn, so every write has a natural unique key. */
export const USER_POSITION = 0;
export const ASSISTANT_POSITION = 1000;

export interface BeginTurnParams {
  projectId: string;
  agentId: string;
  conversationId: string;
  turnIndex: number;
  content: string;
  workflowId: string;
  runId: string;
}

/**
 * Records the start of a turn: the turn row (`running`) and the user message. Both inserts are keyed on
 * (conversation, turn index), so a retry after a partial or full success writes nothing twice, and the
 * message counter only moves when the message row was really inserted.
 */
export async function beginTurn(db: DbOrTx, p: BeginTurnParams): Promise<void> {
  await db.transaction(async (tx) => {
    await tx
      .insert(agentExecutionHistory)
      .values({
        projectId: p.projectId,
        agentId: p.agentId,
        conversationId: p.conversationId,
        messageIndex: p.turnIndex,
        workflowId: p.workflowId,
        runId: p.runId,
        userInput: p.content,
        status: 'running',
      })
      .onConflictDoNothing();
    const inserted = await tx
      .insert(message)
      .values({
        conversationId: p.conversationId,
        turnIndex: p.turnIndex,
        position: USER_POSITION,
        role: 'user',
        content: p.content,
      })
      .onConflictDoNothing()
      .returning({ id: message.id });
    if (inserted.length > 0) {
      await tx
        .update(conversation)
        .set({
          messagesCount: sql`${conversation.messagesCount} + 1`,
          lastActivityAt: new Date(),
          lastTurnIndex: sql`greatest(${conversation.lastTurnIndex}, ${p.turnIndex})`,
        })
        .where(eq(conversation.id, p.conversationId));
    }
  });
}

/** The agent and its active config. */
export async function loadTurnContext(db: DbOrTx, p: { agentId: string }) {
  const [agent] = await db.select().from(smartAgent).where(eq(smartAgent.id, p.agentId));
  if (!agent) return null;
  const config = await db
    .select({ configKey: agentConfig.configKey, configValue: agentConfig.configValue })
    .from(agentConfig)
    .where(and(eq(agentConfig.agentId, p.agentId), eq(agentConfig.isActive, true)));
  return { agent, config };
}

export async function loadHistory(db: DbOrTx, conversationId: string, beforeTurn: number, limit: number) {
  if (limit === 0) return [];
  const rows = await db
    .select({ role: message.role, content: message.content })
    .from(message)
    .where(and(eq(message.conversationId, conversationId), lt(message.turnIndex, beforeTurn)))
    .orderBy(desc(message.turnIndex), desc(message.position))
    .limit(limit);
  return rows.reverse();
}

export interface CompleteTurnParams {
  conversationId: string;
  turnIndex: number;
  response: string;
  model: string;
  usage: { promptTokens: number; completionTokens: number; totalTokens: number } | null;
  responseTimeMs: number;
  llmTimeMs: number;
  toolsUsed?: ToolUse[];
  knowledgeSources?: KnowledgeSource[];
  artifacts?: Array<{ type: string; title: string; content: string; metadata: Record<string, unknown> }>;
}

/**
 * Finishes a turn in one transaction: the assistant message, the turn row and the conversation counters.
 * The `status = 'running'` guard makes it idempotent: a second call finds nothing to update and only
 * reads back what the first call wrote.
 */
export async function completeTurn(db: DbOrTx, p: CompleteTurnParams): Promise<{ assistantMessageId: string }> {
  return db.transaction(async (tx) => {
    const updated = await tx
      .update(agentExecutionHistory)
      .set({
        status: 'completed',
        agentResponse: p.response,
        model: p.model,
        promptTokens: p.usage?.promptTokens ?? null,
        completionTokens: p.usage?.completionTokens ?? null,
        totalTokens: p.usage?.totalTokens ?? null,
        responseTimeMs: p.responseTimeMs,
        llmTimeMs: p.llmTimeMs,
        toolsUsed: p.toolsUsed ?? [],
        knowledgeSources: p.knowledgeSources ?? [],
        completedAt: new Date(),
      })
      .where(
        and(
          eq(agentExecutionHistory.conversationId, p.conversationId),
          eq(agentExecutionHistory.messageIndex, p.turnIndex),
          eq(agentExecutionHistory.status, 'running'),
        ),
      )
      .returning({ id: agentExecutionHistory.id, projectId: agentExecutionHistory.projectId, agentId: agentExecutionHistory.agentId });
    const turn = updated[0];
    if (turn) {
      await recordMetrics(tx, [
        { projectId: turn.projectId, agentId: turn.agentId, name: 'turn_completed', value: 1 },
        { projectId: turn.projectId, agentId: turn.agentId, name: 'turn_response_time_ms', value: p.responseTimeMs },
        { projectId: turn.projectId, agentId: turn.agentId, name: 'turn_tokens', value: p.usage?.totalTokens ?? 0 },
      ]);
      const assistantRow = await tx
        .insert(message)
        .values({
          conversationId: p.conversationId,
          turnIndex: p.turnIndex,
          position: ASSISTANT_POSITION,
          role: 'assistant',
          content: p.response,
        })
        .onConflictDoNothing()
        .returning({ id: message.id });
      if (p.artifacts?.length && assistantRow[0]) {
        await tx.insert(artifact).values(
          p.artifacts.map((a) => ({ ...a, projectId: turn.projectId, conversationId: p.conversationId, messageId: assistantRow[0]!.id })),
        );
      }
      await tx
        .update(conversation)
        .set({
          turnCount: sql`${conversation.turnCount} + 1`,
          messagesCount: sql`${conversation.messagesCount} + 1`,
          lastActivityAt: new Date(),
        })
        .where(eq(conversation.id, p.conversationId));
    }
    const [assistant] = await tx
      .select({ id: message.id })
      .from(message)
      .where(
        and(
          eq(message.conversationId, p.conversationId),
          eq(message.turnIndex, p.turnIndex),
          eq(message.position, ASSISTANT_POSITION),
        ),
      );
    if (!assistant) throw new Error(`turn ${p.turnIndex} of ${p.conversationId} has no running row to complete`);
    return { assistantMessageId: assistant.id };
  });
}

/** Marks a running turn failed with its error; idempotent like {@link completeTurn}. */
export async function failTurn(
  db: DbOrTx,
  p: { conversationId: string; turnIndex: number; error: string; responseTimeMs: number },
): Promise<void> {
  await db.transaction(async (tx) => {
    const [turn] = await tx
      .update(agentExecutionHistory)
      .set({ status: 'failed', error: p.error.slice(0, 2000), responseTimeMs: p.responseTimeMs, completedAt: new Date() })
      .where(
        and(
          eq(agentExecutionHistory.conversationId, p.conversationId),
          eq(agentExecutionHistory.messageIndex, p.turnIndex),
          eq(agentExecutionHistory.status, 'running'),
        ),
      )
      .returning({ projectId: agentExecutionHistory.projectId, agentId: agentExecutionHistory.agentId });
    if (turn) await recordMetrics(tx, [{ projectId: turn.projectId, agentId: turn.agentId, name: 'turn_failed', value: 1 }]);
  });
}
