import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listTurnEvents } from '../../src/conversations/turn-events';
import { recordClosedHistory } from '../support/histories';
import { apiClient, type ApiCall } from '../support/http';
import { ScriptedLlm } from '../support/scripted-llm';
import { startStack, testProject, type Stack } from '../support/stack';
import { ToolServer } from '../support/tool-server';
import { startWatchingProxy, type WatchingProxy } from '../support/watching-proxy';

/*
 * Control of running turns (issue 12): cancel, the interrupt and rollback double-texting policies, and why a
 * turn ended. The model and the tools sit behind proxies that see a caller abandon its request, so "the HTTP
 * call was aborted" is asserted as what the server saw.
 */
const llm = new ScriptedLlm();
const tools = new ToolServer({ '/hang': () => 'hang', '/ok': () => ({ status: 200, body: { ok: true } }) });
let modelProxy: WatchingProxy;
let toolProxy: WatchingProxy;
let stack: Stack;

beforeAll(async () => {
  await Promise.all([llm.start(), tools.start()]);
  modelProxy = await startWatchingProxy(llm.baseUrl.replace(/\/v1$/, ''));
  toolProxy = await startWatchingProxy(tools.url(''));
  // A long wait: a POST answers when its turn ends, canceled or not, and never as a 202 here.
  stack = await startStack({ OPENAI_BASE_URL: `${modelProxy.url}/v1`, TOOL_NETWORK_ALLOWLIST: `127.0.0.1:${toolProxy.port}`, TURN_WAIT_MS: '60000' });
});
afterEach(() => expect(llm.failures).toEqual([]));
afterAll(async () => {
  await stack?.stop();
  await Promise.all([modelProxy?.close(), toolProxy?.close(), llm.stop(), tools.stop()]);
});

async function setup(config: Record<string, unknown> = {}, toolPath?: string) {
  const project = await testProject(stack.db);
  const api = apiClient(stack.gateway.url, project.adminKey);
  const agent = await api('POST', '/v1/agents', { name: 'Helper', goal: 'help', systemPrompt: 'Be brief.' });
  for (const [key, value] of Object.entries(config)) expect((await api('PUT', `/v1/agents/${agent.body.id}/config/${key}`, { value })).status).toBe(200);
  if (toolPath) {
    const tool = await api('POST', '/v1/tools', {
      name: 'lookup', description: 'Look something up', category: 'data_source', toolType: 'api', status: 'active',
      inputSchema: { type: 'object', properties: { q: { type: 'string' } } }, timeoutMs: 120_000,
      retryPolicy: { maximumAttempts: 3, initialIntervalMs: 100, backoffCoefficient: 1, maximumIntervalMs: 100 },
      config: { method: 'GET', url: `${toolProxy.url}${toolPath}` },
    });
    expect(tool.status, JSON.stringify(tool.body)).toBe(201);
    expect((await api('POST', `/v1/agents/${agent.body.id}/tools`, { toolId: tool.body.id })).status).toBe(201);
  }
  const conv = await api('POST', '/v1/conversations', { agentId: agent.body.id });
  return { api, conversationId: conv.body.id as string };
}

const send = (api: ApiCall, conversationId: string, content: string) => api('POST', `/v1/conversations/${conversationId}/messages`, { content });
const cancel = (api: ApiCall, conversationId: string, index: number) => api('POST', `/v1/conversations/${conversationId}/turns/${index}/cancel`);
const eventTypes = async (conversationId: string, index: number) => (await listTurnEvents(stack.db.db, conversationId, index)).map((e) => e.type);
const modelSaw = (content: string) => expect.poll(() => llm.requests.some((r) => r.messages.at(-1)?.content === content), { timeout: 30_000 }).toBe(true);
const STALLED_ANSWER = 'Partial words of an answer that never finishes';
/** Waits until the turn's model call has streamed text (written as `message.delta` events). */
const deltasOf = (conversationId: string, index: number) =>
  expect.poll(async () => (await eventTypes(conversationId, index)).includes('message.delta'), { timeout: 30_000 }).toBe(true);
const lastTurnIs = (api: ApiCall, conversationId: string, index: number) =>
  expect.poll(async () => (await api('GET', `/v1/conversations/${conversationId}`)).body.lastTurnIndex, { timeout: 30_000 }).toBe(index);

