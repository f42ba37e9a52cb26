// The worker's writes of a turn's lifecycle: begin, complete, fail. Each is idempotent, keyed on
// (conversation, turn index), because Temporal retries activities.
import { and, eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { recordMetrics } from '../metrics/store.js';
import { agentExecutionHistory, artifact, conversation, message, type KnowledgeSource, type ToolUse } from '../db/schema/index.js';
import { ASSISTANT_POSITION, findAssistantMessage, USER_POSITION } from './message-store.js';
import { appendTurnEvents, type NewTurnEvent } from './turn-events.js';

export interface BeginTurnParams {
  projectId: string;
  agentId: string;
  conversationId: string;
  turnIndex: number;
  content: string;
  workflowId: string;
  runId: string;
  /** The trace the turn runs in (tracing on), else null. */
  traceId?: string | null;
}

/**
 * Records the start of a turn: the turn row (`running`) and the user message. Both inserts are keyed on
 * (conversation, turn index), so a retry after a partial or full success writes nothing twice, and the
 * message counter only moves when the message row was really inserted.
 */
export async function beginTurn(db: DbOrTx, p: BeginTurnParams): Promise<void> {
  await db.transaction(async (tx) => {
    // Not waiting for the WAL flush (see `appendTurnEvents`): the turn's end commits synchronously and so makes
    // this durable first; a crash before that fails the running activity, whose retry writes it again.
    await tx.execute(sql`select set_config('synchronous_commit', 'off', true)`);
    await tx
      .insert(agentExecutionHistory)
      .values({
        projectId: p.projectId,
        agentId: p.agentId,
        conversationId: p.conversationId,
        messageIndex: p.turnIndex,
        workflowId: p.workflowId,
        runId: p.runId,
        traceId: p.traceId ?? null,
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
    // The turn's first event (seq 1): nothing of a turn is written before its start.
    await appendTurnEvents(tx, { projectId: p.projectId, conversationId: p.conversationId, turnIndex: p.turnIndex }, [{ key: 'turn:started', type: 'turn.started' }]);
  });
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
  /** Why the turn ended (`stop` when absent: the model answered); also in the `turn.completed` event. */
  stopReason?: string;
}

/**
 * Finishes a turn in one transaction: the turn row, then (only if this call completed it) the assistant
 * message, artifacts, metrics and conversation counters. The `status = 'running'` guard makes it idempotent:
 * a second call finds nothing to update and only reads back what the first call wrote.
 */
export async function completeTurn(
  db: DbOrTx,
  p: CompleteTurnParams,
  /** Events of the turn to write before `turn.completed`, in this transaction (the answer's last delta). */
  leadingEvents: NewTurnEvent[] = [],
): Promise<{ assistantMessageId: string }> {
  return db.transaction(async (tx) => {
    const turn = await markTurnCompleted(tx, p);
    if (turn) {
      await recordAnswer(tx, turn, p);
      // In the same transaction as the row: the terminal event exists exactly when the turn is completed.
      const usage = p.usage ?? { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
      await appendTurnEvents(tx, { projectId: turn.projectId, conversationId: p.conversationId, turnIndex: p.turnIndex }, [
        ...leadingEvents,
        { key: 'turn:completed', type: 'turn.completed', data: { answer: p.response, usage, stopReason: p.stopReason ?? 'stop' } },
      ]);
    }
    const assistant = await findAssistantMessage(tx, p.conversationId, p.turnIndex);
    if (!assistant) throw new Error(`turn ${p.turnIndex} of ${p.conversationId} has no running row to complete`);
    return { assistantMessageId: assistant.id };
  });
}

type TurnOwner = { projectId: string; agentId: string };

/** Sets the running turn row completed with its answer; undefined when it was not running (a retry). */
async function markTurnCompleted(tx: DbOrTx, p: CompleteTurnParams): Promise<TurnOwner | undefined> {
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
      stopReason: p.stopReason ?? 'stop',
      completedAt: new Date(),
    })
    .where(runningTurn(p))
    .returning({ projectId: agentExecutionHistory.projectId, agentId: agentExecutionHistory.agentId });
  return updated[0];
}

/** What a completed turn adds: metrics, the assistant message with its artifacts, the conversation counters. */
async function recordAnswer(tx: DbOrTx, turn: TurnOwner, p: CompleteTurnParams): Promise<void> {
  await recordMetrics(tx, [
    { ...turn, name: 'turn_completed', value: 1 },
    { ...turn, name: 'turn_response_time_ms', value: p.responseTimeMs },
    { ...turn, name: 'turn_tokens', value: p.usage?.totalTokens ?? 0 },
  ]);
  const [assistant] = await tx
    .insert(message)
    .values({ conversationId: p.conversationId, turnIndex: p.turnIndex, position: ASSISTANT_POSITION, role: 'assistant', content: p.response })
    .onConflictDoNothing()
    .returning({ id: message.id });
  if (p.artifacts?.length && assistant) {
    await tx.insert(artifact).values(
      p.artifacts.map((a) => ({ ...a, projectId: turn.projectId, conversationId: p.conversationId, messageId: assistant.id })),
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

/** The turn row of (conversation, turn index) while it is still `running`: the guard of every terminal write. */
export function runningTurn(p: { conversationId: string; turnIndex: number }) {
  return and(
    eq(agentExecutionHistory.conversationId, p.conversationId),
    eq(agentExecutionHistory.messageIndex, p.turnIndex),
    eq(agentExecutionHistory.status, 'running'),
  );
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
      .where(runningTurn(p))
      .returning({ projectId: agentExecutionHistory.projectId, agentId: agentExecutionHistory.agentId });
    if (!turn) return;
    await recordMetrics(tx, [{ projectId: turn.projectId, agentId: turn.agentId, name: 'turn_failed', value: 1 }]);
    await appendTurnEvents(tx, { projectId: turn.projectId, conversationId: p.conversationId, turnIndex: p.turnIndex }, [
      { key: 'turn:failed', type: 'turn.failed', data: { reason: p.error.slice(0, 2000) } },
    ]);
  });
}
