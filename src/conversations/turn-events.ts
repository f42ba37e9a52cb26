// The per-turn event log (table `turn_event`): what a client streams while a turn runs and resumes from later.
// Activities append; gateways read and are woken by NOTIFY on TURN_EVENTS_CHANNEL.
import { and, asc, eq, gt, sql } from 'drizzle-orm';
import { PgTransaction } from 'drizzle-orm/pg-core';
import type { DbOrTx, Tx } from '../db/client.js';
import { conversation, turnEvent } from '../db/schema/index.js';
import { turnWorkflowId } from '../../workflows/contracts/index.js';
import { enqueueWebhookEvents } from '../webhooks/outbox.js';

/** The kinds of events, in the names clients see. Later issues add kinds (approvals): the column is open text. */
export const turnEventTypes = [
  'turn.started',
  'knowledge.retrieved',
  'message.delta',
  'message.reset',
  'tool.started',
  'tool.completed',
  'tool.failed',
  'turn.completed',
  'turn.failed',
  'turn.canceled',
] as const;
export type TurnEventType = (typeof turnEventTypes)[number];

/** Events after which nothing more is written to a turn's log. */
export const terminalTurnEventTypes: readonly TurnEventType[] = ['turn.completed', 'turn.failed', 'turn.canceled'];

/**
 * The NOTIFY channel; the payload is `<conversationId>:<turnIndex>:<last seq>`, plus `:end` when the write held the
 * turn's terminal event (ids only, never content). Gateways older than the suffix read it as an unknown seq and
 * re-read, so both can run side by side.
 */
export const TURN_EVENTS_CHANNEL = 'turn_events';

export interface TurnRef {
  projectId: string;
  conversationId: string;
  turnIndex: number;
}

export interface NewTurnEvent {
  /**
   * Names the event deterministically, e.g. `model:<activityId>:<attempt>:delta:<n>` or `turn:started`, so the
   * same event written twice (a retried activity) is stored once. Unique within the turn.
   */
  key: string;
  type: TurnEventType;
  data?: Record<string, unknown>;
}

export interface TurnEvent {
  seq: number;
  type: TurnEventType;
  turnIndex: number;
  data: Record<string, unknown>;
  createdAt: Date;
}

/**
 * Appends events to a turn's log in the order given and returns their seqs (the existing seq for an event whose
 * key was already written). Seqs count from 1 without gaps: they are handed out under a transaction-scoped
 * advisory lock on the turn, after the already-written keys are filtered out, so nothing is numbered twice
 * or skipped. Waiting gateways are woken by a NOTIFY sent at commit. Inside a caller's transaction (the turn
 * row's writes) the events join it, without a savepoint of their own.
 *
 * Every event append sits on a turn's critical path, so it is one round trip: the lock and one statement that
 * numbers, inserts and notifies (and, for a turn's end, the webhook outbox's statement) are sent together and
 * pipelined by the driver. The numbering statement starts after the lock is granted, so under read committed its
 * snapshot sees every event committed by the lock's previous holder.
 */
export async function appendTurnEvents(db: DbOrTx, turn: TurnRef, events: NewTurnEvent[]): Promise<number[]> {
  if (events.length === 0) return [];
  if (db instanceof PgTransaction) return appendInTransaction(db as Tx, turn, events, false);
  return db.transaction((tx) => appendInTransaction(tx, turn, events, true));
}

/**
 * `progress`: the events are a transaction of their own (deltas, tool and retrieval progress), committed without
 * waiting for the WAL flush (`synchronous_commit = off`, ~5-15 ms of fsync per commit on a busy disk). Safe: a turn
 * ends with a synchronous commit (its completion, failure or cancellation, which carries the terminal event), and
 * WAL is flushed in order, so once a turn's end is durable all of its events are. A database crash can lose only
 * progress of a turn still running, whose activity then fails on its broken connection and is retried.
 */
