import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../../src/agents/store';
import { createConversation } from '../../src/conversations/store';
import { appendTurnEvents, listTurnEvents, pruneTurnEvents, type TurnRef } from '../../src/conversations/turn-events';
import { testConfig, testDb, testProject } from '../support/stack';

let db: ReturnType<typeof testDb>;
beforeAll(() => {
  db = testDb(testConfig());
});
afterAll(() => db.close());

async function newTurn(): Promise<TurnRef> {
  const { projectId } = await testProject(db);
  const agent = await createAgent(db.db, projectId, { name: 'a', goal: 'g' });
  const conv = await createConversation(db.db, { projectId, agentId: agent.id });
  return { projectId, conversationId: conv.id, turnIndex: 1 };
}

describe('turn event log', () => {
  it('numbers events from 1 without gaps and stores an event written twice once', async () => {
    const turn = await newTurn();
    expect(await appendTurnEvents(db.db, turn, [{ key: 'turn:started', type: 'turn.started' }])).toEqual([1]);
    const again = await appendTurnEvents(db.db, turn, [
      { key: 'turn:started', type: 'turn.started' },
      { key: 'm:1:d:1', type: 'message.delta', data: { text: 'Hel' } },
      { key: 'm:1:d:2', type: 'message.delta', data: { text: 'lo' } },
    ]);
    expect(again).toEqual([1, 2, 3]);
    expect(await appendTurnEvents(db.db, turn, [{ key: 'm:1:d:2', type: 'message.delta', data: { text: 'lo' } }])).toEqual([3]);
    const events = await listTurnEvents(db.db, turn.conversationId, 1);
    expect(events.map((e) => [e.seq, e.type])).toEqual([[1, 'turn.started'], [2, 'message.delta'], [3, 'message.delta']]);
    expect((await listTurnEvents(db.db, turn.conversationId, 1, 2)).map((e) => e.seq)).toEqual([3]);
  });

  it('keeps seqs gapless and unique when many writers append to one turn at once', async () => {
    const turn = await newTurn();
    await Promise.all(
      Array.from({ length: 20 }, (_, w) =>
        appendTurnEvents(db.db, turn, [
          { key: `w${w}:a`, type: 'message.delta', data: { text: 'a' } },
          { key: `w${w}:b`, type: 'message.delta', data: { text: 'b' } },
          { key: `shared`, type: 'message.reset', data: { attempt: 2 } },
        ]),
      ),
    );
    const seqs = (await listTurnEvents(db.db, turn.conversationId, 1)).map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: 41 }, (_, i) => i + 1));
  });

  it('prunes what is older than the retention and nothing newer', async () => {
    const turn = await newTurn();
    await appendTurnEvents(db.db, turn, [{ key: 'old', type: 'turn.started' }, { key: 'new', type: 'turn.completed' }]);
    await db.db.execute(sql`update turn_event set created_at = now() - interval '40 days' where conversation_id = ${turn.conversationId} and dedupe_key = 'old'`);
    const cutoff = new Date(Date.now() - 30 * 86_400_000);
    let n = 0;
    for (let step; (step = await pruneTurnEvents(db.db, cutoff, 1000)) > 0; ) n += step;
    expect(n).toBeGreaterThanOrEqual(1);
    expect((await listTurnEvents(db.db, turn.conversationId, 1)).map((e) => e.type)).toEqual(['turn.completed']);
  });
});
