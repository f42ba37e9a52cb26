import { WorkflowFailedError } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listTurnEvents, type TurnEvent } from '../../src/conversations/turn-events';
import { agentExecutionHistory } from '../../src/db/schema';
import { turnWorkflowId, type TurnInput } from '../../workflows/contracts/index';
import { apiClient } from '../support/http';
import { ScriptedLlm } from '../support/scripted-llm';
import { startStack, testProject, type Stack } from '../support/stack';
import { ToolServer } from '../support/tool-server';

// The turn's event log as the activities write it: streamed model text, tool calls, the terminal event.
const TOKEN = 'tok-turn-events-secret-9f8e7d';
const llm = new ScriptedLlm();
const tools = new ToolServer({
  // Careless APIs echo what they were sent, the credential included.
  '/echo': (_n, req) => ({ status: 200, body: { youSent: req.headers.authorization } }),
  '/refuse': (_n, req) => ({ status: 400, body: { error: `bad request from ${req.headers.authorization}` } }),
});
let stack: Stack;

beforeAll(async () => {
  await Promise.all([llm.start(), tools.start()]);
  stack = await startStack({ OPENAI_BASE_URL: llm.baseUrl, TOOL_NETWORK_ALLOWLIST: `127.0.0.1:${tools.port}` });
});
afterEach(() => expect(llm.failures).toEqual([]));
afterAll(async () => {
  await stack.stop();
  await Promise.all([llm.stop(), tools.stop()]);
});

const once = { maximumAttempts: 1, initialIntervalMs: 100, backoffCoefficient: 1, maximumIntervalMs: 100 };

/** A conversation of an agent with a bearer-credentialed tool `lookup` calling `path`. */
async function conversation(path = '/echo') {
  const project = await testProject(stack.db);
  const api = apiClient(stack.gateway.url, project.adminKey);
  const agent = (await api('POST', '/v1/agents', { name: 'Looker', goal: 'look things up' })).body;
  const tool = await api('POST', '/v1/tools', {
    name: 'lookup', description: 'Looks up', category: 'data_source', toolType: 'api', status: 'active', retryPolicy: once, timeoutMs: 3000,
    inputSchema: { type: 'object' }, config: { method: 'GET', url: tools.url(path) }, authMethod: 'bearer', credentials: { type: 'bearer', token: TOKEN },
  });
  expect(tool.status, JSON.stringify(tool.body)).toBe(201);
  expect((await api('POST', `/v1/agents/${agent.id}/tools`, { toolId: tool.body.id })).status).toBe(201);
  const conv = (await api('POST', '/v1/conversations', { agentId: agent.id })).body;
  return { projectId: project.projectId, agentId: agent.id as string, conversationId: conv.id as string, api };
}

function startTurn({ projectId, agentId, conversationId }: Awaited<ReturnType<typeof conversation>>, content: string, turnIndex = 1) {
  const ids = { projectId, agentId, conversationId };
  const input: TurnInput = { ...ids, turnIndex, content };
  return stack.temporal.client.workflow.start('runConversationTurn', {
    taskQueue: stack.config.TEMPORAL_TASK_QUEUE, workflowId: turnWorkflowId(ids.conversationId, turnIndex), args: [input],
  });
}

const eventsOf = (conversationId: string) => listTurnEvents(stack.db.db, conversationId, 1);
const textOf = (events: TurnEvent[]) => events.filter((e) => e.type === 'message.delta').map((e) => String(e.data.text)).join('');
const storedAnswer = async (conversationId: string) =>
  (await stack.db.db.select().from(agentExecutionHistory).where(eq(agentExecutionHistory.conversationId, conversationId)))[0]!;

/** Types in order, with runs of `message.delta` folded into one `message.delta…`. */
function shape(events: TurnEvent[]): string[] {
  const types = events.map((e) => e.type as string);
  return types.filter((t, i) => t !== 'message.delta' || types[i - 1] !== 'message.delta').map((t) => (t === 'message.delta' ? 'message.delta…' : t));
}

function expectGapless(events: TurnEvent[]) {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
}

