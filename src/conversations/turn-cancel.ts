// The last writes of a canceled turn: its row (status, stop reason, the text streamed so far) and the
// `turn.canceled` event that ends its log. Idempotent, keyed on (conversation, turn index), like every
// turn write: the worker retries activities.
import { and, asc, eq, inArray } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { agentExecutionHistory, turnEvent } from '../db/schema/index.js';
import { findTurn } from './message-store.js';
import { appendTurnEvents, type TurnRef } from './turn-events.js';
import { runningTurn } from './turn-store.js';

/**
 * What a client streaming the turn is showing: the `message.delta` texts after the last `message.reset` (a
 * retried model attempt starts over). Empty when the model had streamed nothing.
 */
export async function streamedText(db: DbOrTx, conversationId: string, turnIndex: number): Promise<string> {
  const rows = await db
    .select({ type: turnEvent.type, data: turnEvent.data })
    .from(turnEvent)
    .where(and(eq(turnEvent.conversationId, conversationId), eq(turnEvent.turnIndex, turnIndex), inArray(turnEvent.type, ['message.delta', 'message.reset'])))
    .orderBy(asc(turnEvent.seq));
  let text = '';
  for (const row of rows) text = row.type === 'message.reset' ? '' : text + (typeof row.data.text === 'string' ? row.data.text : '');
  return text;
}

export interface CancelTurnParams extends TurnRef {
  reason: 'canceled' | 'interrupted' | 'rolled_back';
  responseTimeMs: number;
}

/**
 * Marks a running turn canceled with its partial answer (on the row, never as an assistant message) and
 * appends `turn.canceled`. A turn that already ended otherwise (completed, failed) is left as it is and gets
 * no event. Returns the row's status afterwards.
 */
export async function cancelTurn(db: DbOrTx, p: CancelTurnParams): Promise<string | undefined> {
  return db.transaction(async (tx) => {
    const partial = await streamedText(tx, p.conversationId, p.turnIndex);
    await tx
      .update(agentExecutionHistory)
      .set({ status: 'canceled', stopReason: p.reason, partialAnswer: partial || null, responseTimeMs: p.responseTimeMs, completedAt: new Date() })
      .where(runningTurn(p));
    const row = await findTurn(tx, p.conversationId, p.turnIndex);
    if (row?.status === 'canceled') {
      const data = { partialAnswer: row.partialAnswer ?? '', stopReason: row.stopReason };
      await appendTurnEvents(tx, { projectId: p.projectId, conversationId: p.conversationId, turnIndex: p.turnIndex }, [{ key: 'turn:canceled', type: 'turn.canceled', data }]);
    }
    return row?.status;
  });
}
