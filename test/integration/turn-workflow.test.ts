import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { and, eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { agentExecutionHistory, conversation, message } from '../../src/db/schema';
import { createAgent } from '../../src/agents/store';
import { createConversation } from '../../src/conversations/store';
import { submitTurn } from '../../src/conversations/submit-turn';
import { searchAttributes, turnWorkflowId, type TurnInput } from '../../workflows/contracts/index';
import { recordHistory } from '../support/histories';
import { ScriptedLlm } from '../support/scripted-llm';
import { startWorker, temporalClient, testConfig, testDb, testProject, type RunningWorker } from '../support/stack';

const llm = new ScriptedLlm();
let config: ReturnType<typeof testConfig>;
let db: ReturnType<typeof testDb>;
let temporal: Awaited<ReturnType<typeof temporalClient>>;
let worker: RunningWorker | undefined;

beforeAll(async () => {
  await llm.start();
  config = testConfig({ OPENAI_BASE_URL: llm.baseUrl });
  db = testDb(config);
  temporal = await temporalClient(config);
});
afterEach(async () => {
  await worker?.stop();
  worker = undefined;
  expect(llm.failures).toEqual([]);
});
afterAll(async () => {
  await temporal.close();
  await db.close();
  await llm.stop();
});

async function newConversation() {
  const { projectId } = await testProject(db);
  const agent = await createAgent(db.db, projectId, { name: 'Helper', goal: 'help', systemPrompt: 'You are terse.' });
  const conv = await createConversation(db.db, { projectId, agentId: agent.id });
  return { projectId, agentId: agent.id, conversationId: conv.id };
}

function runTurn(ids: Awaited<ReturnType<typeof newConversation>>, turnIndex: number, content: string) {
  const input: TurnInput = { ...ids, turnIndex, content };
  return temporal.client.workflow.execute('runConversationTurn', {
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    workflowId: turnWorkflowId(ids.conversationId, turnIndex),
    args: [input],
  });
}

/** `RECORD_HISTORIES=1` refreshes the committed histories that the replay test runs. */
async function recordTurnHistory(name: string, workflowId: string) {
  recordHistory(config.TEMPORAL_ADDRESS, name, workflowId);
}

const rowsOf = async (conversationId: string) => ({
  messages: await db.db.select().from(message).where(eq(message.conversationId, conversationId)),
  turns: await db.db.select().from(agentExecutionHistory).where(eq(agentExecutionHistory.conversationId, conversationId)),
  conversation: (await db.db.select().from(conversation).where(eq(conversation.id, conversationId)))[0]!,
});

describe('conversation turn workflow (real Temporal, real Postgres, scripted model)', () => {
  it('sends the system prompt and history to the model and records messages, turn row and counters', async () => {
    worker = await startWorker(config, db);
    const ids = await newConversation();
    llm.script({ reply: 'Hi there.' }, { reply: 'Still here.' });
    await runTurn(ids, 1, 'Hello');
    const result = await runTurn(ids, 2, 'Are you there?');

    expect(result.status).toBe('completed');
    const second = llm.requests.at(-1)!;
    expect(second.messages).toEqual([
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Hello' },
      { role: 'assistant', content: 'Hi there.' },
      { role: 'user', content: 'Are you there?' },
    ]);
    const rows = await rowsOf(ids.conversationId);
    expect(rows.messages.map((m) => [m.turnIndex, m.role, m.content]).sort()).toEqual(
      [[1, 'assistant', 'Hi there.'], [1, 'user', 'Hello'], [2, 'assistant', 'Still here.'], [2, 'user', 'Are you there?']].sort(),
    );
    expect(rows.turns.map((t) => t.status)).toEqual(['completed', 'completed']);
    const turn2 = rows.turns.find((t) => t.messageIndex === 2)!;
    expect(turn2.agentResponse).toBe('Still here.');
    expect(turn2.workflowId).toBe(turnWorkflowId(ids.conversationId, 2));
    expect(turn2.totalTokens).toBeGreaterThan(0);
    expect(turn2.responseTimeMs).toBeGreaterThanOrEqual(turn2.llmTimeMs!);
    expect(rows.conversation).toMatchObject({ turnCount: 2, messagesCount: 4, lastTurnIndex: 2 });
    await recordTurnHistory('turn-completed', turnWorkflowId(ids.conversationId, 2));
  });

  it('never writes a row twice, nor asks the model twice, when the answering activity fails after its write (retried activity)', async () => {
    let failedOnce = 0;
    worker = await startWorker(config, db, {
      activities: (a) => ({
        ...a,
        answerTurn: async (input: Parameters<typeof a.answerTurn>[0]) => {
          const answered = await a.answerTurn(input);
          if (failedOnce++ === 0) throw ApplicationFailure.create({ message: 'injected: crash after answerTurn recorded the answer' });
          return answered;
        },
      }),
    });
    const ids = await newConversation();
    const before = llm.requests.length;
    llm.script({ reply: 'Only once.' });
    const result = await runTurn(ids, 1, 'Write me once');

    expect(failedOnce).toBe(2); // answered and recorded, lost, then answered from the record
    expect(llm.requests.length - before).toBe(1);
    const rows = await rowsOf(ids.conversationId);
    expect(rows.messages).toHaveLength(2);
    expect(rows.turns).toHaveLength(1);
    expect(rows.turns[0]).toMatchObject({ status: 'completed', agentResponse: 'Only once.' });
    expect(result.assistantMessageId).toBe(rows.messages.find((m) => m.role === 'assistant')!.id);
    expect(rows.conversation).toMatchObject({ turnCount: 1, messagesCount: 2 });
  });

  it('retries a model 500 and answers; a 400 fails the turn at once and records why', async () => {
    worker = await startWorker(config, db);
    const ids = await newConversation();
    llm.script({ status: 500 }, { reply: 'Recovered.' });
    await runTurn(ids, 1, 'First');
    expect((await rowsOf(ids.conversationId)).turns[0]!.agentResponse).toBe('Recovered.');

    const before = llm.requests.length;
    llm.script({ status: 400, body: { error: { message: 'context too long', type: 'invalid_request_error' } } });
    const failure = await runTurn(ids, 2, 'Second').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect(llm.requests.length - before).toBe(1); // no retry of a rejected request
    const [turn2] = await db.db
      .select()
      .from(agentExecutionHistory)
      .where(and(eq(agentExecutionHistory.conversationId, ids.conversationId), eq(agentExecutionHistory.messageIndex, 2)));
    expect(turn2).toMatchObject({ status: 'failed' });
    expect(turn2!.error).toContain('context too long');
    await recordTurnHistory('turn-model-rejected', turnWorkflowId(ids.conversationId, 2));
  });

  it('is findable by the project, agent and conversation search attributes the product start sets', async () => {
    worker = await startWorker(config, db);
    const ids = await newConversation();
    llm.script({ reply: 'Indexed.' });
    // The gateway's start path, not a start of our own: the attributes asserted below are the product's.
    const { workflowId } = await submitTurn(db.db, temporal.client, config.TEMPORAL_TASK_QUEUE, {
      projectId: ids.projectId, conversationId: ids.conversationId, content: 'Find me',
    });
    expect(workflowId).toBe(turnWorkflowId(ids.conversationId, 1));
    const handle = temporal.client.workflow.getHandle(workflowId);
    await handle.result();
    const attributes = (await handle.describe()).typedSearchAttributes;
    expect({
      projectId: attributes.get(searchAttributes.projectId),
      agentId: attributes.get(searchAttributes.agentId),
      conversationId: attributes.get(searchAttributes.conversationId),
    }).toEqual(ids);
    const query = `AgentId = '${ids.agentId}' AND ProjectId = '${ids.projectId}' AND ConversationId = '${ids.conversationId}'`;
    await expect
      .poll(async () => {
        const found: string[] = [];
        for await (const wf of temporal.client.workflow.list({ query })) found.push(wf.workflowId);
        return found;
      }, { timeout: 15_000, interval: 300 })
      .toEqual([workflowId]);
  });
});

