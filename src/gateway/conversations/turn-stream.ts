import type { Response } from 'express';
import type { Logger } from 'pino';
import type postgres from 'postgres';
import type { Config } from '../../config.js';
import type { Db } from '../../db/client.js';
import { createTurnEventHub, type TurnEventHub } from '../../conversations/turn-event-hub.js';
import { listTurnEvents, terminalTurnEventTypes, type TurnEvent } from '../../conversations/turn-events.js';
import { SseWriter } from './sse.js';
import { StreamSlots } from './stream-slots.js';

/** Timings of turn streams; tests shorten them. */
export interface TurnStreamTimings {
  /** A comment line this often keeps proxies from closing an idle stream. */
  heartbeatMs: number;
  /** A re-read this often even without a notification: the backstop if one was lost. */
  safetyReadMs: number;
  /** How long a client may leave written events unread before the stream is dropped. */
  drainTimeoutMs: number;
}

/** What the gateway needs to serve live turns: the process's hub, its stream limits and the timings. */
export interface TurnStreams {
  hub: TurnEventHub;
  slots: StreamSlots;
  timings: TurnStreamTimings;
}

/** One stream to serve: which turn, from where, and how to tell that a turn ended without a terminal event. */
export interface TurnStreamRequest {
  conversationId: string;
  turnIndex: number;
  afterSeq: number;
  /** True when the turn is over (its row or workflow says so): ends a stream whose log will not grow. */
  turnEnded: () => Promise<boolean>;
  /** Gives the stream's slot back; called once when the stream ends. */
  release: () => void;
}

const PAGE = 200;

/** An event as clients see it, in the JSON list and in the SSE `data:` line. */
export function turnEventView(e: TurnEvent) {
  return { ...e.data, seq: e.seq, type: e.type, turnIndex: e.turnIndex, createdAt: e.createdAt.toISOString() };
}

/**
 * Streams a turn's events after `afterSeq` as SSE until the terminal event, the client leaves, or the hub
 * closes. Reads from Postgres whenever the hub says the log grew (subscribed before the first read, so
 * nothing written in between is missed), and every `safetyReadMs` regardless.
 */
export async function streamTurnEvents(res: Response, db: Db, streams: TurnStreams, logger: Logger, t: TurnStreamRequest): Promise<void> {
  const { timings } = streams;
  const writer = new SseWriter(res, timings.drainTimeoutMs);
  let after = t.afterSeq;
  let dirty = true;
  let stop = false;
  let wakeUp: (() => void) | undefined;
  const wake = () => wakeUp?.();
  const unsubscribe = streams.hub.subscribe(t.conversationId, t.turnIndex, {
    wake: (lastSeq) => {
      if (lastSeq !== undefined && lastSeq <= after) return;
      dirty = true;
      wake();
    },
    close: () => ((stop = true), wake()),
  });
  const onClose = () => ((stop = true), wake());
  res.on('close', onClose);
  const heartbeat = setInterval(() => writer.comment('keep-alive'), timings.heartbeatMs);
  try {
    writer.start();
    // Safety reads that found an ended turn and nothing new; two in a row end a log without a terminal
    // event (an old turn, a pruned log). Two, so an event written just after the turn row is still seen.
    let quietEnded = 0;
    let endedBeforeRead = false;
    while (!stop && !writer.closed) {
      if (dirty) {
        dirty = false;
        const events = await listTurnEvents(db, t.conversationId, t.turnIndex, after, PAGE);
        for (const e of events) {
          await writer.event(e.seq, e.type, turnEventView(e));
          after = e.seq;
          if (terminalTurnEventTypes.includes(e.type)) return;
        }
        if (events.length === PAGE) dirty = true;
        quietEnded = events.length === 0 && endedBeforeRead ? quietEnded + 1 : 0;
        endedBeforeRead = false;
        if (quietEnded >= 2) return;
        continue;
      }
      const safety = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(true), timings.safetyReadMs);
        wakeUp = () => (clearTimeout(timer), resolve(false));
      });
      wakeUp = undefined;
      if (!safety || stop) continue;
      endedBeforeRead = await t.turnEnded();
      dirty = true;
    }
  } catch (err) {
    logger.warn({ err, conversationId: t.conversationId, turnIndex: t.turnIndex }, 'turn event stream ended early');
    res.destroy();
  } finally {
    clearInterval(heartbeat);
    res.off('close', onClose);
    unsubscribe();
    t.release();
    writer.end();
  }
}

type StreamConfig = Pick<Config, 'STREAM_MAX_PER_GATEWAY' | 'STREAM_MAX_PER_PROJECT' | 'STREAM_HEARTBEAT_MS'>;

/**
 * The live-turn machinery of one gateway process: its hub (listening on `sql`'s dedicated LISTEN connection
 * from the first stream on) and its stream limits. The entry point closes `hub` on shutdown.
 */
export function createTurnStreams(sql: postgres.Sql, logger: Logger, config: StreamConfig, timings: Partial<TurnStreamTimings> = {}): TurnStreams {
  return {
    hub: createTurnEventHub(sql, logger),
    slots: new StreamSlots({ maxPerProcess: config.STREAM_MAX_PER_GATEWAY, maxPerProject: config.STREAM_MAX_PER_PROJECT }),
    timings: { heartbeatMs: config.STREAM_HEARTBEAT_MS, safetyReadMs: 12_000, drainTimeoutMs: 30_000, ...timings },
  };
}
