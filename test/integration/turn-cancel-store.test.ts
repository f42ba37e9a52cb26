import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../../src/agents/store';
import { findTurn } from '../../src/conversations/message-store';
import { loadModelHistory } from '../../src/conversations/model-history';
import { createConversation } from '../../src/conversations/store';
import { cancelTurn } from '../../src/conversations/turn-cancel';
import { appendTurnEvents, listTurnEvents } from '../../src/conversations/turn-events';
import { beginTurn, completeTurn } from '../../src/conversations/turn-store';
import { testConfig, testDb, testProject } from '../support/stack';

let db: ReturnType<typeof testDb>;
beforeAll(() => {
  db = testDb(testConfig());
});
afterAll(() => db.close());

async function conversation() {
  const { projectId } = await testProject(db);
  const agent = await createAgent(db.db, projectId, { name: 'a', goal: 'g' });
  const conv = await createConversation(db.db, { projectId, agentId: agent.id });
  const start = (turnIndex: number, content: string) =>
    beginTurn(db.db, { projectId, agentId: agent.id, conversationId: conv.id, turnIndex, content, workflowId: `turn:${conv.id}:${turnIndex}`, runId: 'r' });
  return { projectId, conversationId: conv.id, start };
}

describe('canceled turns in the store', () => {
  it('stores the text streamed since the last reset as the partial answer, once, and ends the log with turn.canceled', async () => {
    const c = await conversation();
    await c.start(1, 'question');
    const ref = { projectId: c.projectId, conversationId: c.conversationId, turnIndex: 1 };
    await appendTurnEvents(db.db, ref, [
      { key: 'd1', type: 'message.delta', data: { text: 'dead attempt' } },
      { key: 'r2', type: 'message.reset', data: { attempt: 2 } },
      { key: 'd2', type: 'message.delta', data: { text: 'Hello ' } },
      { key: 'd3', type: 'message.delta', data: { text: 'wor' } },
    ]);
    const params = { ...ref, reason: 'interrupted' as const, responseTimeMs: 5 };
    expect(await cancelTurn(db.db, params)).toBe('canceled');
    expect(await cancelTurn(db.db, params)).toBe('canceled'); // a retried activity changes nothing
    expect(await findTurn(db.db, c.conversationId, 1)).toMatchObject({ status: 'canceled', stopReason: 'interrupted', partialAnswer: 'Hello wor' });
    const events = await listTurnEvents(db.db, c.conversationId, 1);
    expect(events.filter((e) => e.type === 'turn.canceled')).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: 'turn.canceled', data: { partialAnswer: 'Hello wor', stopReason: 'interrupted' } });
  });

  it('leaves a turn that completed first as it is, without a turn.canceled event', async () => {
    const c = await conversation();
    await c.start(1, 'question');
    await completeTurn(db.db, { conversationId: c.conversationId, turnIndex: 1, response: 'answer', model: 'm', usage: null, responseTimeMs: 1, llmTimeMs: 1 });
    expect(await cancelTurn(db.db, { projectId: c.projectId, conversationId: c.conversationId, turnIndex: 1, reason: 'canceled', responseTimeMs: 1 })).toBe('completed');
    expect((await listTurnEvents(db.db, c.conversationId, 1)).map((e) => e.type)).not.toContain('turn.canceled');
  });

  it('builds the model history: interrupted and canceled turns keep a marked partial answer, rolled-back turns vanish', async () => {
    const c = await conversation();
    const cancelAs = async (turnIndex: number, reason: 'canceled' | 'interrupted' | 'rolled_back', partial?: string) => {
      const ref = { projectId: c.projectId, conversationId: c.conversationId, turnIndex };
      if (partial) await appendTurnEvents(db.db, ref, [{ key: 'd', type: 'message.delta', data: { text: partial } }]);
      await cancelTurn(db.db, { ...ref, reason, responseTimeMs: 1 });
    };
    await c.start(1, 'one');
    await completeTurn(db.db, { conversationId: c.conversationId, turnIndex: 1, response: 'Answer one.', model: 'm', usage: null, responseTimeMs: 1, llmTimeMs: 1 });
    await c.start(2, 'two');
    await cancelAs(2, 'interrupted', 'Half of');
    await c.start(3, 'three');
    await cancelAs(3, 'rolled_back', 'Never seen');
    await c.start(4, 'four');
    await cancelAs(4, 'canceled');
    const history = await loadModelHistory(db.db, c.conversationId, 5, 20);
    expect(history.map((m) => `${m.role}: ${m.content}`)).toEqual([
      'user: one', 'assistant: Answer one.', 'user: two', 'assistant: Half of\n\n[interrupted]', 'user: four', 'assistant: [interrupted]',
    ]);
    expect(await loadModelHistory(db.db, c.conversationId, 5, 3)).toHaveLength(3); // the window still bounds it
  });
});
