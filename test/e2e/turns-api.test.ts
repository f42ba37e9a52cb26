import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redactPaths } from '../../src/logger';
import { apiClient, type ApiCall } from '../support/http';
import { ScriptedLlm } from '../support/scripted-llm';
import { startGateway, startWorker, temporalClient, testConfig, testDb, testProject } from '../support/stack';

const llm = new ScriptedLlm();
const logLines: string[] = [];
let stack: {
  config: ReturnType<typeof testConfig>;
  db: ReturnType<typeof testDb>;
  temporal: Awaited<ReturnType<typeof temporalClient>>;
  worker: Awaited<ReturnType<typeof startWorker>>;
  gateway: Awaited<ReturnType<typeof startGateway>>;
};

beforeAll(async () => {
  await llm.start();
  const config = testConfig({ OPENAI_BASE_URL: llm.baseUrl, TURN_WAIT_MS: '6000' }); // wide, so a loaded CI machine still answers a quick turn within it
  const db = testDb(config);
  const temporal = await temporalClient(config);
  const worker = await startWorker(config, db);
  const sink = new Writable({ write: (chunk, _enc, done) => { logLines.push(String(chunk)); done(); } });
  const logger = pino({ level: 'debug', redact: { paths: redactPaths, censor: '[redacted]' } }, sink);
  const gateway = await startGateway(config, db, temporal.client, logger);
  stack = { config, db, temporal, worker, gateway };
});
afterEach(() => expect(llm.failures).toEqual([]));
afterAll(async () => {
  await stack.gateway.close();
  await stack.worker.stop();
  await stack.temporal.close();
  await stack.db.close();
  await llm.stop();
});

async function setup(agentConfig: Record<string, unknown> = {}) {
  const project = await testProject(stack.db);
  const api = apiClient(stack.gateway.url, project.adminKey);
  const agent = await api('POST', '/v1/agents', { name: 'Support', goal: 'Answer questions', systemPrompt: 'Be brief.' });
  expect(agent.status).toBe(201);
  for (const [key, value] of Object.entries(agentConfig)) {
    expect((await api('PUT', `/v1/agents/${agent.body.id}/config/${key}`, { value })).status).toBe(200);
  }
  const conv = await api('POST', '/v1/conversations', { agentId: agent.body.id, externalUserId: 'user-1', title: 'Help' });
  expect(conv.status).toBe(201);
  return { api, project, agentId: agent.body.id as string, conversationId: conv.body.id as string };
}

async function pollTurn(api: ApiCall, conversationId: string, index: number) {
  let turn: { status: string } | undefined;
  await expect
    .poll(async () => {
      turn = (await api('GET', `/v1/conversations/${conversationId}/turns/${index}`)).body;
      return turn?.status;
    }, { timeout: 20_000, interval: 200 })
    .toMatch(/completed|failed/);
  return turn!;
}

