import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setLastTurnIndex } from '../../src/conversations/store';
import { apiClient } from '../support/http';
import { ScriptedLlm } from '../support/scripted-llm';
import { openSse } from '../support/sse';
import { startStack, testProject, type Stack } from '../support/stack';

/*
 * A non-streamed OpenAI-compatible request follows its turn's log through the LISTEN hub for up to 9.5
 * minutes, exactly as a stream does: it counts against the same per-project limit, so one project cannot
 * hold an unbounded number of waiting requests (a retried Idempotency-Key starts no new turn, so the
 * monthly turn limit does not bound them either).
 */
const llm = new ScriptedLlm();
let stack: Stack;

beforeAll(async () => {
  await llm.start();
  stack = await startStack({ OPENAI_BASE_URL: llm.baseUrl, STREAM_MAX_PER_PROJECT: '1' });
});
afterEach(() => expect(llm.failures).toEqual([]));
afterAll(async () => {
  await stack?.stop();
  await llm.stop();
});

async function projectHoldingItsStream() {
  const project = await testProject(stack.db);
  const api = apiClient(stack.gateway.url, project.adminKey);
  const agent = (await api('POST', '/v1/agents', { name: 'A', goal: 'g' })).body;
  const conv = (await api('POST', '/v1/conversations', { agentId: agent.id })).body;
  await setLastTurnIndex(stack.db.db, conv.id, 1, false);
  // A stream on a turn whose log never grows: it holds the project's one slot until closed.
  const held = await openSse(`${stack.gateway.url}/v1/conversations/${conv.id}/turns/1/events`, { headers: { authorization: `Bearer ${project.adminKey}` } });
  expect(held.status).toBe(200);
  const client = new OpenAI({ baseURL: `${stack.gateway.url}/v1`, apiKey: project.adminKey, maxRetries: 0, timeout: 30_000 });
  const conversations = async () => (await stack.db.sql`select count(*)::int as n from conversation where project_id = ${project.projectId}`)[0]!.n as number;
  return { held, client, model: `agent-${agent.id}`, conversations };
}

describe('waiting OpenAI-compatible requests', () => {
  it('are refused with 429 at the project limit before any turn starts, and take a slot while they wait', async () => {
    const p = await projectHoldingItsStream();
    const chat = await p.client.chat.completions.create({ model: p.model, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(chat).toBeInstanceOf(OpenAI.RateLimitError);
    expect((chat as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('too_many_streams');
    const resp = await p.client.responses.create({ model: p.model, input: 'hi' }).catch((e: unknown) => e);
    expect(resp).toBeInstanceOf(OpenAI.RateLimitError);
    expect(await p.conversations()).toBe(1);

    // With the stream closed, a waiting request gets the slot and gives it back when answered.
    await p.held.close();
    llm.script({ reply: 'answered' });
    await expect.poll(async () => {
      const r = await p.client.chat.completions.create({ model: p.model, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
      return r instanceof OpenAI.RateLimitError ? 'limited' : (r as OpenAI.ChatCompletion).choices[0]!.message.content;
    }, { timeout: 20_000, interval: 100 }).toBe('answered');
    llm.script({ reply: 'again' });
    expect((await p.client.responses.create({ model: p.model, input: 'hi' })).output_text).toBe('again');
  });
});
