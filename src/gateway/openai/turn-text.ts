import type { TurnRow } from '../../conversations/message-store.js';
import { findTurn } from '../../conversations/message-store.js';
import { ResetSafeText } from '../../openai-compat/reset-safe-text.js';
import type { GatewayDeps } from '../deps.js';
import { followTurn, type FollowedTurn } from './turn-follow.js';

export type TurnTextEvent =
  | { type: 'text'; text: string }
  /** The turn ended: its row as stored (status, answer, usage, stop reason). */
  | { type: 'end'; row: TurnRow | undefined }
  /** A retried attempt said something other than what was already streamed. */
  | { type: 'diverged' };

/**
 * The answer of a turn as growing text (see {@link ResetSafeText}), then its end. At a completed turn the text
 * is topped up to the stored answer when it is a continuation of what was streamed.
 */
export async function* turnText(deps: GatewayDeps, t: FollowedTurn, signal: AbortSignal): AsyncGenerator<TurnTextEvent> {
  const text = new ResetSafeText();
  for await (const e of followTurn(deps, t, signal)) {
    if (e.type === 'message.reset') text.reset();
    // The model step that asked for tools is over; what it said before them stays in the stream.
    if (e.type === 'tool.started') text.step();
    if (e.type === 'message.delta' || e.type === 'turn.completed') {
      const out = e.type === 'message.delta' ? text.push(String(e.data.text ?? '')) : text.finish(String(e.data.answer ?? ''));
      if (typeof out !== 'string') {
        yield { type: 'diverged' };
        return;
      }
      if (out) yield { type: 'text', text: out };
    }
  }
  if (signal.aborted) return;
  yield { type: 'end', row: await findTurn(deps.db, t.conversationId, t.turnIndex) };
}
