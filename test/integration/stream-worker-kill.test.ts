import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../../src/agents/store';
import { createConversation } from '../../src/conversations/store';
import { listTurnEvents } from '../../src/conversations/turn-events';
import { agentExecutionHistory, message } from '../../src/db/schema';
import { turnWorkflowId, type TurnInput } from '../../workflows/contracts/index';
import { ScriptedLlm } from '../support/scripted-llm';
import { startWorker, temporalClient, testConfig, testDb, testProject } from '../support/stack';
import { spawnWorker } from '../support/worker-process';

const llm = new ScriptedLlm();
let config: ReturnType<typeof testConfig>;
let db: ReturnType<typeof testDb>;
let temporal: Awaited<ReturnType<typeof temporalClient>>;

beforeAll(async () => {
  await llm.start();
  config = testConfig({ OPENAI_BASE_URL: llm.baseUrl });
  db = testDb(config);
  temporal = await temporalClient(config);
});
afterAll(async () => {
  await temporal.close();
  await db.close();
  await llm.stop();
});

describe('a worker killed during a streamed model call', () => {
  it('lets a new worker retry the call: message.reset, then the complete answer, with no duplicate events', async () => {
    const { projectId } = await testProject(db);
    const agent = await createAgent(db.db, projectId, { name: 'Streamer', goal: 'talk' });
    const conv = await createConversation(db.db, { projectId, agentId: agent.id });
    const answer = 'A worker may die in the middle of a sentence and the turn still ends well.';
    let release!: () => void;
    // Attempt 1 stops after two words until the test has killed its worker; attempt 2 streams the whole answer.
    llm.script({ reply: answer, holdAfterChunks: 3, release: new Promise<void>((r) => (release = r)) }, { reply: answer });

    const child = spawnWorker(config);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const input: TurnInput = { projectId, agentId: agent.id, conversationId: conv.id, turnIndex: 1, content: 'Say something long' };
    const handle = await temporal.client.workflow.start('runConversationTurn', {
      taskQueue: config.TEMPORAL_TASK_QUEUE, workflowId: turnWorkflowId(conv.id, 1), args: [input],
    });
    const events = () => listTurnEvents(db.db, conv.id, 1);
    await expect.poll(async () => (await events()).some((e) => e.type === 'message.delta'), { timeout: 120_000, interval: 100 }).toBe(true);
    child.kill('SIGKILL');
    await exited;
    release();

    const worker = await startWorker(config, db);
    try {
      await handle.result();
    } finally {
      await worker.stop();
    }
    const log = await events();
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
    const types = log.map((e) => e.type);
    const reset = types.indexOf('message.reset');
    expect(types.filter((t) => t === 'message.reset')).toHaveLength(1);
    expect(log[reset]!.data).toEqual({ attempt: 2 });
    expect(types.slice(0, reset).filter((t) => t !== 'message.delta')).toEqual(['turn.started']);
    expect(types.slice(reset + 1, -1).every((t) => t === 'message.delta')).toBe(true);
    expect(types.at(-1)).toBe('turn.completed');
    const text = (from: number, to?: number) => log.slice(from, to).filter((e) => e.type === 'message.delta').map((e) => String(e.data.text)).join('');
    expect(answer.startsWith(text(0, reset))).toBe(true);
    expect(text(0, reset).length).toBeGreaterThan(0);
    expect(text(reset)).toBe(answer);

    const turns = await db.db.select().from(agentExecutionHistory).where(eq(agentExecutionHistory.conversationId, conv.id));
    expect(turns.map((t) => [t.status, t.agentResponse])).toEqual([['completed', answer]]);
    expect(await db.db.select().from(message).where(eq(message.conversationId, conv.id))).toHaveLength(2);
    expect(llm.failures).toEqual([]);
  }, 300_000); // a worker process started under a loaded CI machine can take a minute to poll
});
