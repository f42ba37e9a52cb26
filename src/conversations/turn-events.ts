// The per-turn event log (table `turn_event`): what a client streams while a turn runs and resumes from later.
// Activities append; gateways read and are woken by NOTIFY on TURN_EVENTS_CHANNEL.
import { and, asc, eq, gt, inArray, sql } from 'drizzle-orm';
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
 * row's writes) the events join it, without a savepoint of their own: every event append sits on a turn's
 * critical path, so it takes three statements (lock, read, insert with its NOTIFY).
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
  await tx.execute(
    progress
      ? sql`select set_config('synchronous_commit', 'off', true), pg_advisory_xact_lock(hashtextextended(${lockKey}, 0))`
      : sql`select pg_advisory_xact_lock(hashtextextended(${lockKey}, 0))`,
  );
  const keys = events.map((e) => e.key);
  // The last seq and the seqs of keys already written, in one read.
  const [known] = await tx
    .select({
      last: sql<number>`coalesce(max(${turnEvent.seq}), 0)::int`,
      existing: sql<Record<string, number> | null>`jsonb_object_agg(${turnEvent.dedupeKey}, ${turnEvent.seq}) filter (where ${inArray(turnEvent.dedupeKey, keys)})`,
    })
    .from(turnEvent)
    .where(and(eq(turnEvent.conversationId, turn.conversationId), eq(turnEvent.turnIndex, turn.turnIndex)));
  const seqByKey = new Map(Object.entries(known?.existing ?? {}));
  let next = known?.last ?? 0;
  const rows = [];
  for (const e of events) {
    if (seqByKey.has(e.key)) continue;
    next += 1;
    seqByKey.set(e.key, next);
    rows.push({ ...turn, seq: next, type: e.type, data: e.data ?? {}, dedupeKey: e.key });
  }
  if (rows.length > 0) {
    const insert = tx.insert(turnEvent).values(rows);
    const end = rows.some((r) => terminalTurnEventTypes.includes(r.type)) ? ':end' : '';
    await tx.execute(sql`with inserted as ${insert} select pg_notify(${TURN_EVENTS_CHANNEL}, ${`${turn.conversationId}:${turn.turnIndex}:${next}${end}`})`);
    await enqueueTerminalWebhooks(tx, turn, rows);
  }
  return keys.map((k) => seqByKey.get(k)!);
}

/** The turn's end (completed, failed, canceled) becomes webhook deliveries in the transaction that logs it. */
async function enqueueTerminalWebhooks(tx: DbOrTx, turn: TurnRef, rows: { type: TurnEventType; data: Record<string, unknown> }[]): Promise<void> {
  const ends = rows.filter((r) => terminalTurnEventTypes.includes(r.type));
  if (ends.length === 0) return;
  await enqueueWebhookEvents(
    tx,
    turn.projectId,
    ends.map((r) => ({
      type: r.type as 'turn.completed' | 'turn.failed' | 'turn.canceled',
      key: `${r.type}:${turn.conversationId}:${turn.turnIndex}`,
      data: { conversationId: turn.conversationId, turnIndex: turn.turnIndex, ...r.data },
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
