// Retention of the turn event log (TURN_EVENTS_RETENTION_DAYS): events older than that are deleted.
//
// Why a timer in the worker process and not a Temporal Schedule: pruning is housekeeping of this database, not
// business work a person follows in the Temporal UI; it needs no durability (a missed pass is made up by the next
// one, which deletes everything past the cutoff) and no history. Every worker runs the timer, and a session-level
// `pg_try_advisory_lock` on a connection of its own makes one of them prune while the others skip, so the work does
// not grow with the number of workers. Each pass deletes in small batches, each its own statement, so no lock or
// transaction is held for long, and it yields between batches. A Schedule would need a workflow type, a replay
// history and a schedule per task queue kept in sync with the config, for the same result.
import type postgres from 'postgres';
import type { Db } from '../db/client.js';
import { pruneTurnEvents } from './turn-events.js';

/** The advisory lock that elects the pruning worker (two-key form: easy to find in pg_locks). */
export const PRUNE_LOCK_KEYS = [0x5341_4f02, 1] as const;

export interface PruneOptions {
  retentionDays: number;
  batch?: number;
  /** Waits between batches, so a large backlog does not crowd out the turns' own writes. */
  pauseMs?: number;
  now?: Date;
  /** Ends the pass after the batch under way (worker shutdown); the next pass goes on from there. */
  signal?: AbortSignal;
}

export type PruneOutcome = { deleted: number } | { skipped: 'disabled' | 'another worker is pruning' };

/**
 * One pruning pass: takes the prune lock (or skips when another session holds it), deletes batch after batch
 * until nothing older than the cutoff is left, releases the lock.
 */
export async function pruneTurnEventsOnce(db: Db, options: PruneOptions): Promise<PruneOutcome> {
  if (options.retentionDays <= 0) return { skipped: 'disabled' };
  const cutoff = new Date((options.now ?? new Date()).getTime() - options.retentionDays * 86_400_000);
  // Session-level lock on one reserved connection: the batches below run on the pool, free of it.
  const conn = await clientOf(db).reserve();
  try {
    const [row] = await conn<{ locked: boolean }[]>`select pg_try_advisory_lock(${PRUNE_LOCK_KEYS[0]}, ${PRUNE_LOCK_KEYS[1]}) as locked`;
    if (!row?.locked) return { skipped: 'another worker is pruning' };
    try {
      let deleted = 0;
      for (let n; !options.signal?.aborted && (n = await pruneTurnEvents(db, cutoff, options.batch ?? 5_000)) > 0; ) {
        deleted += n;
        await new Promise((r) => setTimeout(r, options.pauseMs ?? 50));
      }
      return { deleted };
    } finally {
      await conn`select pg_advisory_unlock(${PRUNE_LOCK_KEYS[0]}, ${PRUNE_LOCK_KEYS[1]})`;
    }
  } finally {
    conn.release();
  }
}

/** The postgres-js client under a Drizzle database (Drizzle keeps it as `$client`). */
function clientOf(db: Db): postgres.Sql {
  const client = (db as Db & { $client?: postgres.Sql }).$client;
  if (!client?.reserve) throw new Error('turn event pruning needs a postgres-js database');
  return client;
}

export interface PrunerOptions extends Omit<PruneOptions, 'now' | 'signal'> {
  /** Between passes; one hour in production. */
  everyMs?: number;
  /** Before the first pass: the worker's start-up comes first. */
  firstAfterMs?: number;
  onPass?: (outcome: PruneOutcome) => void;
  onError?: (err: unknown) => void;
}

/**
 * Runs {@link pruneTurnEventsOnce} a minute after start and then every hour (a pass that fails is logged and the
 * next one tries again); `stop` cancels the timer and ends a pass under way after its current batch.
 */
export function startTurnEventsPruner(db: Db, options: PrunerOptions): { stop: () => Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const stopping = new AbortController();
  const schedule = (ms: number) => {
    if (stopping.signal.aborted) return;
    timer = setTimeout(() => {
      running = pruneTurnEventsOnce(db, { ...options, signal: stopping.signal })
        .then((outcome) => options.onPass?.(outcome), (err: unknown) => options.onError?.(err))
        .finally(() => schedule(options.everyMs ?? 3_600_000));
    }, ms);
    timer.unref();
  };
  if (options.retentionDays > 0) schedule(options.firstAfterMs ?? 60_000);
  return {
    stop: async () => {
      stopping.abort();
      clearTimeout(timer);
      await running;
    },
  };
}
