// Review of the turn path's round-trip cuts (333ee6e, e54447b, a4378da, 5e6802a): the mechanisms they rely on
// (pipelined statements on one connection, snapshots under read committed, statements keyed on the row they
// wrote), checked against the real Postgres with the moments of contention made explicit rather than timed.
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../../src/agents/store';
import { findAssistantMessage } from '../../src/conversations/message-store';
import { buildModelRequest } from '../../src/conversations/model-request';
import { createConversation, setLastTurnIndex } from '../../src/conversations/store';
import { submitTurn } from '../../src/conversations/submit-turn';
import { appendTurnEvents, listTurnEvents, TURN_EVENTS_CHANNEL, type TurnRef } from '../../src/conversations/turn-events';
import { beginTurn, completeTurn } from '../../src/conversations/turn-store';
import { AppError } from '../../src/errors';
import { updatePlan } from '../../src/tenancy/plans-store';
import { enqueueWebhookEvents, WEBHOOK_DELIVERIES_CHANNEL } from '../../src/webhooks/outbox';
import { createWebhook } from '../../src/webhooks/store';
import { testConfig, testDb, testProject } from '../support/stack';

let db: ReturnType<typeof testDb>;
beforeAll(() => {
  db = testDb(testConfig(), { max: 8 });
});
afterAll(() => db.close());

async function setUp(agentValues: { systemPrompt?: string } = {}) {
  const { projectId } = await testProject(db);
  const agent = await createAgent(db.db, projectId, { name: 'a', goal: 'g', ...agentValues });
  const conv = await createConversation(db.db, { projectId, agentId: agent.id });
  const turn = (turnIndex: number): TurnRef => ({ projectId, conversationId: conv.id, turnIndex });
  const begin = (turnIndex: number, content = `question ${turnIndex}`) =>
    beginTurn(db.db, { projectId, agentId: agent.id, conversationId: conv.id, turnIndex, content, workflowId: `turn:${conv.id}:${turnIndex}`, runId: 'r' });
  return { projectId, agentId: agent.id, conversationId: conv.id, turn, begin };
}

function completion(conversationId: string, turnIndex: number, extra: Partial<Parameters<typeof completeTurn>[1]> = {}) {
  return { conversationId, turnIndex, response: 'answer', model: 'm', usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 }, responseTimeMs: 7, llmTimeMs: 5, ...extra };
}

