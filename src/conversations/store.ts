// Conversation queries. Tenant isolation lives here: API lookups filter on the project; the worker's
// functions take a conversation id from a workflow input the gateway built from a project-scoped row.
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { selectPage, type PageRequest } from '../db/pagination.js';
import { conversation, message } from '../db/schema/index.js';
import { ASSISTANT_POSITION } from './message-store.js';

export type ConversationRow = typeof conversation.$inferSelect;

export async function findConversation(db: DbOrTx, projectId: string, id: string): Promise<ConversationRow | undefined> {
  const [row] = await db
    .select()
    .from(conversation)
    .where(and(eq(conversation.id, id), eq(conversation.projectId, projectId)));
  return row;
}

/** Worker side: the conversation of a running turn or session, by id. */
export async function findConversationById(db: DbOrTx, id: string): Promise<ConversationRow | undefined> {
  const [row] = await db.select().from(conversation).where(eq(conversation.id, id));
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

/** The built-in `set_conversation_variable` tool: one key merged in SQL, so concurrent writes are kept. */
export async function setConversationVariable(db: DbOrTx, conversationId: string, name: string, value: unknown): Promise<void> {
  await db
    .update(conversation)
    .set({ variables: sql`${conversation.variables} || jsonb_build_object(${name}::text, ${JSON.stringify(value ?? null)}::jsonb)` })
    .where(eq(conversation.id, conversationId));
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

/** Records the turn index a submission handed out; `touch` also counts it as activity (a real start). */
export async function setLastTurnIndex(tx: DbOrTx, conversationId: string, turnIndex: number, touch: boolean): Promise<void> {
  await tx
    .update(conversation)
    .set({ lastTurnIndex: turnIndex, ...(touch ? { lastActivityAt: new Date() } : {}) })
    .where(eq(conversation.id, conversationId));
}

/** A page of the project's conversations, newest first. */
export function listConversations(
  db: DbOrTx,
  projectId: string,
  filter: { agentId?: string; status?: string; externalUserId?: string },
  page: PageRequest,
): Promise<ConversationRow[]> {
  return selectPage(db, conversation, eq(conversation.projectId, projectId), [
    filter.agentId ? eq(conversation.agentId, filter.agentId) : undefined,
    filter.status ? eq(conversation.status, filter.status) : undefined,
    filter.externalUserId ? eq(conversation.externalUserId, filter.externalUserId) : undefined,
  ], page);
}

/** Ends an active conversation; one already ended is returned as it is. */
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

/**
 * Closes a live conversation idle for `idleTimeoutMs`. The UPDATE re-checks the last activity against
 * the database clock, so a turn that started since the caller looked keeps it open; false then.
 */
export async function closeIdleConversation(db: DbOrTx, id: string, idleTimeoutMs: number): Promise<boolean> {
  const closed = await db
    .update(conversation)
    .set({ status: 'completed', endedAt: new Date(), context: sql`${conversation.context} || '{"endedBecause":"idle"}'::jsonb` })
    .where(
      and(
        eq(conversation.id, id),
        inArray(conversation.status, ['active', 'paused']),
        sql`${conversation.lastActivityAt} <= now() - make_interval(secs => ${idleTimeoutMs / 1000})`,
      ),
    )
    .returning({ id: conversation.id });
  return closed.length > 0;
}
