import { describe, expect, it } from 'vitest';
import { sessionWorkflowId } from '../../workflows/contracts';
import { stackPerFile } from '../support/file-stack';
import { recordHistory } from '../support/histories';
import { apiClient } from '../support/http';
import { ScriptedLlm } from '../support/scripted-llm';
import { testProject, type Stack } from '../support/stack';

const llm = new ScriptedLlm();
let stack: Stack;
stackPerFile((s) => (stack = s), llm);

async function setup(agent: Record<string, unknown> = {}, config: Record<string, unknown> = {}) {
  const api = apiClient(stack.gateway.url, (await testProject(stack.db)).adminKey);
  const created = await api('POST', '/v1/agents', { name: 'Concierge', goal: 'help guests', ...agent });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  for (const [key, value] of Object.entries(config)) await api('PUT', `/v1/agents/${created.body.id}/config/${key}`, { value });
  return { api, agentId: created.body.id as string };
}

describe('conversation sessions', () => {
  it('renders Liquid system prompts and first messages with agent and conversation variables', async () => {
    const { api, agentId } = await setup({
      systemPrompt: 'You are {{ agent.name }}. The guest is {{ variables.guest | default: "unknown" }} in room {{ variables.room }}.',
      firstMessage: 'Welcome{% if conversation.title %} to {{ conversation.title }}{% endif %}! I am {{ agent.name }}.',
    });
    const conv = (await api('POST', '/v1/conversations', { agentId, title: 'Hotel Aurora' })).body;
    const messages = (await api('GET', `/v1/conversations/${conv.id}/messages`)).body.items;
    expect(messages).toMatchObject([{ role: 'assistant', turnIndex: 0, content: 'Welcome to Hotel Aurora! I am Concierge.' }]);
    await api('PATCH', `/v1/conversations/${conv.id}`, { variables: { guest: 'Ada', room: 12 } });
    llm.script({ reply: 'Hello Ada.' });
    await api('POST', `/v1/conversations/${conv.id}/messages`, { content: 'hi' });
    const request = llm.requests.at(-1)!;
    expect(request.messages[0]!.content).toBe('You are Concierge. The guest is Ada in room 12.');
    expect(request.messages.map((m) => m.content)).toContain('Welcome to Hotel Aurora! I am Concierge.');
  });

  it('refuses a system prompt that is not valid Liquid, naming the field', async () => {
    const api = apiClient(stack.gateway.url, (await testProject(stack.db)).adminKey);
    const res = await api('POST', '/v1/agents', { name: 'x', goal: 'g', systemPrompt: 'Hi {% if %}' });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('body.systemPrompt');
  });

  it('lets the model set a variable through the built-in tool, and the API merge and remove them', async () => {
    const { api, agentId } = await setup();
    const conv = (await api('POST', '/v1/conversations', { agentId })).body;
    llm.script({ toolCalls: [{ name: 'set_conversation_variable', arguments: { name: 'orderId', value: 'A-17' } }] }, { reply: 'Noted.' });
    const turn = (await api('POST', `/v1/conversations/${conv.id}/messages`, { content: 'My order is A-17' })).body.turn;
    expect(turn.toolsUsed).toMatchObject([{ toolName: 'set_conversation_variable', status: 'success' }]);
    expect((await api('GET', `/v1/conversations/${conv.id}`)).body.variables).toEqual({ orderId: 'A-17' });
    const patched = await api('PATCH', `/v1/conversations/${conv.id}`, { variables: { tier: 'gold', orderId: null } });
    expect(patched.body.variables).toEqual({ tier: 'gold' });
    // Concurrent PATCHes of different variables all land (the merge is one SQL expression, not read-then-write).
    await Promise.all(Array.from({ length: 12 }, (_, i) => api('PATCH', `/v1/conversations/${conv.id}`, { variables: { [`v${i}`]: i } })));
    const all = (await api('GET', `/v1/conversations/${conv.id}`)).body.variables;
    expect(Object.keys(all).sort()).toEqual(['tier', ...Array.from({ length: 12 }, (_, i) => `v${i}`)].sort());
  });

  it('refuses turns while paused and takes them again once resumed', async () => {
    const { api, agentId } = await setup();
    const conv = (await api('POST', '/v1/conversations', { agentId })).body;
    expect((await api('PATCH', `/v1/conversations/${conv.id}`, { status: 'paused' })).body.status).toBe('paused');
    const refused = await api('POST', `/v1/conversations/${conv.id}/messages`, { content: 'hello?' });
    expect(refused).toMatchObject({ status: 409, body: { error: { code: 'conversation_paused' } } });
    await api('PATCH', `/v1/conversations/${conv.id}`, { status: 'active' });
    llm.script({ reply: 'Back.' });
    expect((await api('POST', `/v1/conversations/${conv.id}/messages`, { content: 'hello?' })).status).toBe(200);
  });

  it('closes an idle conversation with a durable timer, and keeps an active one open', async () => {
    const { api, agentId } = await setup({}, { idle_timeout_seconds: 2 });
    const idle = (await api('POST', '/v1/conversations', { agentId })).body;
    const busy = (await api('POST', '/v1/conversations', { agentId })).body;
    llm.script({ reply: 'one' }, { reply: 'two' });
    await new Promise((r) => setTimeout(r, 1200));
    await api('POST', `/v1/conversations/${busy.id}/messages`, { content: 'still here' });
    await expect.poll(async () => (await api('GET', `/v1/conversations/${idle.id}`)).body.status, { timeout: 15_000, interval: 250 }).toBe('completed');
    const busyNow = (await api('GET', `/v1/conversations/${busy.id}`)).body;
    expect(busyNow.status).toBe('active'); // its last activity was 1.2 s later
    const closed = (await api('GET', `/v1/conversations/${idle.id}`)).body;
    expect(closed.context).toMatchObject({ endedBecause: 'idle' });
    expect(closed.endedAt).not.toBeNull();
    await expect.poll(async () => (await api('GET', `/v1/conversations/${busy.id}`)).body.status, { timeout: 15_000, interval: 250 }).toBe('completed');
    const late = await api('POST', `/v1/conversations/${busy.id}/messages`, { content: 'late' });
    expect(late).toMatchObject({ status: 409, body: { error: { code: 'conversation_ended' } } });
    recordHistory(stack.config.TEMPORAL_ADDRESS, 'session-idle-closed', sessionWorkflowId(busy.id), { closed: true });
  });
});
