import { findAssistantMessage, findTurn, findTurnWithAnswer, type MessageRow, type TurnRow } from '../../conversations/message-store.js';
import type { GatewayDeps } from '../deps.js';
import { AppError } from '../../errors.js';
import { turnEnded } from './event-routes.js';
import { messageView, turnView } from './views.js';

type Outcome = 'completed' | 'failed' | 'canceled' | 'pending';

const outcomes: Record<string, Outcome> = { completed: 'completed', failed: 'failed', canceled: 'canceled' };

/**
 * Waits for the turn's row to leave `running`, up to `waitMs`: woken by the process's LISTEN hub, since the
 * worker writes the row and its terminal event in one transaction. The answer is known the moment that commits,
 * before the workflow closes (it may still start escalations), and no Temporal long-poll is held per request.
 * The hub's slow safety re-read is the backstop; a workflow that ended without writing an outcome (terminated
 * by an operator) is a failed turn. A closing hub (gateway shutdown) leaves the turn pending: the client polls.
 */
async function awaitTurnOutcome(
  deps: GatewayDeps,
  conversationId: string,
  index: number,
  waitMs: number,
): Promise<{ outcome: Outcome; row?: TurnRow; answer?: MessageRow | null }> {
  let dirty = true;
  let done = false;
  let wakeUp: (() => void) | undefined;
  // Only the end matters here: a notification of progress (a delta) is skipped; one that said nothing is not.
  // A worker older than the end marker is only heard by the safety re-read: upgrade workers before gateways.
  const wake = (lastSeq?: number, ended?: boolean) => {
    if (lastSeq !== undefined && !ended) return;
    dirty = true;
    wakeUp?.();
  };
  const finish = () => {
    done = true;
    wakeUp?.();
  };
  const unsubscribe = deps.streams.hub.subscribe(conversationId, index, { wake, close: finish });
  const deadline = setTimeout(finish, waitMs);
  try {
    let row: TurnRow | undefined;
    while (!done) {
      if (dirty) {
        dirty = false;
        // The row with its answer: a completed turn is replied to from this one read.
        const found = await findTurnWithAnswer(deps.db, conversationId, index);
        row = found?.row;
        const outcome = row && outcomes[row.status];
        if (outcome) return { outcome, row, answer: found?.answer };
        continue;
      }
      const safety = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(true), deps.streams.timings.safetyReadMs);
        wakeUp = () => (clearTimeout(timer), resolve(false));
        if (dirty || done) wakeUp();
      });
      wakeUp = undefined;
      if (!safety) continue;
      if (await turnEnded(deps, conversationId, index)) {
        row = await findTurn(deps.db, conversationId, index);
        return { outcome: (row && outcomes[row.status]) ?? 'failed', row };
      }
    }
    return { outcome: 'pending', row };
  } finally {
    clearTimeout(deadline);
    unsubscribe();
  }
}

/**
 * Waits for the turn up to the configured time: 200 with the answer, 202 with a poll URL, 502 on failure. A
 * canceled turn (cancel route, or a newer message that interrupted or rolled it back) is 200 with the turn,
 * status `canceled` and its partial answer, and no message.
 */
export async function awaitTurnReply(deps: GatewayDeps, conversationId: string, index: number) {
  const { outcome, row, answer } = await awaitTurnOutcome(deps, conversationId, index, deps.settings.turnWaitMs);
  const turn = turnView(conversationId, index, row ?? (await findTurn(deps.db, conversationId, index)));
  const pollUrl = `/v1/conversations/${conversationId}/turns/${index}`;
  if (outcome === 'pending') return { status: 202, body: { turn, pollUrl }, headers: { Location: pollUrl } };
  if (outcome === 'canceled') return { status: 200, body: { turn, message: null } };
  if (outcome === 'failed') throw new AppError(502, 'turn_failed', `the turn failed: ${turn.error ?? 'the workflow ended without an outcome'}`, { turn });
  const message = answer !== undefined ? answer : await findAssistantMessage(deps.db, conversationId, index);
  return { status: 200, body: { turn, message: message ? messageView(message) : null } };
}
