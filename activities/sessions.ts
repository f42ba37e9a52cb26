import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../src/db/client.js';
import { conversation } from '../src/db/schema/index.js';

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
      const [conv] = await deps.db.select().from(conversation).where(eq(conversation.id, p.conversationId));
      if (!conv || !['active', 'paused'].includes(conv.status)) return { done: true, nextCheckInMs: 0 };
      const idleFor = Date.now() - conv.lastActivityAt.getTime();
      if (idleFor < p.idleTimeoutMs) return { done: false, nextCheckInMs: p.idleTimeoutMs - idleFor };
      const closed = await deps.db
        .update(conversation)
        .set({ status: 'completed', endedAt: new Date(), context: sql`${conversation.context} || '{"endedBecause":"idle"}'::jsonb` })
        .where(
          and(
            eq(conversation.id, conv.id),
            inArray(conversation.status, ['active', 'paused']),
            sql`${conversation.lastActivityAt} <= now() - make_interval(secs => ${p.idleTimeoutMs / 1000})`,
          ),
        )
        .returning({ id: conversation.id });
      return closed.length > 0 ? { done: true, nextCheckInMs: 0 } : { done: false, nextCheckInMs: 0 };
    },

    /** The built-in tool the model may call to remember something for the rest of the conversation. */
    async setConversationVariable(p: { conversationId: string; name: string; value: unknown }): Promise<{ ok: true }> {
      await deps.db
        .update(conversation)
        .set({ variables: sql`${conversation.variables} || jsonb_build_object(${p.name}::text, ${JSON.stringify(p.value ?? null)}::jsonb)` })
        .where(eq(conversation.id, p.conversationId));
      return { ok: true };
    },
  };
}
