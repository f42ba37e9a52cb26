// Wakes the turn streams of one gateway process when their turn's log grows: one LISTEN connection per
// process, fanned out in memory by conversation and turn. The log itself stays in Postgres; the hub only
// says "read again", so a missed or duplicated notification costs a query, never an event.
import type postgres from 'postgres';
import type { Logger } from 'pino';
import { TURN_EVENTS_CHANNEL } from './turn-events.js';

/** One waiting stream. */
export interface TurnEventSubscriber {
  /**
   * The turn's log may have grown, up to `lastSeq` when the notification said (undefined: unknown, re-read);
   * `ended` when that write held the turn's terminal event (false may also mean "not said": older writers).
   */
  wake(lastSeq?: number, ended?: boolean): void;
  /** The hub is closing (gateway shutdown): end the stream; the client resumes on another gateway. */
  close(): void;
}

export interface TurnEventHub {
  /** Registers a stream for one turn; returns the function that removes it. */
  subscribe(conversationId: string, turnIndex: number, subscriber: TurnEventSubscriber): () => void;
  /** Ends every stream and stops listening (gateway shutdown). */
  close(): Promise<void>;
}

const turnKey = (conversationId: string, turnIndex: number) => `${conversationId}:${turnIndex}`;

/**
 * Splits `<conversationId>:<turnIndex>:<lastSeq>[:end]` into the subscription key, the seq and whether the write
 * ended the turn. A payload this version cannot read wakes its turn with nothing known, so it re-reads.
 */
export function parseTurnEventPayload(payload: string): { key: string; lastSeq: number | undefined; ended: boolean } {
  const ended = payload.endsWith(':end');
  const body = ended ? payload.slice(0, -4) : payload;
  const cut = body.lastIndexOf(':');
  const lastSeq = Number(body.slice(cut + 1));
  return { key: body.slice(0, cut), lastSeq: Number.isInteger(lastSeq) ? lastSeq : undefined, ended };
}

/**
 * A hub over `sql.listen` of the `postgres` driver, which keeps one dedicated connection for it and listens
 * again after that connection drops. Listening starts with the first subscriber. Every (re)listen wakes every
 * subscriber, since notifications sent while the connection was down are lost.
 */
export function createTurnEventHub(sql: postgres.Sql, logger: Logger): TurnEventHub {
  const subscribers = new Map<string, Set<TurnEventSubscriber>>();
  let listening: Promise<postgres.ListenMeta | undefined> | undefined;
  let closed = false;

  const wakeAll = () => {
    for (const set of subscribers.values()) for (const s of set) s.wake();
  };
  const onNotify = (payload: string) => {
    const { key, lastSeq, ended } = parseTurnEventPayload(payload);
    for (const s of subscribers.get(key) ?? []) s.wake(lastSeq, ended);
  };
  const listen = () => {
    listening ??= sql.listen(TURN_EVENTS_CHANNEL, onNotify, wakeAll).catch((err: unknown) => {
      // Streams still see new events through their slow safety re-read; the next subscriber tries again.
      logger.error({ err }, 'listening for turn events failed');
      listening = undefined;
      return undefined;
    });
  };

  return {
    subscribe(conversationId, turnIndex, subscriber) {
      if (closed) {
        subscriber.close();
        return () => {};
      }
      const key = turnKey(conversationId, turnIndex);
      let set = subscribers.get(key);
      if (!set) subscribers.set(key, (set = new Set()));
      set.add(subscriber);
      listen();
      return () => {
        set.delete(subscriber);
        if (set.size === 0 && subscribers.get(key) === set) subscribers.delete(key);
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const set of [...subscribers.values()]) for (const s of [...set]) s.close();
      subscribers.clear();
      const meta = await listening;
      await meta?.unlisten().catch(() => {});
    },
  };
}
