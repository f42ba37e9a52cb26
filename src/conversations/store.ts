import { and, asc, eq, gt, or, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { agentExecutionHistory, artifact, conversation, message } from '../db/schema/index.js';
import { recordMetrics } from '../metrics/store.js';
import { ASSISTANT_POSITION } from './turn-store.js';

export type ConversationRow = typeof conversation.$inferSelect;
export type TurnRow = typeof agentExecutionHistory.$inferSelect;
export type MessageRow = typeof message.$inferSelect;

export async function findConversation(db: DbOrTx, projectId: string, id: string): Promise<ConversationRow | undefined> {
  const [row] = await db
    .select()
    .from(conversation)
    .where(and(eq(conversation.id, id), eq(conversation.projectId, projectId)));
  return row;
}

export async function createConversation(db: DbOrTx, values: typeof conversation.$inferInsert): Promise<ConversationRow> {
  const [row] = await db.insert(conversation).values(values).returning();
  return row!;
}

/**
 * Applies a PATCH: variables are merged (null removes one) in one SQL expression, so a concurrent write
 * (another PATCH, or the model's set_conversation_variable) is never lost; other fields are replaced.
 */
export async function updateConversation(
  db: DbOrTx,
  current: ConversationRow,
  p: { title?: string | null; status?: 'active' | 'paused'; context?: Record<string, unknown>; variables?: Record<string, unknown>; metadata?: Record<string, unknown> },
): Promise<ConversationRow> {
  const { variables, ...rest } = p;
  const entries = Object.entries(variables ?? {});
  const set = Object.fromEntries(entries.filter(([, v]) => v !== null));
  const removed = entries.filter(([, v]) => v === null).map(([k]) => k);
  const merged = variables
    ? sql`(${conversation.variables} || ${JSON.stringify(set)}::jsonb) - ${sql`array[${sql.join(removed.map((k) => sql`${k}`), sql`, `)}]::text[]`}`
    : undefined;
  const [row] = await db
    .update(conversation)
    .set({ ...rest, ...(merged ? { variables: merged } : {}), lastActivityAt: new Date() })
    .where(eq(conversation.id, current.id))
    .returning();
  return row!;
}

/** The agent's (rendered) first message, as turn 0 of the conversation. */
export async function addFirstMessage(db: DbOrTx, conversationId: string, content: string): Promise<ConversationRow> {
  await db.insert(message).values({ conversationId, turnIndex: 0, position: ASSISTANT_POSITION, role: 'assistant', content }).onConflictDoNothing();
  const [row] = await db
    .update(conversation)
    .set({ messagesCount: sql`${conversation.messagesCount} + 1` })
    .where(eq(conversation.id, conversationId))
    .returning();
  return row!;
}

export function listConversations(
  db: DbOrTx,
  projectId: string,
  filter: { agentId?: string; status?: string; externalUserId?: string },
  page: { where?: SQL; orderBy: SQL[]; limit: number },
) {
  return db
    .select()
    .from(conversation)
    .where(
      and(
        eq(conversation.projectId, projectId),
        filter.agentId ? eq(conversation.agentId, filter.agentId) : undefined,
        filter.status ? eq(conversation.status, filter.status) : undefined,
        filter.externalUserId ? eq(conversation.externalUserId, filter.externalUserId) : undefined,
        page.where,
      ),
    )
    .orderBy(...page.orderBy)
    .limit(page.limit + 1);
}

export async function endConversation(db: DbOrTx, id: string): Promise<ConversationRow> {
  const [row] = await db
    .update(conversation)
    .set({ status: 'completed', endedAt: new Date() })
    .where(and(eq(conversation.id, id), eq(conversation.status, 'active')))
    .returning();
  if (row) return row;
  const [current] = await db.select().from(conversation).where(eq(conversation.id, id));
  return current!;
}

export async function findTurn(db: DbOrTx, conversationId: string, index: number): Promise<TurnRow | undefined> {
  const [row] = await db
    .select()
    .from(agentExecutionHistory)
    .where(and(eq(agentExecutionHistory.conversationId, conversationId), eq(agentExecutionHistory.messageIndex, index)));
  return row;
}

export async function findAssistantMessage(db: DbOrTx, conversationId: string, index: number): Promise<MessageRow | undefined> {
  const [row] = await db
    .select()
    .from(message)
    .where(and(eq(message.conversationId, conversationId), eq(message.turnIndex, index), eq(message.position, ASSISTANT_POSITION)));
  return row;
}

/** Messages in conversation order after an optional (turn, position) cursor. */
export function listMessages(db: DbOrTx, conversationId: string, after: [number, number] | undefined, limit: number) {
  const cursor = after
    ? or(gt(message.turnIndex, after[0]), and(eq(message.turnIndex, after[0]), gt(message.position, after[1])))
    : undefined;
  return db
    .select()
    .from(message)
    .where(and(eq(message.conversationId, conversationId), cursor))
    .orderBy(asc(message.turnIndex), asc(message.position))
    .limit(limit + 1);
}

export function listArtifacts(db: DbOrTx, conversationId: string) {
  return db.select().from(artifact).where(eq(artifact.conversationId, conversationId)).orderBy(asc(artifact.createdAt), asc(artifact.id));
}

export async function recordFeedback(db: DbOrTx, turnId: string, satisfaction: number, text: string | undefined) {
  const [row] = await db
    .update(agentExecutionHistory)
    .set({ userSatisfaction: satisfaction, feedbackText: text ?? null })
    .where(eq(agentExecutionHistory.id, turnId))
    .returning();
  await recordMetrics(db, [{ projectId: row!.projectId, agentId: row!.agentId, name: 'satisfaction', value: satisfaction, tags: { turnId } }]);
  return row!;
}
