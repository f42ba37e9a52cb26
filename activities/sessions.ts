import type { Db } from '../src/db/client.js';
import { closeIdleConversation, findConversationById, setConversationVariable } from '../src/conversations/store.js';

export interface IdleCheck {
  done: boolean;
  /** When the conversation is still live: how long until it would be idle for the whole timeout. */
  nextCheckInMs: number;
}

export function createSessionActivities(deps: { db: Db }) {
  return {
    /**
     * Closes the conversation when it has been idle for `idleTimeoutMs` (the update re-checks the last
     * activity, so a turn that just started keeps it open); otherwise says when to look again.
     */
    async closeConversationIfIdle(p: { conversationId: string; idleTimeoutMs: number }): Promise<IdleCheck> {
      const conv = await findConversationById(deps.db, p.conversationId);
      if (!conv || !['active', 'paused'].includes(conv.status)) return { done: true, nextCheckInMs: 0 };
      const idleFor = Date.now() - conv.lastActivityAt.getTime();
      if (idleFor < p.idleTimeoutMs) return { done: false, nextCheckInMs: p.idleTimeoutMs - idleFor };
      const closed = await closeIdleConversation(deps.db, conv.id, p.idleTimeoutMs);
      return closed ? { done: true, nextCheckInMs: 0 } : { done: false, nextCheckInMs: 0 };
    },

    /** The built-in tool the model may call to remember something for the rest of the conversation. */
    async setConversationVariable(p: { conversationId: string; name: string; value: unknown }): Promise<{ ok: true }> {
      await setConversationVariable(deps.db, p.conversationId, p.name, p.value);
      return { ok: true };
    },
  };
}