describe('turns through the HTTP API (real gateway, worker, Temporal, Postgres)', () => {
  it('runs two turns and lists the messages in order with the turn records', async () => {
    const { api, conversationId } = await setup();
    llm.script({ reply: 'Hello! How can I help?' }, { reply: 'Our hours are 9 to 5.' });

    const first = await api('POST', `/v1/conversations/${conversationId}/messages`, { content: 'Hi' });
    expect(first.status).toBe(200);
    expect(first.body.message).toMatchObject({ role: 'assistant', content: 'Hello! How can I help?', turnIndex: 1 });
    expect(first.body.turn).toMatchObject({ index: 1, status: 'completed', workflowId: `turn:${conversationId}:1` });

    const second = await api('POST', `/v1/conversations/${conversationId}/messages`, { content: 'When are you open?' });
    expect(second.status).toBe(200);
    expect(second.body.turn.usage.totalTokens).toBeGreaterThan(0);

    const messages = await api('GET', `/v1/conversations/${conversationId}/messages`);
    expect(messages.body.items.map((m: { role: string; content: string }) => `${m.role}: ${m.content}`)).toEqual([
      'user: Hi',
      'assistant: Hello! How can I help?',
      'user: When are you open?',
      'assistant: Our hours are 9 to 5.',
    ]);
    const page = await api('GET', `/v1/conversations/${conversationId}/messages?limit=3`);
    const rest = await api('GET', `/v1/conversations/${conversationId}/messages?limit=3&cursor=${page.body.nextCursor}`);
    expect([...page.body.items, ...rest.body.items]).toEqual(messages.body.items);

    const turn = await api('GET', `/v1/conversations/${conversationId}/turns/2`);
    expect(turn.body).toMatchObject({ index: 2, status: 'completed', userInput: 'When are you open?', agentResponse: 'Our hours are 9 to 5.' });
    expect(turn.body.responseTimeMs).toBeGreaterThanOrEqual(0);
    const conv = await api('GET', `/v1/conversations/${conversationId}`);
    expect(conv.body).toMatchObject({ turnCount: 2, messagesCount: 4, lastTurnIndex: 2 });

    const feedback = await api('POST', `/v1/conversations/${conversationId}/turns/2/feedback`, { satisfaction: 5, text: 'great' });
    expect(feedback.body).toMatchObject({ userSatisfaction: 5, feedbackText: 'great' });
  });

  it('replays an Idempotency-Key: same answer, no second turn, no extra rows', async () => {
    const { api, conversationId } = await setup();
    llm.script({ reply: 'Once only.' });
    const headers = { 'Idempotency-Key': 'req-123' };
    const first = await api('POST', `/v1/conversations/${conversationId}/messages`, { content: 'Charge me' }, headers);
    const again = await api('POST', `/v1/conversations/${conversationId}/messages`, { content: 'Charge me' }, headers);
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(llm.requests.filter((r) => r.messages.at(-1)?.content === 'Charge me')).toHaveLength(1);
    expect((await api('GET', `/v1/conversations/${conversationId}/messages`)).body.items).toHaveLength(2);

    const reused = await api('POST', `/v1/conversations/${conversationId}/messages`, { content: 'Something else' }, headers);
    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe('idempotency_key_reused');
  });

  it('answers 202 with a poll URL for a slow turn and 409 turn_in_progress for a message meanwhile', async () => {
    const { api, conversationId } = await setup();
    llm.script({ reply: 'Sorry for the wait.', delayMs: 8000 });
    const slow = await api('POST', `/v1/conversations/${conversationId}/messages`, { content: 'Slow question' });
    expect(slow.status).toBe(202);
    expect(slow.body.pollUrl).toBe(`/v1/conversations/${conversationId}/turns/1`);
    expect(slow.headers.get('location')).toBe(slow.body.pollUrl);

    const busy = await api('POST', `/v1/conversations/${conversationId}/messages`, { content: 'Hello??' });
    expect(busy.status).toBe(409);
    expect(busy.body.error).toMatchObject({ code: 'turn_in_progress', details: { turnIndex: 1 } });

    expect(await pollTurn(api, conversationId, 1)).toMatchObject({ status: 'completed', agentResponse: 'Sorry for the wait.' });
    expect((await api('GET', `/v1/conversations/${conversationId}/messages`)).body.items).toHaveLength(2);
  });

  it('queues a second message behind the running turn when the agent says enqueue', async () => {
    const { api, conversationId } = await setup({ double_texting: 'enqueue' });
    llm.script({ reply: 'First answer.', delayMs: 7000 }, { reply: 'Second answer.' });
    const first = await api('POST', `/v1/conversations/${conversationId}/messages`, { content: 'one' });
    const second = await api('POST', `/v1/conversations/${conversationId}/messages`, { content: 'two' });
    expect(first.status).toBe(202);
    expect([200, 202]).toContain(second.status);
    await pollTurn(api, conversationId, 2);
    const contents = (await api('GET', `/v1/conversations/${conversationId}/messages`)).body.items.map((m: { content: string }) => m.content);
    expect(contents).toEqual(['one', 'First answer.', 'two', 'Second answer.']);
    // the second turn's model call saw the first turn's answer
    expect(llm.requests.at(-1)!.messages.map((m) => m.content)).toContain('First answer.');
  });

  it('refuses turns on an ended conversation and on a paused agent with codes that say which', async () => {
    const { api, agentId, conversationId } = await setup();
    expect((await api('POST', `/v1/conversations/${conversationId}/end`)).body.status).toBe('completed');
    const ended = await api('POST', `/v1/conversations/${conversationId}/messages`, { content: 'hello?' });
    expect(ended.status).toBe(409);
    expect(ended.body.error.code).toBe('conversation_ended');

    const conv = await api('POST', '/v1/conversations', { agentId });
    expect((await api('PATCH', `/v1/agents/${agentId}`, { status: 'paused' })).status).toBe(200);
    const paused = await api('POST', `/v1/conversations/${conv.body.id}/messages`, { content: 'hello?' });
    expect(paused.status).toBe(409);
    expect(paused.body.error.code).toBe('agent_paused');
  });

  it('keeps API keys out of logs and responses', async () => {
    const { api, project } = await setup();
    const keys = await api('GET', '/v1/api-keys');
    expect(JSON.stringify(keys.body)).not.toContain(project.adminKey);
    expect(JSON.stringify(keys.body)).not.toMatch(/keyHash|key_hash/);
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join('\n')).not.toContain(project.adminKey);
  });
});
