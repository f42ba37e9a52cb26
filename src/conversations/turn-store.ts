// The worker's writes of a turn's lifecycle: begin, complete, fail. Each is idempotent, keyed on
// (conversation, turn index), because Temporal retries activities.
import { and, eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { recordMetrics } from '../metrics/store.js';
import { countTurn } from '../tenancy/turn-usage.js';
import { agentExecutionHistory, artifact, conversation, message, metric, type KnowledgeSource, type ToolUse } from '../db/schema/index.js';
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
 *
 * The statements do not depend on each other's results, so they are sent together and pipelined (one round trip
 * for the lot instead of one each): the turn's start sits on every turn's critical path.
 */
export async function beginTurn(db: DbOrTx, p: BeginTurnParams): Promise<void> {
  await db.transaction(async (tx) => {
    const turnRow = tx
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
      .onConflictDoNothing()
      .returning({ projectId: agentExecutionHistory.projectId });
    const userMessage = tx
      .insert(message)
      .values({ conversationId: p.conversationId, turnIndex: p.turnIndex, position: USER_POSITION, role: 'user', content: p.content })
      .onConflictDoNothing()
      .returning({ id: message.id });
    const counted = tx
      .update(conversation)
      .set({
        messagesCount: sql`${conversation.messagesCount} + 1`,
        lastActivityAt: new Date(),
        lastTurnIndex: sql`greatest(${conversation.lastTurnIndex}, ${p.turnIndex})`,
      })
      .where(and(eq(conversation.id, p.conversationId), sql`exists (select 1 from inserted)`));
    // Sent in this order (`.then` sends a drizzle query at once; appendTurnEvents sends its lock when called): the
    // rows before the turn's event lock, as every other writer of the turn takes them. The other way round, a retry
    // waiting for the row an earlier attempt still alive is completing would hold the lock that attempt asks for next.
    const rows = [
      // Not waiting for the WAL flush (see `appendTurnEvents`): the turn's end commits synchronously and so makes
      // this durable first; a crash before that fails the running activity, whose retry writes it again.
      tx.execute(sql`select set_config('synchronous_commit', 'off', true)`).then(() => undefined),
      // The project's turns this month move with the turn row, in one statement: counted once, whatever the retries.
      // Its usage row stays locked until this commits, so a project's turn starts queue there for the statements
      // below (one pipelined round trip, and the commit; longer only while a submit of this conversation holds its
      // row across the workflow start).
      tx.execute(sql`with turn as ${turnRow} ${countTurn(sql`turn`)}`).then(() => undefined),
      // The counter moves with the message row, in one statement.
      tx.execute(sql`with inserted as ${userMessage} ${counted.getSQL()}`).then(() => undefined),
    ];
    await Promise.all([
      ...rows,
      // The turn's first event (seq 1): nothing of a turn is written before its start.
      appendTurnEvents(tx, { projectId: p.projectId, conversationId: p.conversationId, turnIndex: p.turnIndex }, [{ key: 'turn:started', type: 'turn.started' }]),
    ]);
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
 *
 * Three round trips on the answer's path: one statement completes the row and records the answer (each later
 * part keyed on the row this statement updated), then the events (lock, numbering and webhook outbox pipelined),
 * then the commit.
 */
export async function completeTurn(
  db: DbOrTx,
  p: CompleteTurnParams,
  /** Events of the turn to write before `turn.completed`, in this transaction (the answer's last delta). */
  leadingEvents: NewTurnEvent[] = [],
): Promise<{ assistantMessageId: string }> {
  return db.transaction(async (tx) => {
    const [recorded] = await tx.execute<{ project_id: string; agent_id: string; message_id: string | null }>(recordCompletion(tx, p));
    if (recorded) {
      // In the same transaction as the row: the terminal event exists exactly when the turn is completed.
      const usage = p.usage ?? { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
      await appendTurnEvents(tx, { projectId: recorded.project_id, conversationId: p.conversationId, turnIndex: p.turnIndex }, [
        ...leadingEvents,
        { key: 'turn:completed', type: 'turn.completed', data: { answer: p.response, usage, stopReason: p.stopReason ?? 'stop' } },
      ]);
    }
    const assistantMessageId = recorded?.message_id ?? (await findAssistantMessage(tx, p.conversationId, p.turnIndex))?.id;
    if (!assistantMessageId) throw new Error(`turn ${p.turnIndex} of ${p.conversationId} has no running row to complete`);
    return { assistantMessageId };
  });
}

/**
 * One statement: sets the running turn row completed with its answer and, keyed on that update (nothing when the
 * row was not running: a retry), inserts the metrics, the assistant message with its artifacts and moves the
 * conversation's counters. Returns the turn's owner and the new message's id; no row when it was not running.
 */
function recordCompletion(tx: DbOrTx, p: CompleteTurnParams) {
  const completed = tx
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
  const metrics = [
    ['turn_completed', 1],
    ['turn_response_time_ms', p.responseTimeMs],
    ['turn_tokens', p.usage?.totalTokens ?? 0],
  ] as const;
  const points = sql.join(metrics.map(([name, value]) => sql`(${name}::text, ${value}::double precision)`), sql`, `);
  const artifacts = JSON.stringify(p.artifacts ?? []);
  return sql`
    with turn as ${completed},
    points as (
      insert into ${metric} (project_id, agent_id, metric_name, metric_value)
      select turn.project_id, turn.agent_id, v.name, v.value from turn cross join (values ${points}) as v(name, value)),
    answer as (
      insert into ${message} (conversation_id, turn_index, position, role, content)
      select ${p.conversationId}::uuid, ${p.turnIndex}::int, ${ASSISTANT_POSITION}::int, 'assistant', ${p.response}::text from turn
      on conflict do nothing
      returning id),
    artifacts as (
      insert into ${artifact} (project_id, conversation_id, message_id, type, title, content, metadata)
      select turn.project_id, ${p.conversationId}::uuid, answer.id, a.type, a.title, a.content, coalesce(a.metadata, '{}'::jsonb)
      from turn cross join answer cross join jsonb_to_recordset(${artifacts}::jsonb) as a(type text, title text, content text, metadata jsonb)),
    counted as (
      update ${conversation}
      set turn_count = turn_count + 1, messages_count = messages_count + 1, last_activity_at = ${new Date().toISOString()}::timestamptz
      where id = ${p.conversationId}::uuid and exists (select 1 from turn))
    select turn.project_id, turn.agent_id, (select id from answer) as message_id from turn`;
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
