// Stopping a running turn from the gateway: the cancel route and the interrupt / rollback double-texting
// policies. The turn itself records the cancellation (workflows/conversation-turn.ts); this only asks.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { DbOrTx } from '../db/client.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { turnStopSignal, turnWorkflowId, type TurnCancelReason } from '../../workflows/contracts/index.js';
import { findTurn, type TurnRow } from './message-store.js';
import { findConversation } from './store.js';

/**
 * Asks Temporal to cancel a turn's workflow; for a newer message's `interrupt` / `rollback` the reason is
 * signalled first, so it is in the turn's history before the cancellation and survives any crash. False when
 * the workflow has already closed. Repeating it is harmless.
 */
export async function requestTurnCancel(temporal: Client, workflowId: string, reason: TurnCancelReason = 'canceled'): Promise<boolean> {
  const handle = temporal.workflow.getHandle(workflowId);
  try {
    if (reason !== 'canceled') await handle.signal(turnStopSignal, { reason });
    await handle.cancel();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false; // closed (or never started): nothing runs
    throw err;
  }
}

const notRunning = (status: string) => new ConflictError('turn_not_running', `the turn is ${status}; only a running or queued turn can be canceled`);

/**
 * `POST …/turns/:index/cancel`: cancels the turn if it is running or queued and returns its row as it is now
 * (the workflow marks it `canceled` shortly after). 404 for another project's conversation or an unknown
 * turn; 409 `turn_not_running` once the turn has ended. Canceling again while the first is under way is fine.
 */
export async function cancelTurnRequest(
  db: DbOrTx,
  temporal: Client,
  p: { projectId: string; conversationId: string; turnIndex: number },
): Promise<TurnRow | undefined> {
  const conv = await findConversation(db, p.projectId, p.conversationId);
  if (!conv) throw new NotFoundError('conversation');
  if (p.turnIndex > conv.lastTurnIndex) throw new NotFoundError('turn');
  const before = await findTurn(db, conv.id, p.turnIndex);
  if (before && before.status !== 'running') throw notRunning(before.status);
  if (!(await requestTurnCancel(temporal, turnWorkflowId(conv.id, p.turnIndex)))) {
    throw notRunning((await findTurn(db, conv.id, p.turnIndex))?.status ?? 'not running');
  }
  return findTurn(db, conv.id, p.turnIndex);
}
