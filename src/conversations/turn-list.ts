// The turns list of a conversation. Tenant isolation: takes a conversation id the caller resolved through the
// project-scoped `findConversation`.
import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { selectPage, type PageRequest } from '../db/pagination.js';
import { agentExecutionHistory } from '../db/schema/index.js';
import type { TurnRow } from './message-store.js';

/** A page of a conversation's turn rows, newest first (`limit + 1` rows), optionally of one status. */
export function listTurns(db: DbOrTx, conversationId: string, filters: { status?: string | undefined }, page: PageRequest): Promise<TurnRow[]> {
  const t = agentExecutionHistory;
  return selectPage(db, t, eq(t.conversationId, conversationId), [filters.status ? eq(t.status, filters.status) : undefined], page);
}
