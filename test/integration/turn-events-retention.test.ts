import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../../src/agents/store';
import { createConversation } from '../../src/conversations/store';
import { appendTurnEvents, listTurnEvents, type TurnRef } from '../../src/conversations/turn-events';
import { PRUNE_LOCK_KEYS, pruneTurnEventsOnce, startTurnEventsPruner, type PruneOutcome } from '../../src/conversations/turn-events-retention';
import { turnEvent } from '../../src/db/schema';
import { testConfig, testDb, testProject } from '../support/stack';

let db: ReturnType<typeof testDb>;
beforeAll(() => {
  db = testDb(testConfig());
});
afterAll(() => db.close());

/** A turn with `old` events written 40 days ago and one written now. */
async function turnWithOldEvents(old: number): Promise<TurnRef> {
  const { projectId } = await testProject(db);
  const agent = await createAgent(db.db, projectId, { name: 'a', goal: 'g' });
  const conv = await createConversation(db.db, { projectId, agentId: agent.id });
  const turn = { projectId, conversationId: conv.id, turnIndex: 1 };
  await appendTurnEvents(db.db, turn, [
    ...Array.from({ length: old }, (_, i) => ({ key: `old:${i}`, type: 'message.delta' as const, data: { text: 'x' } })),
    { key: 'new', type: 'turn.completed' },
  ]);
  await db.db.execute(sql`update turn_event set created_at = now() - interval '40 days' where conversation_id = ${conv.id} and dedupe_key like 'old:%'`);
  return turn;
}

const typesOf = async (turn: TurnRef) => (await listTurnEvents(db.db, turn.conversationId, 1)).map((e) => e.type);
const oldLeft = async (turn: TurnRef) =>
  (await db.db.select().from(turnEvent).where(and(eq(turnEvent.conversationId, turn.conversationId), sql`${turnEvent.dedupeKey} like 'old:%'`))).length;

describe('turn event retention', () => {
  it('deletes events past the retention in batches until none is left, and nothing newer', async () => {
    const turn = await turnWithOldEvents(7);
    const outcome = await pruneTurnEventsOnce(db.db, { retentionDays: 30, batch: 2, pauseMs: 0 });
    expect(outcome).toMatchObject({ deleted: expect.any(Number) });
    expect((outcome as { deleted: number }).deleted).toBeGreaterThanOrEqual(7);
    expect(await typesOf(turn)).toEqual(['turn.completed']);
  });

  it('keeps everything with retention 0', async () => {
    const turn = await turnWithOldEvents(2);
    expect(await pruneTurnEventsOnce(db.db, { retentionDays: 0 })).toEqual({ skipped: 'disabled' });
    expect(await oldLeft(turn)).toBe(2);
  });

  it('lets one worker prune: a pass skips while another session holds the prune lock', async () => {
    const turn = await turnWithOldEvents(3);
    const other = await db.sql.reserve();
    try {
      await other`select pg_advisory_lock(${PRUNE_LOCK_KEYS[0]}, ${PRUNE_LOCK_KEYS[1]})`;
      expect(await pruneTurnEventsOnce(db.db, { retentionDays: 30, pauseMs: 0 })).toEqual({ skipped: 'another worker is pruning' });
      expect(await oldLeft(turn)).toBe(3);
      await other`select pg_advisory_unlock(${PRUNE_LOCK_KEYS[0]}, ${PRUNE_LOCK_KEYS[1]})`;
    } finally {
      other.release();
    }
    expect(await pruneTurnEventsOnce(db.db, { retentionDays: 30, pauseMs: 0 })).toMatchObject({ deleted: expect.any(Number) });
    expect(await oldLeft(turn)).toBe(0);
  });

  it('runs pass after pass on its timer, and stops', async () => {
    const turn = await turnWithOldEvents(2);
    const outcomes: PruneOutcome[] = [];
    const errors: unknown[] = [];
    const pruner = startTurnEventsPruner(db.db, {
      retentionDays: 30, firstAfterMs: 0, everyMs: 10, pauseMs: 0, onPass: (o) => outcomes.push(o), onError: (e) => errors.push(e),
    });
    try {
      await expect.poll(() => outcomes.length, { timeout: 30_000, interval: 20 }).toBeGreaterThanOrEqual(2);
    } finally {
      await pruner.stop();
    }
    expect(errors).toEqual([]);
    expect(await oldLeft(turn)).toBe(0);
    const passes = outcomes.length;
    await new Promise((r) => setTimeout(r, 100)); // ten periods: a pruner that kept going would have run again
    expect(outcomes.length).toBe(passes);
  });

  it('starts no timer with retention 0', async () => {
    const outcomes: PruneOutcome[] = [];
    const pruner = startTurnEventsPruner(db.db, { retentionDays: 0, firstAfterMs: 0, everyMs: 10, onPass: (o) => outcomes.push(o) });
    await new Promise((r) => setTimeout(r, 50));
    await pruner.stop();
    expect(outcomes).toEqual([]);
  });
});
