import { findTurn, type TurnRow } from '../../conversations/message-store.js';
import { listTurnEvents, terminalTurnEventTypes, type TurnEvent } from '../../conversations/turn-events.js';
import type { GatewayDeps } from '../deps.js';
import { turnEnded } from '../conversations/event-routes.js';

/**
 * The gateway is shutting down (its LISTEN hub closed) before the followed turn ended. The turn goes on in the
 * worker; the client is told to come back (a 503, or an error event on a stream), so shutdown is not held up
 * for as long as a turn may take.
 */
export class GatewayClosingError extends Error {
  constructor() {
    super('this gateway is shutting down before the turn ended; the turn goes on: retry with the same Idempotency-Key to get its answer');
  }
}

export interface FollowedTurn {
  conversationId: string;
  turnIndex: number;
}

/**
 * A turn's events in order, from the start, until its terminal event (or `signal` aborts): woken by the
 * process's LISTEN hub like the SSE streams, with their slow safety re-read as the backstop. No Temporal
 * long-poll per request, so a waiting client costs a subscription, not a connection to Temporal.
 */
export async function* followTurn(deps: GatewayDeps, t: FollowedTurn, signal: AbortSignal): AsyncGenerator<TurnEvent> {
  let after = 0;
  let dirty = true;
  let wakeUp: (() => void) | undefined;
  let closing = false;
  const wake = () => {
    dirty = true;
    wakeUp?.();
  };
  const close = () => {
    closing = true;
    wake();
  };
  const unsubscribe = deps.streams.hub.subscribe(t.conversationId, t.turnIndex, { wake, close });
  signal.addEventListener('abort', wake);
  try {
    let quietEnded = 0;
    while (!signal.aborted) {
      if (closing) throw new GatewayClosingError();
      if (dirty) {
        dirty = false;
        const events = await listTurnEvents(deps.db, t.conversationId, t.turnIndex, after, 500);
        for (const e of events) {
          after = e.seq;
          yield e;
          if (terminalTurnEventTypes.includes(e.type)) return;
        }
        if (events.length > 0) continue;
      }
      const safety = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(true), deps.streams.timings.safetyReadMs);
        wakeUp = () => (clearTimeout(timer), resolve(false));
        if (dirty || signal.aborted) wakeUp();
      });
      wakeUp = undefined;
      if (!safety) continue;
      // Two quiet safety reads of an ended turn: a log without a terminal event (pruned, or a turn that never started).
      quietEnded = (await turnEnded(deps, t.conversationId, t.turnIndex)) ? quietEnded + 1 : 0;
      if (quietEnded >= 2) return;
      dirty = true;
    }
  } finally {
    signal.removeEventListener('abort', wake);
    unsubscribe();
  }
}

/** Waits for the turn to end (or `signal`) and returns its row as it is then. */
export async function awaitTurnEnd(deps: GatewayDeps, t: FollowedTurn, signal: AbortSignal): Promise<TurnRow | undefined> {
  for await (const _ of followTurn(deps, t, signal)) {
    // only the end matters here
  }
  return findTurn(deps.db, t.conversationId, t.turnIndex);
}
