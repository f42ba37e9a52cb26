// Conversations opened by the OpenAI-compatible API: the client's earlier messages become the conversation's
// history, and an Idempotency-Key finds the conversation an earlier try of the same request opened.
// Tenant isolation: every lookup is scoped to the project.
import { and, eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { conversation, message } from '../db/schema/index.js';
import type { HistoryMessage } from './model-history.js';
import type { ConversationRow } from './store.js';

/** At most this many earlier messages: they sit in turn 0 below the assistant position of a first message. */
export const MAX_IMPORTED_MESSAGES = 999;

/** Serialises openings with one key, so two tries of one request open one conversation. */
export async function lockRequestKey(tx: DbOrTx, projectId: string, key: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`openai-request:${projectId}:${key}`}, 0))`);
}

/** The conversation an earlier request with this Idempotency-Key opened, in this project. */
export async function findConversationByRequestKey(db: DbOrTx, projectId: string, key: string): Promise<ConversationRow | undefined> {
  const [row] = await db
    .select()
    .from(conversation)
    .where(and(eq(conversation.projectId, projectId), sql`${conversation.metadata} -> 'openai' ->> 'idempotencyKey' = ${key}`))
    .limit(1);
  return row;
}

/**
 * Stores the client's earlier messages as turn 0 of a new conversation, in order (positions 0…n-1), so the
 * first turn's model request carries them like any history. Call in the transaction that created it.
 */
export async function importHistory(tx: DbOrTx, conversationId: string, history: HistoryMessage[]): Promise<void> {
  if (history.length === 0) return;
  await tx.insert(message).values(history.map((m, position) => ({ conversationId, turnIndex: 0, position, role: m.role, content: m.content })));
  await tx
    .update(conversation)
    .set({ messagesCount: sql`${conversation.messagesCount} + ${history.length}` })
    .where(eq(conversation.id, conversationId));
}