async function appendInTransaction(tx: Tx, turn: TurnRef, events: NewTurnEvent[], progress: boolean): Promise<number[]> {
  const lockKey = `turn_event:${turn.conversationId}:${turn.turnIndex}`;
  // The first event of each key, in order: a key given twice is one event.
  const seen = new Set<string>();
  const ordered = events.filter((e) => !seen.has(e.key) && Boolean(seen.add(e.key)));
  const batch = JSON.stringify(ordered.map((e, i) => ({ k: e.key, t: e.type, d: e.data ?? {}, o: i })));
  const terminal = sql.join(terminalTurnEventTypes.map((t) => sql`${t}`), sql`, `);
  const payloadPrefix = `${turn.conversationId}:${turn.turnIndex}:`;
  // `.then` sends a query at once (drizzle's are lazy): the lock goes first, the numbering right behind it.
  const lock = tx
    .execute(
      progress
        ? sql`select set_config('synchronous_commit', 'off', true), pg_advisory_xact_lock(hashtextextended(${lockKey}, 0))`
        : sql`select pg_advisory_xact_lock(hashtextextended(${lockKey}, 0))`,
    )
    .then(() => undefined);
  const append = tx.execute<{ seqs: Record<string, number>; fresh: string[] | null }>(sql`
    with batch as (select * from jsonb_to_recordset(${batch}::jsonb) as e(k text, t text, d jsonb, o int)),
    known as (
      select ${turnEvent.dedupeKey} as k, ${turnEvent.seq} as seq from ${turnEvent}
      where ${turnEvent.conversationId} = ${turn.conversationId}::uuid and ${turnEvent.turnIndex} = ${turn.turnIndex}::int),
    fresh as (
      select b.k, b.t, b.d, ((select coalesce(max(seq), 0) from known) + row_number() over (order by b.o))::int as seq
      from batch b where not exists (select 1 from known where known.k = b.k)),
    inserted as (
      insert into ${turnEvent} (conversation_id, turn_index, seq, project_id, type, data, dedupe_key)
      select ${turn.conversationId}::uuid, ${turn.turnIndex}::int, f.seq, ${turn.projectId}::uuid, f.t, f.d, f.k from fresh f
      returning seq, type)
    select
      (select jsonb_object_agg(a.k, a.seq) from (
        select k, seq from fresh union all select k, seq from known where k in (select k from batch)) a) as seqs,
      (select jsonb_agg(k) from fresh) as fresh,
      (select pg_notify(${TURN_EVENTS_CHANNEL},
          ${payloadPrefix} || max(seq) || case when bool_or(type in (${terminal})) then ':end' else '' end)
        from inserted having count(*) > 0) as notified`)
    .then((rows) => ({ seqs: rows[0]?.seqs ?? {}, fresh: new Set(rows[0]?.fresh ?? []) }));
  const [, { seqs, fresh }] = await Promise.all([lock, append]);
  // The turn's end becomes webhook deliveries in the same transaction, only when this call logged it: an end already
  // in the log (a retry, a second cancel) was enqueued with it, and must not reach a subscription created since.
  const ends = ordered.filter((e) => terminalTurnEventTypes.includes(e.type) && fresh.has(e.key));
  if (ends.length) await enqueueTerminalWebhooks(tx, turn, ends);
  return events.map((e) => seqs[e.key]!);
}

/** The turn's end (completed, failed, canceled) becomes webhook deliveries in the transaction that logs it. */
async function enqueueTerminalWebhooks(tx: DbOrTx, turn: TurnRef, ends: NewTurnEvent[]): Promise<void> {
  await enqueueWebhookEvents(
    tx,
    turn.projectId,
    ends.map((r) => ({
      type: r.type as 'turn.completed' | 'turn.failed' | 'turn.canceled',
      key: `${r.type}:${turn.conversationId}:${turn.turnIndex}`,
      data: { conversationId: turn.conversationId, turnIndex: turn.turnIndex, ...(r.data ?? {}) },
    })),
  );
}

/** A page of a turn's events after `afterSeq`, in order. The caller has checked the conversation's project. */
export async function listTurnEvents(db: DbOrTx, conversationId: string, turnIndex: number, afterSeq = 0, limit = 500): Promise<TurnEvent[]> {
  const rows = await db
    .select({ seq: turnEvent.seq, type: turnEvent.type, turnIndex: turnEvent.turnIndex, data: turnEvent.data, createdAt: turnEvent.createdAt })
    .from(turnEvent)
    .where(and(eq(turnEvent.conversationId, conversationId), eq(turnEvent.turnIndex, turnIndex), gt(turnEvent.seq, afterSeq)))
    .orderBy(asc(turnEvent.seq))
    .limit(limit);
  return rows as TurnEvent[];
}

/** Deletes up to `batch` events written before `before`; returns how many went. Run repeatedly until 0. */
export async function pruneTurnEvents(db: DbOrTx, before: Date, batch = 10_000): Promise<number> {
  const deleted = await db.execute(sql`
    delete from turn_event e using (
      select conversation_id, turn_index, seq from turn_event where created_at < ${before.toISOString()} limit ${batch}
    ) d
    where e.conversation_id = d.conversation_id and e.turn_index = d.turn_index and e.seq = d.seq
    returning 1`);
  return deleted.length;
}

/**
 * The turn a workflow id names (`turn:<conversationId>:<n>`), or undefined for any other workflow (agent tasks,
 * tool tests). Activities shared by turns and other workflows (tools, retrieval) find their turn this way: a
 * turn's workflow id is its business key, and the round trip through {@link turnWorkflowId} keeps the format
 * defined in one place.
 */
export function turnOfWorkflow(workflowId: string | undefined): { conversationId: string; turnIndex: number } | undefined {
  const match = /^turn:([0-9a-f-]{36}):(\d+)$/.exec(workflowId ?? '');
  if (!match) return undefined;
  const turn = { conversationId: match[1]!, turnIndex: Number(match[2]) };
  return turnWorkflowId(turn.conversationId, turn.turnIndex) === workflowId ? turn : undefined;
}

/** The turn the workflow id names, with its project (read from the conversation when not given). */
export async function workflowTurnRef(db: DbOrTx, workflowId: string | undefined, projectId?: string): Promise<TurnRef | undefined> {
  const turn = turnOfWorkflow(workflowId);
  if (!turn) return undefined;
  if (projectId) return { projectId, ...turn };
  const [row] = await db.select({ projectId: conversation.projectId }).from(conversation).where(eq(conversation.id, turn.conversationId));
  return row ? { projectId: row.projectId, ...turn } : undefined;
}

/** Appends events to the turn the workflow id names; writes nothing (and returns false) for other workflows. */
export async function appendWorkflowTurnEvents(
  db: DbOrTx,
  at: { workflowId: string | undefined; projectId?: string },
  events: NewTurnEvent[],
): Promise<boolean> {
  const turn = await workflowTurnRef(db, at.workflowId, at.projectId);
  if (!turn) return false;
  await appendTurnEvents(db, turn, events);
  return true;
}
