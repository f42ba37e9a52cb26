// The conversation history a turn's model request carries, with what canceled turns leave in it.
import { and, desc, eq, isNull, lt, ne, or } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { agentExecutionHistory, message } from '../db/schema/index.js';

/** How an interrupted answer is marked for the model: it saw the user stop it, not a finished reply. */
export const INTERRUPTED_MARK = '[interrupted]';

export interface HistoryMessage {
  role: 'user' | 'assistant';
  content: string;
}

/**
 * The newest `limit` messages before a turn, oldest first. A canceled turn is never stored with an assistant
 * message; here it keeps its user message followed by its partial answer marked {@link INTERRUPTED_MARK}
 * (`interrupt` policy or the cancel route), unless it was rolled back (`rollback` policy): then neither is in.
 */
export async function loadModelHistory(db: DbOrTx, conversationId: string, beforeTurn: number, limit: number): Promise<HistoryMessage[]> {
  if (limit === 0) return [];
  const rows = await modelHistoryQuery(db, conversationId, beforeTurn, limit);
  const history: HistoryMessage[] = [];
  for (const row of rows.reverse()) {
    history.push({ role: row.role === 'assistant' ? 'assistant' : 'user', content: row.content });
    if (row.turnStatus === 'canceled' && row.role === 'user') {
      history.push({ role: 'assistant', content: row.partialAnswer ? `${row.partialAnswer}\n\n${INTERRUPTED_MARK}` : INTERRUPTED_MARK });
    }
  }
  return history.slice(-limit);
}

/**
 * The newest `limit` messages before `beforeTurn`, newest first, with their turn's status (rolled-back turns left
 * out). With table statistics the planner walks the (conversation, turn, position) index backwards and stops after
 * `limit` rows, however long the conversation (test/integration/model-history-scale.test.ts); a fresh database
 * before its first ANALYZE scans the small tables instead.
 */
export function modelHistoryQuery(db: DbOrTx, conversationId: string, beforeTurn: number, limit: number) {
  return db
    .select({ role: message.role, content: message.content, turnStatus: agentExecutionHistory.status, partialAnswer: agentExecutionHistory.partialAnswer })
    .from(message)
    .leftJoin(
      agentExecutionHistory,
      and(eq(agentExecutionHistory.conversationId, message.conversationId), eq(agentExecutionHistory.messageIndex, message.turnIndex)),
    )
    .where(
      and(
        eq(message.conversationId, conversationId),
        lt(message.turnIndex, beforeTurn),
        or(isNull(agentExecutionHistory.stopReason), ne(agentExecutionHistory.stopReason, 'rolled_back')),
      ),
    )
    .orderBy(desc(message.turnIndex), desc(message.position))
    .limit(limit);
}