/** Resolves once a backend of this database waits for a lock (whose query matches `like`), polling pg_stat_activity. */
async function someoneWaitsForLock(like = '%'): Promise<void> {
  for (;;) {
    const rows = await db.sql`select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like ${like}`;
    if (rows.length > 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A transaction held open until `release()`: `run` does its writes first, `then` after the release, before the commit. */
type Tx = Parameters<Parameters<typeof db.db.transaction>[0]>[0];
function heldTransaction(run: (tx: Tx) => Promise<void>, then: (tx: Tx) => Promise<void> = async () => {}) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let wrote!: () => void;
  const written = new Promise<void>((r) => (wrote = r));
  const done = db.db.transaction(async (tx) => {
    await run(tx);
    wrote();
    await gate;
    await then(tx);
  });
  return { written, release, done };
}

async function listen(channel: string): Promise<{ payloads: string[]; stop: () => Promise<void> }> {
  const payloads: string[] = [];
  const sub = await db.sql.listen(channel, (p) => payloads.push(p));
  return { payloads, stop: () => sub.unlisten() };
}

/** Waits until `payloads` holds `n` entries (notifications arrive after the commit's answer). */
async function atLeast(payloads: string[], n: number): Promise<void> {
  while (payloads.length < n) await new Promise((r) => setTimeout(r, 10));
}

describe('turn event append (e54447b)', () => {
  it('numbers after the events the previous lock holder committed while this append waited for the lock', async () => {
    const s = await setUp();
    const holder = heldTransaction(async (tx) => {
      expect(await appendTurnEvents(tx, s.turn(1), [{ key: 'a', type: 'turn.started' }, { key: 'b', type: 'message.delta', data: { text: 'x' } }])).toEqual([1, 2]);
    });
    await holder.written;
    const waiting = appendTurnEvents(db.db, s.turn(1), [{ key: 'c', type: 'message.delta' }, { key: 'b', type: 'message.delta' }]);
    await someoneWaitsForLock('%pg_advisory_xact_lock%');
    holder.release();
    await holder.done;
    expect(await waiting).toEqual([3, 2]);
    expect((await listTurnEvents(db.db, s.conversationId, 1)).map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it('keeps the first of a key given twice in one call and notifies as before (none when nothing is new)', async () => {
    const s = await setUp();
    const heard = await listen(TURN_EVENTS_CHANNEL);
    try {
      const ref = s.turn(1);
      expect(await appendTurnEvents(db.db, ref, [{ key: 'x', type: 'message.delta', data: { text: 'first' } }, { key: 'x', type: 'message.delta', data: { text: 'second' } }, { key: 'y', type: 'message.delta' }])).toEqual([1, 1, 2]);
      expect(await appendTurnEvents(db.db, ref, [{ key: 'y', type: 'message.delta' }])).toEqual([2]);
      expect(await appendTurnEvents(db.db, ref, [{ key: 'z', type: 'message.delta' }, { key: 'end', type: 'turn.completed' }])).toEqual([3, 4]);
      expect(await appendTurnEvents(db.db, ref, [{ key: 'end', type: 'turn.completed' }])).toEqual([4]);
      await appendTurnEvents(db.db, s.turn(2), [{ key: 'other', type: 'turn.started' }]);
      const mine = () => heard.payloads.filter((p) => p.startsWith(s.conversationId));
      while (mine().length < 3) await new Promise((r) => setTimeout(r, 10));
      expect(mine()).toEqual([`${s.conversationId}:1:2`, `${s.conversationId}:1:4:end`, `${s.conversationId}:2:1`]);
      expect((await listTurnEvents(db.db, s.conversationId, 1))[0]!.data).toEqual({ text: 'first' });
    } finally {
      await heard.stop();
    }
  });

  it('propagates the failing statement of the pipeline, rolls back and leaves the pool usable', async () => {
    const s = await setUp();
    const bad = { ...s.turn(1), projectId: randomUUID() }; // violates turn_event's project foreign key
    const err = await appendTurnEvents(db.db, bad, [{ key: 'a', type: 'message.delta' }, { key: 'end', type: 'turn.failed' }]).catch((e: unknown) => e);
    expect(String((err as { cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code)).toBe('23503');
    // Inside a caller's transaction: the caller sees the same error, nothing of the transaction stays.
    const outer = await db.db
      .transaction(async (tx) => {
        await appendTurnEvents(tx, s.turn(1), [{ key: 'kept?', type: 'turn.started' }]);
        await appendTurnEvents(tx, bad, [{ key: 'b', type: 'turn.failed' }]);
      })
      .catch((e: unknown) => e);
    expect(String((outer as { cause?: { code?: string } }).cause?.code)).toBe('23503');
    expect(await listTurnEvents(db.db, s.conversationId, 1)).toEqual([]);
    expect(await appendTurnEvents(db.db, s.turn(1), [{ key: 'a', type: 'turn.started' }])).toEqual([1]);
  });

  // A terminal event already in the log (cancelTurn run again, a retried activity) enqueues no webhook: only ends the
  // call inserted do. e54447b sent every terminal event of the call to the outbox, whose ON CONFLICT only covers
  // subscriptions that already had the delivery, so a subscription created since got the old event, stamped now.
  it('enqueues no webhook for a terminal event that was already in the log', async () => {
    const s = await setUp();
    await appendTurnEvents(db.db, s.turn(1), [{ key: 'turn:canceled', type: 'turn.canceled', data: { partialAnswer: '' } }]);
    const hook = await createWebhook(db.db, s.projectId, { url: 'https://example.com/h', eventTypes: ['turn.canceled'], secretSealed: 'x' });
    await appendTurnEvents(db.db, s.turn(1), [{ key: 'turn:canceled', type: 'turn.canceled', data: { partialAnswer: '' } }]);
    const rows = await db.sql`select id from webhook_delivery where subscription_id = ${hook.id}`;
    expect(rows).toHaveLength(0);
  });
});

describe('webhook outbox (333ee6e)', () => {
  it('writes one delivery per matching active subscription, notifies their ids, and nothing twice', async () => {
    const s = await setUp();
    const heard = await listen(WEBHOOK_DELIVERIES_CHANNEL);
    try {
      const event = (key: string) => ({ type: 'turn.completed' as const, key, data: { k: key } });
      // No subscription: no row, no notification.
      expect(await db.db.transaction((tx) => enqueueWebhookEvents(tx, s.projectId, [event('e0')]))).toEqual([]);
      const one = await createWebhook(db.db, s.projectId, { url: 'https://example.com/1', eventTypes: ['turn.completed'], secretSealed: 'x' });
      await createWebhook(db.db, s.projectId, { url: 'https://example.com/off', eventTypes: ['turn.failed'], secretSealed: 'x' });
      const ids1 = await db.db.transaction((tx) => enqueueWebhookEvents(tx, s.projectId, [event('e1')]));
      expect(ids1).toHaveLength(1);
      const two = await createWebhook(db.db, s.projectId, { url: 'https://example.com/2', eventTypes: ['turn.*'], secretSealed: 'x' });
      const inactive = await createWebhook(db.db, s.projectId, { url: 'https://example.com/3', eventTypes: ['turn.*'], secretSealed: 'x' });
      await db.sql`update webhook_subscription set active = false where id = ${inactive.id}`;
      // e1 again and e2: e1 is new only for the subscription created since; e2 for both.
      const ids2 = await db.db.transaction((tx) => enqueueWebhookEvents(tx, s.projectId, [event('e1'), event('e2')]));
      expect(ids2).toHaveLength(3);
      expect(await db.db.transaction((tx) => enqueueWebhookEvents(tx, s.projectId, [event('e1'), event('e2')]))).toEqual([]);
      const rows = await db.sql<{ id: string; subscription_id: string; event_key: string; payload: { type: string; data: unknown } }[]>`
        select id, subscription_id, event_key, payload from webhook_delivery where project_id = ${s.projectId} order by event_key, subscription_id`;
      expect(rows.map((r) => [r.event_key, r.subscription_id]).sort()).toEqual(
        [['e1', one.id], ['e1', two.id], ['e2', one.id], ['e2', two.id]].sort(),
      );
      expect(rows.every((r) => r.payload.type === 'turn.completed' && (r.payload.data as { k: string }).k === r.event_key)).toBe(true);
      await atLeast(heard.payloads, 1);
      const notified = () => heard.payloads.flatMap((p) => p.split(',')).filter((id) => rows.some((r) => r.id === id));
      while (notified().length < 4) await new Promise((r) => setTimeout(r, 10));
      expect(notified().sort()).toEqual([...ids1, ...ids2].sort());
      expect(new Set(notified()).size).toBe(4);
    } finally {
      await heard.stop();
    }
  });
});

describe('turn start and end (a4378da)', () => {
  it('beginTurn: a retry writes nothing twice, the counter moves with the message row, lastTurnIndex only grows', async () => {
    const s = await setUp();
    await setLastTurnIndex(db.db, s.conversationId, 3, true); // the gateway handed out turn 3 already
    await s.begin(1);
    await s.begin(1);
    const [conv] = await db.sql`select messages_count, last_turn_index, turn_count from conversation where id = ${s.conversationId}`;
    expect(conv).toMatchObject({ messages_count: 1, last_turn_index: 3, turn_count: 0 });
    await s.begin(4);
    const [after] = await db.sql`select messages_count, last_turn_index from conversation where id = ${s.conversationId}`;
    expect(after).toMatchObject({ messages_count: 2, last_turn_index: 4 });
    expect(await db.sql`select message_index, status from agent_execution_history where conversation_id = ${s.conversationId} order by 1`).toEqual([
      { message_index: 1, status: 'running' },
      { message_index: 4, status: 'running' },
    ]);
    expect((await listTurnEvents(db.db, s.conversationId, 1)).map((e) => [e.seq, e.type])).toEqual([[1, 'turn.started']]);
  });

  it('completeTurn: one completion, its artifacts on the new message, counters once, the same id on a retry', async () => {
    const s = await setUp();
    await s.begin(1);
    const p = completion(s.conversationId, 1, { artifacts: [{ type: 'code', title: 't', content: 'c', metadata: { lang: 'ts' } }, { type: 'text', title: 'u', content: 'd', metadata: {} }] });
    const first = await completeTurn(db.db, p, [{ key: 'last-delta', type: 'message.delta', data: { text: 'answer' } }]);
    const again = await completeTurn(db.db, { ...p, response: 'other' }, [{ key: 'last-delta', type: 'message.delta', data: { text: 'answer' } }]);
    expect(again).toEqual(first);
    expect((await findAssistantMessage(db.db, s.conversationId, 1))?.id).toBe(first.assistantMessageId);
    const [conv] = await db.sql`select messages_count, turn_count from conversation where id = ${s.conversationId}`;
    expect(conv).toMatchObject({ messages_count: 2, turn_count: 1 });
    const metrics = await db.sql`select metric_name, metric_value, agent_id from metric where project_id = ${s.projectId} order by metric_name`;
    expect(metrics).toEqual([
      { metric_name: 'turn_completed', metric_value: 1, agent_id: s.agentId },
      { metric_name: 'turn_response_time_ms', metric_value: 7, agent_id: s.agentId },
      { metric_name: 'turn_tokens', metric_value: 3, agent_id: s.agentId },
    ]);
    const artifacts = await db.sql`select message_id, type, metadata, project_id from artifact where conversation_id = ${s.conversationId} order by title`;
    expect(artifacts).toEqual([
      { message_id: first.assistantMessageId, type: 'code', metadata: { lang: 'ts' }, project_id: s.projectId },
      { message_id: first.assistantMessageId, type: 'text', metadata: {}, project_id: s.projectId },
    ]);
    expect((await listTurnEvents(db.db, s.conversationId, 1)).map((e) => e.type)).toEqual(['turn.started', 'message.delta', 'turn.completed']);
    const [row] = await db.sql`select status, agent_response from agent_execution_history where conversation_id = ${s.conversationId}`;
    expect(row).toEqual({ status: 'completed', agent_response: 'answer' });
  });

  it('completeTurn on a running row whose assistant message exists: counters move, no artifacts, that message is returned', async () => {
    // Not reachable through completeTurn itself (its writes share one transaction), only through another writer.
    const s = await setUp();
    await s.begin(1);
    const [existing] = await db.sql<{ id: string }[]>`
      insert into message (conversation_id, turn_index, position, role, content) values (${s.conversationId}, 1, 1000, 'assistant', 'earlier') returning id`;
    const done = await completeTurn(db.db, completion(s.conversationId, 1, { artifacts: [{ type: 'code', title: 't', content: 'c', metadata: {} }] }));
    expect(done.assistantMessageId).toBe(existing!.id);
    expect(await db.sql`select id from artifact where conversation_id = ${s.conversationId}`).toHaveLength(0);
    const [conv] = await db.sql`select messages_count, turn_count from conversation where id = ${s.conversationId}`;
    expect(conv).toMatchObject({ messages_count: 2, turn_count: 1 });
  });

  // A retried attempt's beginTurn (or failTurn's) while an earlier attempt, still alive, is inside completeTurn: the
  // completion holds the turn row and then asks for the turn's event lock. beginTurn must not hold that lock while
  // it waits for the turn row, or the two deadlock (before a4378da it inserted the row before appending its event).
  it('beginTurn does not take the turn event lock before its row writes (no deadlock with a completion in flight)', async () => {
    const s = await setUp();
    await s.begin(1);
    const zombie = heldTransaction(
      // completeTurn's first statement: the running row becomes completed (and the conversation's counters move)...
      (tx) => tx.execute(sql`update agent_execution_history set status = 'completed' where conversation_id = ${s.conversationId} and message_index = 1`).then(() => undefined),
      // ...then its events: the turn's event lock.
      (tx) => appendTurnEvents(tx, s.turn(1), [{ key: 'turn:completed', type: 'turn.completed' }]).then(() => undefined),
    );
    await zombie.written;
    const retry = s.begin(1).then(() => 'ok', (e: unknown) => String((e as { cause?: unknown }).cause ?? e));
    await someoneWaitsForLock();
    zombie.release();
    const completed = await zombie.done.then(() => 'ok', (e: unknown) => String((e as { cause?: unknown }).cause ?? e));
    expect([completed, await retry]).toEqual(['ok', 'ok']);
  });
});

describe('answerTurn builds the request while the start is written (a4378da)', () => {
  // answerTurn runs buildModelRequest alongside beginTurn: the request must read no field the start writes. The
  // template's `conversation` was the whole row, so `{{ conversation.messagesCount }}` (or lastActivityAt) rendered
  // either count depending on which committed first; it now holds only the fields the prompt context declares.
  it('renders the same prompt whether it is built before or after beginTurn', async () => {
    const s = await setUp({ systemPrompt: 'Messages so far: {{ conversation.messagesCount }}' });
    const request = () => buildModelRequest(db.db, { agentId: s.agentId, conversationId: s.conversationId, turnIndex: 1, content: 'hi' }, 'm');
    const before = await request();
    await s.begin(1, 'hi');
    const after = await request();
    expect(before?.request.messages[0]).toEqual(after?.request.messages[0]);
  });
});

/** A Temporal client for submitTurn: starts succeed; every turn workflow it is asked about is still running. */
function fakeTemporal() {
  const described: string[] = [];
  const started: string[] = [];
  const client = {
    workflow: {
      start: async (_name: string, options: { workflowId: string }) => {
        started.push(options.workflowId);
        return { workflowId: options.workflowId };
      },
      getHandle: (id: string) => ({
        describe: async () => {
          described.push(id);
          return { status: { name: 'RUNNING' } };
        },
      }),
    },
  } as unknown as Client;
  return { client, described, started };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  return e instanceof AppError ? `${e.status} ${e.code}` : `no error`;
}

describe('gateway submit path (5e6802a)', () => {
  it('answers the same status and code for each refusal, and an Idempotency-Key replay even at the plan limit', async () => {
    const s = await setUp();
    const t = fakeTemporal();
    const submit = (p: Partial<Parameters<typeof submitTurn>[3]> = {}) =>
      submitTurn(db.db, t.client, 'q', { projectId: s.projectId, conversationId: s.conversationId, content: 'hello', ...p });
    const other = await testProject(db);
    expect(await codeOf(submit({ conversationId: randomUUID() }))).toBe('404 not_found');
    expect(await codeOf(submit({ projectId: other.projectId, idempotencyKey: 'k' }))).toBe('404 not_found');
    await db.sql`update conversation set status = 'paused' where id = ${s.conversationId}`;
    expect(await codeOf(submit())).toBe('409 conversation_paused');
    await db.sql`update conversation set status = 'ended' where id = ${s.conversationId}`;
    expect(await codeOf(submit())).toBe('409 conversation_ended');
    await db.sql`update conversation set status = 'active' where id = ${s.conversationId}`;
    await db.sql`update smart_agent set status = 'paused' where id = ${s.agentId}`;
    expect(await codeOf(submit())).toBe('409 agent_paused');
    await db.sql`update smart_agent set status = 'archived' where id = ${s.agentId}`;
    expect(await codeOf(submit())).toBe('409 agent_not_active');
    // The conversation's agent in another project is no agent.
    const foreign = await createAgent(db.db, other.projectId, { name: 'b', goal: 'g' });
    await db.sql`update conversation set agent_id = ${foreign.id} where id = ${s.conversationId}`;
    expect(await codeOf(submit())).toBe('409 agent_not_active');
    await db.sql`update conversation set agent_id = ${s.agentId} where id = ${s.conversationId}`;
    await db.sql`update smart_agent set status = 'active' where id = ${s.agentId}`;

    await updatePlan(db.db, s.projectId, { monthlyTurnLimit: 1 });
    expect(await submit({ idempotencyKey: 'k' })).toMatchObject({ turnIndex: 1, replayed: false });
    await s.begin(1, 'hello'); // the turn row counts against the month
    await db.sql`update agent_execution_history set status = 'completed' where conversation_id = ${s.conversationId}`;
    expect(await submit({ idempotencyKey: 'k' })).toMatchObject({ turnIndex: 1, replayed: true });
    expect(await codeOf(submit({ idempotencyKey: 'k', content: 'other' }))).toBe('422 idempotency_key_reused');
    expect(await codeOf(submit())).toBe('402 plan_limit_reached');
    await updatePlan(db.db, s.projectId, { monthlyTurnLimit: null });
    expect(await submit()).toMatchObject({ turnIndex: 2, replayed: false });
    // Turn 2's row is not written yet: Temporal says whether it runs (it does), so the default policy refuses.
    expect(await codeOf(submit())).toBe('409 turn_in_progress');
    expect(t.described).toEqual([`turn:${s.conversationId}:2`]);
  });

  // The previous turn's completion updates the turn row and the conversation's counters in one transaction. A submit
  // that arrives while it commits waits for the conversation's lock; Postgres then rechecks the locked row only, and
  // keeps the other rows its statement joined as its snapshot (before the commit) saw them: `running`. The old code
  // read the status after the lock, saw `completed` and started the turn; a status read in the locking statement asks
  // Temporal, whose workflow is still closing, and refuses the new turn with 409 turn_in_progress.
  it('reads the last turn status the completion committed while the submit waited for the conversation lock', async () => {
    const s = await setUp();
    const t = fakeTemporal();
    await setLastTurnIndex(db.db, s.conversationId, 1, true);
    await s.begin(1, 'first');
    const completing = heldTransaction(async (tx) => {
      await completeTurn(tx, completion(s.conversationId, 1));
    });
    await completing.written;
    const submitted = submitTurn(db.db, t.client, 'q', { projectId: s.projectId, conversationId: s.conversationId, content: 'second' }).then(
      (r) => r,
      (e: unknown) => e,
    );
    await someoneWaitsForLock('select "conversation"."id"%'); // the locking read (its text is cut before `for update`)
    completing.release();
    await completing.done;
    expect(await submitted).toEqual({ turnIndex: 2, workflowId: `turn:${s.conversationId}:2`, replayed: false });
    expect(t.described).toEqual([]);
  });
});