describe('turn event log written by the activities', () => {
  it('writes deltas while the model is still streaming, and they concatenate to the stored answer', async () => {
    const ids = await conversation();
    let release!: () => void;
    const answer = 'The quick brown fox jumps over the lazy dog, twice.';
    // The stream stops after its role chunk and two words until the test has looked at the log.
    llm.script({ reply: answer, holdAfterChunks: 3, release: new Promise<void>((r) => (release = r)) });
    const handle = await startTurn(ids, 'Tell me about the fox');

    await expect.poll(async () => (await eventsOf(ids.conversationId)).some((e) => e.type === 'message.delta'), { timeout: 60_000, interval: 50 }).toBe(true);
    const early = await eventsOf(ids.conversationId);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    expect(early[0]).toMatchObject({ seq: 1, type: 'turn.started', data: {} });
    expect(early.map((e) => e.type)).not.toContain('turn.completed');
    expect(answer.startsWith(textOf(early))).toBe(true);
    release();
    await handle.result();

    const events = await eventsOf(ids.conversationId);
    expectGapless(events);
    expect(shape(events)).toEqual(['turn.started', 'message.delta…', 'turn.completed']);
    expect(textOf(events)).toBe(answer);
    // Batched: the first piece at once, the rest gathered, never one row per token.
    expect(events.filter((e) => e.type === 'message.delta').length).toBeLessThan(answer.split(' ').length);
    const turn = await storedAnswer(ids.conversationId);
    expect(turn.agentResponse).toBe(answer);
    expect(turn.stopReason).toBe('stop');
    expect(events.at(-1)!.data).toEqual({
      answer, stopReason: 'stop',
      usage: { promptTokens: turn.promptTokens, completionTokens: turn.completionTokens, totalTokens: turn.totalTokens },
    });
    expect(turn.totalTokens).toBeGreaterThan(0); // the usage came from the stream's include_usage chunk
    expect(llm.requests.at(-1)).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('logs a turn with a tool call as exactly the expected events, without the tool credential', async () => {
    const ids = await conversation();
    llm.script({ content: 'Let me look that up.', toolCalls: [{ id: 'call_look_1', name: 'lookup', arguments: { q: 'x' } }] }, { reply: 'Found it: all good.' });
    const handle = await startTurn(ids, 'Look it up');
    await handle.result();

    const events = await eventsOf(ids.conversationId);
    expectGapless(events);
    expect(shape(events)).toEqual(['turn.started', 'message.delta…', 'tool.started', 'tool.completed', 'message.delta…', 'turn.completed']);
    expect(textOf(events)).toBe('Let me look that up.Found it: all good.');
    const started = events.find((e) => e.type === 'tool.started')!;
    const completed = events.find((e) => e.type === 'tool.completed')!;
    expect(started.data).toEqual({ name: 'lookup', callId: 'call_look_1', attempt: 1 });
    expect(completed.data).toMatchObject({ name: 'lookup', callId: 'call_look_1', attempt: 1, ms: expect.any(Number) });
    expect(tools.calls('/echo').at(-1)!.headers.authorization).toBe(`Bearer ${TOKEN}`); // the tool really got it
    expect(JSON.stringify(events)).not.toContain(TOKEN);
    expect(events.at(-1)!.data).toMatchObject({ answer: 'Found it: all good.' });
  });

  it('logs a failed tool call with the redacted error only', async () => {
    const ids = await conversation('/refuse');
    llm.script({ toolCalls: [{ id: 'call_refused', name: 'lookup', arguments: {} }] }, { reply: 'The lookup failed.' });
    await (await startTurn(ids, 'Look it up')).result();

    const events = await eventsOf(ids.conversationId);
    expect(shape(events)).toEqual(['turn.started', 'tool.started', 'tool.failed', 'message.delta…', 'turn.completed']);
    const failed = events.find((e) => e.type === 'tool.failed')!;
    expect(failed.data).toMatchObject({ name: 'lookup', callId: 'call_refused', attempt: 1, ms: expect.any(Number), error: expect.any(String) });
    expect(tools.calls('/refuse').length).toBeGreaterThan(0);
    expect(JSON.stringify(events)).not.toContain(TOKEN);
  });

  it('starts a retried model attempt with message.reset, after a stream dropped mid-answer, and duplicates nothing', async () => {
    const ids = await conversation();
    const answer = 'Streams can break halfway through a sentence.';
    llm.script({ reply: answer, dropAfterChunks: 4 }, { reply: answer });
    await (await startTurn(ids, 'Say something')).result();

    const events = await eventsOf(ids.conversationId);
    expectGapless(events);
    expect(shape(events)).toEqual(['turn.started', 'message.delta…', 'message.reset', 'message.delta…', 'turn.completed']);
    const reset = events.findIndex((e) => e.type === 'message.reset');
    expect(events[reset]!.data).toEqual({ attempt: 2 });
    expect(answer.startsWith(textOf(events.slice(0, reset)))).toBe(true); // attempt 1: a prefix, never more
    expect(textOf(events.slice(reset))).toBe(answer);
    expect((await storedAnswer(ids.conversationId)).agentResponse).toBe(answer);
    expect(llm.streamedRequests).toBeGreaterThanOrEqual(2);
  });

  it('tells what retrieval searched and found, never the documents', async () => {
    const ids = await conversation();
    const kb = (await ids.api('POST', '/v1/knowledge-bases', { name: 'Handbook' })).body;
    const secretText = 'Parcels ship every Tuesday from the north warehouse.';
    const doc = (await ids.api('POST', `/v1/knowledge-bases/${kb.id}/documents`, { title: 'FAQ', content: `# Shipping\n${secretText}` })).body;
    await expect
      .poll(async () => (await ids.api('GET', `/v1/knowledge-bases/${kb.id}/documents/${doc.id}`)).body.processingStatus, { timeout: 60_000, interval: 200 })
      .toBe('completed');
    expect((await ids.api('POST', `/v1/agents/${ids.agentId}/knowledge`, { knowledgeBaseId: kb.id, priority: 1 })).status).toBe(201);
    llm.script({ reply: 'They ship on Tuesdays.' });
    await (await startTurn(ids, 'When do parcels ship?')).result();

    const events = await eventsOf(ids.conversationId);
    expect(shape(events)).toEqual(['turn.started', 'knowledge.retrieved', 'message.delta…', 'turn.completed']);
    expect(events[1]!.data).toEqual({ bases: [kb.id], hits: 1 });
    expect(JSON.stringify(events)).not.toContain('north warehouse');
  });

  it('ends a failed turn with turn.failed', async () => {
    const ids = await conversation();
    llm.script({ status: 400, body: { error: { message: 'this model does not exist', type: 'invalid_request_error' } } });
    const handle = await startTurn(ids, 'Hello?');
    await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);

    const events = await eventsOf(ids.conversationId);
    expect(events.map((e) => e.type)).toEqual(['turn.started', 'turn.failed']);
    expect(String(events[1]!.data.reason)).toMatch(/rejected the request \(400\)/);
  });
});
