import { CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import { findAssistantMessage, findTurn } from '../../conversations/message-store.js';
import type { Workflows } from '../../../workflows/contracts/index.js';
import type { GatewayDeps } from '../deps.js';
import { AppError } from '../../errors.js';
import { messageView, turnView } from './views.js';

/**
 * Waits for the turn up to the configured time: 200 with the answer, 202 with a poll URL, 502 on failure. A
 * canceled turn (cancel route, or a newer message that interrupted or rolled it back) is 200 with the turn,
 * status `canceled` and its partial answer, and no message.
 */
export async function awaitTurnReply(deps: GatewayDeps, conversationId: string, index: number, workflowId: string) {
  const handle = deps.temporal.workflow.getHandle<Workflows['runConversationTurn']>(workflowId);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), deps.settings.turnWaitMs);
  let outcome: 'done' | 'failed' | 'canceled' | 'pending' = 'pending';
  try {
    await deps.temporal.withAbortSignal(controller.signal, () => handle.result());
    outcome = 'done';
  } catch (err) {
    if (err instanceof WorkflowFailedError) outcome = err.cause instanceof CancelledFailure ? 'canceled' : 'failed';
    else if (!controller.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
  }
  const row = await findTurn(deps.db, conversationId, index);
  const turn = turnView(conversationId, index, row);
  const pollUrl = `/v1/conversations/${conversationId}/turns/${index}`;
  if (outcome === 'pending') return { status: 202, body: { turn, pollUrl }, headers: { Location: pollUrl } };
  if (outcome === 'canceled') return { status: 200, body: { turn, message: null } };
  if (outcome === 'failed') throw new AppError(502, 'turn_failed', `the turn failed: ${turn.error ?? 'unknown error'}`, { turn });
  const message = await findAssistantMessage(deps.db, conversationId, index);
  return { status: 200, body: { turn, message: message ? messageView(message) : null } };
}
