// Reads of turns, messages and artifacts, feedback, and the Idempotency-Key records of turn submissions.
// Tenant isolation: these take a conversation id the caller resolved through the project-scoped
// `findConversation` or the submit path's locked read (gateway) or from a workflow input (worker).
import { and, asc, eq, gt, or } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import type { PageRequest } from '../db/pagination.js';
import { agentExecutionHistory, artifact, message, turnRequest } from '../db/schema/index.js';
import { ValidationError } from '../errors.js';
import { recordMetrics } from '../metrics/store.js';

/** Fixed message positions inside a turn, so every write has a natural unique key. */
export const USER_POSITION = 0;
export const ASSISTANT_POSITION = 1000;

export type TurnRow = typeof agentExecutionHistory.$inferSelect;
export type MessageRow = typeof message.$inferSelect;
export type TurnRequestRow = typeof turnRequest.$inferSelect;

/** The turn row of a turn index (stored as `messageIndex`, the seed schema's name for it). */
export async function findTurn(db: DbOrTx, conversationId: string, turnIndex: number): Promise<TurnRow | undefined> {
  const [row] = await db
    .select()
    .from(agentExecutionHistory)
    .where(and(eq(agentExecutionHistory.conversationId, conversationId), eq(agentExecutionHistory.messageIndex, turnIndex)));
  return row;
}

/** A turn's row with its answer (the assistant message, once there is one): what a waiting request replies with, in one read. */
export async function findTurnWithAnswer(
  db: DbOrTx,
  conversationId: string,
  turnIndex: number,
): Promise<{ row: TurnRow; answer: MessageRow | null } | undefined> {
  const [found] = await db
    .select({ row: agentExecutionHistory, answer: message })
    .from(agentExecutionHistory)
    .leftJoin(
      message,
      and(eq(message.conversationId, agentExecutionHistory.conversationId), eq(message.turnIndex, agentExecutionHistory.messageIndex), eq(message.position, ASSISTANT_POSITION)),
    )
    .where(and(eq(agentExecutionHistory.conversationId, conversationId), eq(agentExecutionHistory.messageIndex, turnIndex)));
  return found;
}

export async function findAssistantMessage(db: DbOrTx, conversationId: string, turnIndex: number): Promise<MessageRow | undefined> {
  const [row] = await db
    .select()
    .from(message)
    .where(and(eq(message.conversationId, conversationId), eq(message.turnIndex, turnIndex), eq(message.position, ASSISTANT_POSITION)));
  return row;
}

/**
 * A page of messages in conversation order, after the (turn, position) `cursor` of the previous page;
 * `limit + 1` rows so the caller can tell whether there is more. A cursor this API did not make is a 400.
 */
export function listMessages(db: DbOrTx, conversationId: string, page: PageRequest): Promise<MessageRow[]> {
  const after = page.cursor ? decodeMessageCursor(page.cursor) : undefined;
  const cursor = after
    ? or(gt(message.turnIndex, after[0]), and(eq(message.turnIndex, after[0]), gt(message.position, after[1])))
    : undefined;
  return db
    .select()
    .from(message)
    .where(and(eq(message.conversationId, conversationId), cursor))
    .orderBy(asc(message.turnIndex), asc(message.position))
    .limit(page.limit + 1);
}

/** The `nextCursor` after this message. */
export function messageCursor(row: { turnIndex: number; position: number }): string {
  return Buffer.from(JSON.stringify([row.turnIndex, row.position])).toString('base64url');
}

const isInt32 = (v: unknown) => Number.isInteger(v) && (v as number) >= -(2 ** 31) && (v as number) < 2 ** 31;

function decodeMessageCursor(cursor: string): [number, number] {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    // Turn index and position are Postgres integers: a larger number would be refused there, as a 500.
    if (Array.isArray(value) && value.length === 2 && value.every(isInt32)) return value as [number, number];
  } catch {
    // fall through to the validation error
  }
  throw new ValidationError('invalid request: query.cursor: not a cursor returned by this API', [
    { field: 'query.cursor', message: 'not a cursor returned by this API' },
  ]);
}

export function listArtifacts(db: DbOrTx, conversationId: string) {
  return db.select().from(artifact).where(eq(artifact.conversationId, conversationId)).orderBy(asc(artifact.createdAt), asc(artifact.id));
}

/** Stores a rating of a turn and records it as the `satisfaction` metric. */
export async function recordFeedback(db: DbOrTx, turnId: string, satisfaction: number, text: string | undefined): Promise<TurnRow> {
  const [row] = await db
    .update(agentExecutionHistory)
    .set({ userSatisfaction: satisfaction, feedbackText: text ?? null })
    .where(eq(agentExecutionHistory.id, turnId))
    .returning();
  await recordMetrics(db, [{ projectId: row!.projectId, agentId: row!.agentId, name: 'satisfaction', value: satisfaction, tags: { turnId } }]);
  return row!;
}

/** The earlier submission with this Idempotency-Key, if any. */
export async function findTurnRequest(db: DbOrTx, conversationId: string, idempotencyKey: string): Promise<TurnRequestRow | undefined> {
  const [row] = await db
    .select()
    .from(turnRequest)
    .where(and(eq(turnRequest.conversationId, conversationId), eq(turnRequest.idempotencyKey, idempotencyKey)));
  return row;
}

export async function recordTurnRequest(
  db: DbOrTx,
  p: { conversationId: string; idempotencyKey: string; requestHash: string; turnIndex: number; workflowId: string },
): Promise<void> {
  await db.insert(turnRequest).values(p);
}