describe('turn control (real gateway, worker, Temporal, Postgres, local model and tool servers)', () => {
  it('cancels a turn during a slow tool call: the tool request is aborted, the turn says canceled, turn.canceled ends the log', async () => {
    const { api, conversationId } = await setup({}, '/hang');
    llm.script({ toolCalls: [{ name: 'lookup', arguments: { q: 'x' } }] });
    const reply = send(api, conversationId, 'look it up');
    await expect.poll(() => tools.calls('/hang').length, { timeout: 30_000 }).toBe(1);
    const abortedBefore = toolProxy.aborted();

    const canceled = await cancel(api, conversationId, 1);
    expect(canceled.status, JSON.stringify(canceled.body)).toBe(202);
    expect(canceled.body.turn).toMatchObject({ index: 1 });
    const again = await cancel(api, conversationId, 1); // a second request while the first is under way is harmless
    expect([202, 409]).toContain(again.status);

    const answered = await reply;
    expect(answered.status).toBe(200);
    expect(answered.body).toMatchObject({ turn: { status: 'canceled', stopReason: 'canceled' }, message: null });
    expect(toolProxy.aborted()).toBeGreaterThan(abortedBefore);
    expect(tools.calls('/hang')).toHaveLength(1); // the aborted call ends as canceled, not as a failure to retry
    expect((await eventTypes(conversationId, 1)).at(-1)).toBe('turn.canceled');
    const messages = (await api('GET', `/v1/conversations/${conversationId}/messages`)).body.items;
    expect(messages.map((m: { role: string }) => m.role)).toEqual(['user']);

    await recordClosedHistory(stack.config.TEMPORAL_ADDRESS, 'turn-canceled-during-tool', `turn:${conversationId}:1`);

    const late = await cancel(api, conversationId, 1);
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('turn_not_running');
  });

  it('cancels a turn while the model stalls mid-answer: the model request is aborted, the streamed text is the partial answer', async () => {
    const { api, conversationId } = await setup();
    llm.script({ reply: STALLED_ANSWER, holdAfterChunks: 3 }); // role, "Partial", " words", then silence
    const reply = send(api, conversationId, 'think hard');
    await deltasOf(conversationId, 1);
    const abortedBefore = modelProxy.aborted();
    expect((await cancel(api, conversationId, 1)).status).toBe(202);
    const answered = await reply;
    expect(answered.body).toMatchObject({ turn: { status: 'canceled', stopReason: 'canceled', agentResponse: null }, message: null });
    expect(modelProxy.aborted()).toBeGreaterThan(abortedBefore);
    const events = await listTurnEvents(stack.db.db, conversationId, 1);
    const streamed = events.filter((e) => e.type === 'message.delta').map((e) => e.data.text).join('');
    expect(streamed.length).toBeGreaterThan(0);
    expect(STALLED_ANSWER.startsWith(streamed)).toBe(true);
    expect(answered.body.turn.partialAnswer).toBe(streamed);
    expect(events.at(-1)).toMatchObject({ type: 'turn.canceled', data: { partialAnswer: streamed } });
    expect((await api('GET', `/v1/conversations/${conversationId}/messages`)).body.items).toHaveLength(1); // no assistant message
  });

  it('cancels a queued turn before it starts; the turn it waited for is not touched', async () => {
    const { api, conversationId } = await setup({ double_texting: 'enqueue' });
    llm.script({ hang: true });
    const first = send(api, conversationId, 'first');
    await modelSaw('first');
    const second = send(api, conversationId, 'second');
    await lastTurnIs(api, conversationId, 2);

    expect((await cancel(api, conversationId, 2)).status).toBe(202);
    await expect.poll(async () => (await api('GET', `/v1/conversations/${conversationId}/turns/2`)).body.status, { timeout: 30_000 }).toBe('canceled');
    const events = await eventTypes(conversationId, 2);
    expect(events.at(-1)).toBe('turn.canceled');
    expect(events).not.toContain('message.delta');
    expect((await api('GET', `/v1/conversations/${conversationId}/turns/1`)).body.status).toBe('running');

    expect((await cancel(api, conversationId, 1)).status).toBe(202);
    expect((await first).body.turn.status).toBe('canceled');
    expect((await second).body.turn).toMatchObject({ status: 'canceled', stopReason: 'canceled' });
    expect(llm.requests.some((r) => r.messages.some((m) => m.content === 'second'))).toBe(false);
    await recordClosedHistory(stack.config.TEMPORAL_ADDRESS, 'turn-canceled-while-queued', `turn:${conversationId}:2`);
  });

  it('answers 409 turn_not_running for a finished turn and 404 for an unknown turn or another project', async () => {
    const { api, conversationId } = await setup();
    llm.script({ reply: 'Done.' });
    expect((await send(api, conversationId, 'hi')).body.turn.status).toBe('completed');
    const finished = await cancel(api, conversationId, 1);
    expect(finished.status).toBe(409);
    expect(finished.body.error.code).toBe('turn_not_running');
    expect((await cancel(api, conversationId, 2)).status).toBe(404);
    const other = await setup();
    expect((await cancel(other.api, conversationId, 1)).status).toBe(404);
  });

  it('interrupt: the running turn is canceled, its message and marked partial answer stay in the next request', async () => {
    const { api, conversationId } = await setup({ double_texting: 'interrupt' });
    llm.script({ reply: STALLED_ANSWER, holdAfterChunks: 3 }, { reply: 'Answer two.' });
    const first = send(api, conversationId, 'first question');
    await deltasOf(conversationId, 1);
    const second = await send(api, conversationId, 'second question');
    expect(second.status).toBe(200);
    expect(second.body.message.content).toBe('Answer two.');
    const interrupted = (await first).body.turn;
    expect(interrupted).toMatchObject({ status: 'canceled', stopReason: 'interrupted' });
    expect(STALLED_ANSWER.startsWith(interrupted.partialAnswer)).toBe(true);
    const seen = llm.requests.at(-1)!.messages.slice(1).map((m) => `${m.role}: ${m.content}`);
    expect(seen).toEqual(['user: first question', `assistant: ${interrupted.partialAnswer}\n\n[interrupted]`, 'user: second question']);
    await recordClosedHistory(stack.config.TEMPORAL_ADDRESS, 'turn-interrupted', `turn:${conversationId}:1`);
  });

  it('rollback: the running turn is canceled and neither its message nor its partial answer is in the next request', async () => {
    const { api, conversationId } = await setup({ double_texting: 'rollback' });
    llm.script({ reply: 'Answer one.' }, { reply: STALLED_ANSWER, holdAfterChunks: 3 }, { reply: 'Answer three.' });
    expect((await send(api, conversationId, 'one')).status).toBe(200);
    const second = send(api, conversationId, 'two');
    await deltasOf(conversationId, 2);
    const third = await send(api, conversationId, 'three');
    expect(third.body.message.content).toBe('Answer three.');
    expect((await second).body.turn).toMatchObject({ status: 'canceled', stopReason: 'rolled_back' });
    const seen = llm.requests.at(-1)!.messages.slice(1).map((m) => `${m.role}: ${m.content}`);
    expect(seen).toEqual(['user: one', 'assistant: Answer one.', 'user: three']);
  });

  it('max_steps: a last step that still asks for tools records why and answers with a sentence, not an empty text', async () => {
    const { api, conversationId } = await setup({ max_steps: 2 }, '/ok');
    llm.script({ toolCalls: [{ name: 'lookup', arguments: { q: 'a' } }] }, { toolCalls: [{ name: 'lookup', arguments: { q: 'b' } }] });
    const res = await send(api, conversationId, 'dig deep');
    expect(res.status).toBe(200);
    expect(llm.requests.at(-1)!.tools).toBeUndefined(); // the last step offered no tools
    expect(res.body.turn).toMatchObject({ status: 'completed', stopReason: 'max_steps', toolsUsed: [{ status: 'success' }] });
    expect(res.body.turn.agentResponse).toMatch(/limit of 2 steps/);
    expect(res.body.message.content).toBe(res.body.turn.agentResponse);
    await recordClosedHistory(stack.config.TEMPORAL_ADDRESS, 'turn-max-steps', `turn:${conversationId}:1`);
    expect(tools.calls('/ok')).toHaveLength(1);

    llm.script({ reply: 'Plain answer.' });
    expect((await send(api, conversationId, 'simple')).body.turn).toMatchObject({ stopReason: 'stop', agentResponse: 'Plain answer.' });
  });

  it('budget: a step forced by the response-time budget that still asks for tools records budget', async () => {
    const { api, conversationId } = await setup({ response_time_budget_ms: 100 }, '/ok');
    // The first model call alone outlasts the budget, so the second step offers no tools.
    llm.script({ toolCalls: [{ name: 'lookup', arguments: { q: 'a' } }], delayMs: 300 }, { toolCalls: [{ name: 'lookup', arguments: { q: 'b' } }] });
    const res = await send(api, conversationId, 'quick please');
    expect(llm.requests.at(-1)!.tools).toBeUndefined();
    expect(res.body.turn).toMatchObject({ status: 'completed', stopReason: 'budget' });
    expect(res.body.turn.agentResponse).toMatch(/response time budget/);
  });

  it('documents the cancel route and the double_texting values in /openapi.json', async () => {
    const doc = JSON.stringify((await fetch(`${stack.gateway.url}/openapi.json`).then((r) => r.json())) as unknown);
    expect(doc).toContain('/v1/conversations/{id}/turns/{index}/cancel');
    for (const policy of ['reject', 'enqueue', 'interrupt', 'rollback']) expect(doc).toContain(`\`${policy}\``);
  });
});
