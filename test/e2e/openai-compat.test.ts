import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../support/http';
import { ScriptedLlm } from '../support/scripted-llm';
import { startGateway, startStack, testProject, type Stack } from '../support/stack';
import { ToolServer } from '../support/tool-server';

const llm = new ScriptedLlm();
const tools = new ToolServer({ '/weather': () => ({ status: 200, body: { sky: 'sunny' } }) });
let stack: Stack;

beforeAll(async () => {
  await llm.start();
  await tools.start();
  stack = await startStack({ OPENAI_BASE_URL: llm.baseUrl, TOOL_NETWORK_ALLOWLIST: `127.0.0.1:${tools.port}` });
});
afterEach(() => expect(llm.failures).toEqual([]));
afterAll(async () => {
  await stack?.stop();
  await tools.stop();
  await llm.stop();
});

async function setup(baseURL = `${stack.gateway.url}/v1`) {
  const project = await testProject(stack.db);
  const api = apiClient(stack.gateway.url, project.adminKey);
  const agent = await api('POST', '/v1/agents', { name: 'Support', goal: 'Answer questions', systemPrompt: 'Be brief.' });
  expect(agent.status).toBe(201);
  const client = new OpenAI({ baseURL, apiKey: project.adminKey, maxRetries: 0 });
  return { project, api, client, agentId: agent.body.id as string, model: `agent-${agent.body.id}` };
}

async function storedAnswer(conversationId: string, turnIndex: number): Promise<string> {
  const [row] = await stack.db.sql`select agent_response from agent_execution_history where conversation_id = ${conversationId} and message_index = ${turnIndex}`;
  return row!.agent_response as string;
}

const userMessages = (i: number) => llm.requests[i]!.messages.map((m) => `${m.role}: ${String(m.content)}`);

describe('models', () => {
  it("lists the project's active agents as models and retrieves one by either id", async () => {
    const { client, agentId, model, api } = await setup();
    await api('POST', '/v1/agents', { name: 'Paused', goal: 'x', status: 'paused' });
    const list = await client.models.list();
    expect(list.data.map((m) => m.id)).toEqual([model]);
    expect(list.data[0]).toMatchObject({ object: 'model', owned_by: expect.any(String), name: 'Support' });
    expect((await client.models.retrieve(agentId)).id).toBe(model);
    const missing = await client.models.retrieve('agent-00000000-0000-4000-8000-000000000000').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect((missing as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
  });
});

describe('chat completions', () => {
  it('answers a new conversation with the stored turn answer; system messages are appended to the agent prompt', async () => {
    const { client, model } = await setup();
    llm.script({ reply: 'Hello! How can I help?' });
    const before = llm.requests.length;
    const { data, response } = await client.chat.completions
      .create({ model, messages: [{ role: 'system', content: 'Answer in English.' }, { role: 'user', content: 'Hi' }], temperature: 0.3, max_tokens: 50 })
      .withResponse();
    const conversationId = response.headers.get('x-conversation-id')!;
    expect(response.headers.get('x-request-id')).toBeTruthy();
    expect(data.object).toBe('chat.completion');
    expect(data.choices[0]!.message.content).toBe(await storedAnswer(conversationId, 1));
    expect(data.choices[0]!.finish_reason).toBe('stop');
    expect(data.usage!.total_tokens).toBeGreaterThan(0);
    const sent = llm.requests[before]!;
    expect(sent.messages[0]!.content).toBe('Be brief.\n\nAnswer in English.');
    expect(sent).toMatchObject({ temperature: 0.3 });
  });

  it('opens a conversation with the earlier messages as history, and continues one with only the new message', async () => {
    const { client, model } = await setup();
    llm.script({ reply: 'Paris.' }, { reply: 'About 2 million.' });
    const first = await client.chat.completions
      .create({ model, messages: [{ role: 'user', content: 'Name a city' }, { role: 'assistant', content: 'Which country?' }, { role: 'user', content: 'France' }] })
      .withResponse();
    const conversationId = first.response.headers.get('x-conversation-id')!;
    expect(userMessages(llm.requests.length - 1).slice(1)).toEqual(['user: Name a city', 'assistant: Which country?', 'user: France']);

    const messages = [
      { role: 'user' as const, content: 'Name a city' }, { role: 'assistant' as const, content: 'Which country?' },
      { role: 'user' as const, content: 'France' }, { role: 'assistant' as const, content: 'Paris.' }, { role: 'user' as const, content: 'How many people?' },
    ];
    const second = await client.chat.completions.create({ model, messages, metadata: { conversation_id: conversationId } }).withResponse();
    expect(second.response.headers.get('x-conversation-id')).toBe(conversationId);
    expect(second.data.choices[0]!.message.content).toBe('About 2 million.');
    // The stored conversation is the history: the first exchange is in it once, not again from the client's list.
    expect(userMessages(llm.requests.length - 1).slice(1)).toEqual([
      'user: Name a city', 'assistant: Which country?', 'user: France', 'assistant: Paris.', 'user: How many people?',
    ]);
  });

  it('streams chunks the SDK parses: role first, deltas that add up to the stored answer, finish reason, usage, [DONE]', async () => {
    const { client, model } = await setup();
    llm.script({ reply: 'The quick brown fox jumps over the lazy dog.', chunkChars: 5, chunkDelayMs: 20 });
    const { data: stream, response } = await client.chat.completions
      .create({ model, messages: [{ role: 'user', content: 'Tell me something' }], stream: true, stream_options: { include_usage: true } })
      .withResponse();
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe(await storedAnswer(response.headers.get('x-conversation-id')!, 1));
    expect(chunks.filter((c) => (c.choices[0]?.delta.content ?? '') !== '').length).toBeGreaterThan(1);
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('stop');
    expect(chunks.at(-1)!.choices).toEqual([]);
    expect(chunks.at(-1)!.usage!.total_tokens).toBeGreaterThan(0);
  });

  it('absorbs a message.reset: a model stream cut mid-answer and retried still streams the answer once', async () => {
    const { client, model } = await setup();
    const answer = 'One two three four five six seven.';
    llm.script({ reply: answer, chunkChars: 4, dropAfterChunks: 3 }, { reply: answer, chunkChars: 4 });
    const { data: stream, response } = await client.chat.completions
      .create({ model, messages: [{ role: 'user', content: 'Count' }], stream: true })
      .withResponse();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    const conversationId = response.headers.get('x-conversation-id')!;
    expect(text).toBe(answer);
    expect(text).toBe(await storedAnswer(conversationId, 1));
    const resets = await stack.db.sql`select count(*)::int as n from turn_event where conversation_id = ${conversationId} and type = 'message.reset'`;
    expect(resets[0]!.n).toBe(1);
  });

  it("answers through the agent's server-side tools", async () => {
    const { client, model, api, agentId } = await setup();
    const tool = await api('POST', '/v1/tools', {
      name: 'weather', description: 'Weather for a city', category: 'data_source', toolType: 'api', status: 'active',
      inputSchema: { type: 'object', properties: { city: { type: 'string' } } }, config: { method: 'GET', url: tools.url('/weather') },
    });
    expect(tool.status, JSON.stringify(tool.body)).toBe(201);
    expect((await api('POST', `/v1/agents/${agentId}/tools`, { toolId: tool.body.id })).status).toBe(201);
    llm.script({ toolCalls: [{ name: 'weather', arguments: { city: 'Paris' } }] }, { reply: 'It is sunny in Paris.' });
    const calls = tools.calls('/weather').length;
    const done = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Weather in Paris?' }] });
    expect(done.choices[0]!.message.content).toBe('It is sunny in Paris.');
    expect(tools.calls('/weather').length).toBe(calls + 1);
    expect(llm.requests.at(-1)!.messages.some((m) => m.role === 'tool' && String(m.content).includes('sunny'))).toBe(true);
  });

  it('streams a tool-using turn whose model speaks before calling the tool: that text, then the answer, no error', async () => {
    const { client, model, api, agentId } = await setup();
    const tool = await api('POST', '/v1/tools', {
      name: 'weather', description: 'Weather for a city', category: 'data_source', toolType: 'api', status: 'active',
      inputSchema: { type: 'object', properties: { city: { type: 'string' } } }, config: { method: 'GET', url: tools.url('/weather') },
    });
    expect((await api('POST', `/v1/agents/${agentId}/tools`, { toolId: tool.body.id })).status).toBe(201);
    llm.script({ content: 'Let me look that up.', toolCalls: [{ name: 'weather', arguments: { city: 'Paris' } }] }, { reply: 'It is sunny in Paris.' });
    const stream = await client.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: 'Weather in Paris?' }] });
    let text = '';
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe('Let me look that up.\n\nIt is sunny in Paris.');
    expect(finish).toBe('stop');
  });
});

describe('errors in OpenAI shape', () => {
  it('401 for a bad key, 404 for an unknown model, 400 with param for what cannot be honoured', async () => {
    const { client, model } = await setup();
    const bad = new OpenAI({ baseURL: `${stack.gateway.url}/v1`, apiKey: 'sk-nope', maxRetries: 0 });
    const unauthorized = (await bad.models.list().catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(unauthorized).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(unauthorized.code).toBe('invalid_api_key');
    expect(unauthorized.headers?.get('x-should-retry')).toBe('false');
    expect(unauthorized.headers?.get('x-request-id')).toBeTruthy();

    const unknown = (await client.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect({ code: unknown.code, param: unknown.param }).toEqual({ code: 'model_not_found', param: 'model' });

    const refusals: Array<[Record<string, unknown>, string]> = [
      [{ n: 2 }, 'n'],
      [{ tools: [{ type: 'function', function: { name: 'f', parameters: {} } }] }, 'tools'],
      [{ temperature: 5 }, 'temperature'],
      [{ messages: [{ content: 'Hi' }] }, 'messages[0].role'],
      [{ messages: [{ role: 'assistant', content: 'Hi' }] }, 'messages'],
      [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }, 'messages[0].content[0]'],
    ];
    for (const [extra, param] of refusals) {
      const body = { model, messages: [{ role: 'user', content: 'Hi' }], ...extra } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming;
      const err = (await client.chat.completions.create(body).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
      expect(err, param).toBeInstanceOf(OpenAI.BadRequestError);
      expect(err.param).toBe(param);
      expect(err.headers?.get('x-should-retry')).toBe('false');
      expect(err.type).toBe('invalid_request_error');
    }
  });

  it('a failed turn is a 500 turn_failed the SDK does not retry, plain or as an error event in the stream', async () => {
    const { model, project } = await setup();
    const client = new OpenAI({ baseURL: `${stack.gateway.url}/v1`, apiKey: project.adminKey, maxRetries: 2 });
    llm.script({ status: 400, body: { error: { message: 'the model refused' } } }, { status: 400, body: { error: { message: 'the model refused' } } });
    const before = llm.requests.length;
    const plain = (await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hi' }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(plain).toBeInstanceOf(OpenAI.InternalServerError);
    expect(plain.code).toBe('turn_failed');
    expect(plain.headers?.get('x-should-retry')).toBe('false');
    expect(llm.requests.length).toBe(before + 1);
    const stream = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hi' }], stream: true });
    const streamed = await (async () => {
      for await (const _ of stream) {
        // the error event ends it
      }
    })().catch((e: unknown) => e);
    expect(streamed).toBeInstanceOf(OpenAI.APIError);
    expect((streamed as InstanceType<typeof OpenAI.APIError>).code).toBe('turn_failed');
  });

  it("the SDK's retry after a 503 with the same Idempotency-Key attaches to the same turn instead of running it again", async () => {
    // A proxy in front of the gateway that, like a load balancer timing out, lets the first request reach the
    // gateway (which runs the turn) but answers the client 503; later requests pass through.
    let seen = 0;
    const proxy: Server = createServer((req, res) => {
      seen += 1;
      const first = seen === 1;
      const upstream = httpRequest(`${stack.gateway.url}${req.url}`, { method: req.method, headers: req.headers }, (up) => {
        if (!first) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        up.resume();
        up.on('end', () => res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'upstream timed out', type: 'server_error' } })));
      });
      req.pipe(upstream);
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    try {
      const { model, project } = await setup();
      const client = new OpenAI({ baseURL: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/v1`, apiKey: project.adminKey, maxRetries: 2 });
      llm.script({ reply: 'Only once.' });
      const before = llm.requests.length;
      const { data, response } = await client.chat.completions
        .create({ model, messages: [{ role: 'user', content: 'Do it once' }] }, { headers: { 'Idempotency-Key': 'retry-me-1' } })
        .withResponse();
      expect(seen).toBe(2);
      expect(data.choices[0]!.message.content).toBe('Only once.');
      expect(llm.requests.length).toBe(before + 1);
      const conversationId = response.headers.get('x-conversation-id')!;
      const [turns] = await stack.db.sql`select count(*)::int as n from agent_execution_history where conversation_id = ${conversationId}`;
      expect(turns!.n).toBe(1);
      const [convs] = await stack.db.sql`select count(*)::int as n from conversation where metadata -> 'openai' ->> 'idempotencyKey' = 'retry-me-1'`;
      expect(convs!.n).toBe(1);
    } finally {
      proxy.closeAllConnections();
      proxy.close();
    }
  });
});

describe('responses', () => {
  it('creates a response, continues it with previous_response_id, and streams with the SDK helper', async () => {
    const { client, model } = await setup();
    llm.script({ reply: 'Bonjour.' }, { reply: 'Merci.', chunkChars: 2, chunkDelayMs: 10 });
    const first = await client.responses.create({ model, input: 'Say hello in French', instructions: 'Be polite.' });
    expect(first.status).toBe('completed');
    expect(first.output_text).toBe('Bonjour.');
    expect(llm.requests.at(-1)!.messages[0]!.content).toBe('Be brief.\n\nBe polite.');

    const deltas: string[] = [];
    const stream = client.responses.stream({ model, input: 'And thank you?', previous_response_id: first.id });
    stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
    const final = await stream.finalResponse();
    expect(final.status).toBe('completed');
    expect(final.output_text).toBe('Merci.');
    expect(deltas.join('')).toBe('Merci.');
    expect(deltas.length).toBeGreaterThan(1);
    expect(final.previous_response_id).toBe(first.id);
    expect(userMessages(llm.requests.length - 1).slice(1)).toEqual(['user: Say hello in French', 'assistant: Bonjour.', 'user: And thank you?']);
    expect(final.output_text).toBe(await storedAnswer((final.metadata as Record<string, string>).conversation_id!, 2));
  });

  it('runs in the background until retrieved completed, and cancels a running one', async () => {
    const { client, model, project } = await setup();
    let release!: () => void;
    llm.script({ reply: 'Background answer.', holdAfterChunks: 1, release: new Promise<void>((r) => (release = r)) });
    const queued = await client.responses.create({ model, input: 'Work on it', background: true });
    expect(['queued', 'in_progress']).toContain(queued.status);
    release();
    await expect.poll(async () => (await client.responses.retrieve(queued.id)).status, { timeout: 30_000, interval: 200 }).toBe('completed');
    expect((await client.responses.retrieve(queued.id)).output_text).toBe('Background answer.');
    const reader = new OpenAI({ baseURL: `${stack.gateway.url}/v1`, apiKey: await project.key(['conversations:read']), maxRetries: 0 });
    expect((await reader.responses.retrieve(queued.id)).status).toBe('completed');
    expect(await reader.responses.create({ model, input: 'Hi' }).catch((e: unknown) => e)).toBeInstanceOf(OpenAI.PermissionDeniedError);

    llm.script({ reply: 'This never finishes.', holdAfterChunks: 1 });
    const running = await client.responses.create({ model, input: 'Take forever', background: true, previous_response_id: queued.id });
    await expect.poll(async () => (await client.responses.retrieve(running.id)).status, { timeout: 30_000, interval: 200 }).toBe('in_progress');
    const cancelled = await client.responses.cancel(running.id);
    expect(cancelled.status).toBe('cancelled');
    await expect.poll(async () => (await client.responses.retrieve(running.id)).status, { timeout: 30_000, interval: 200 }).toBe('cancelled');

    const other = await setup();
    const hidden = await other.client.responses.retrieve(queued.id).catch((e: unknown) => e);
    expect(hidden).toBeInstanceOf(OpenAI.NotFoundError);
  });
});

describe('idempotency', () => {
  it('refuses an Idempotency-Key reused for another model instead of running the turn on the first model', async () => {
    const { client, model, api } = await setup();
    const other = await api('POST', '/v1/agents', { name: 'Other', goal: 'Something else' });
    llm.script({ reply: 'First.' });
    const headers = { 'Idempotency-Key': 'one-request' };
    const first = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hi' }] }, { headers });
    expect(first.choices[0]!.message.content).toBe('First.');
    const before = llm.requests.length;
    const reused = (await client.chat.completions
      .create({ model: `agent-${other.body.id}`, messages: [{ role: 'user', content: 'Hi' }] }, { headers })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(reused).toBeInstanceOf(OpenAI.UnprocessableEntityError);
    expect(reused.code).toBe('idempotency_key_reused');
    expect(llm.requests.length).toBe(before);
  });
});

describe('gateway shutdown', () => {
  it('answers a waiting request 503 gateway_shutting_down at once instead of holding the shutdown; the turn goes on', async () => {
    const { project, model } = await setup();
    const gateway = await startGateway(stack.config, stack.db, stack.temporal.client);
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: project.adminKey, maxRetries: 0 });
    let release!: () => void;
    llm.script({ reply: 'A slow answer.', holdAfterChunks: 1, release: new Promise<void>((r) => (release = r)) });
    const before = llm.requests.length;
    const waiting = client.chat.completions
      .create({ model, messages: [{ role: 'user', content: 'Take your time' }] }, { headers: { 'Idempotency-Key': 'shutdown-1' } })
      .withResponse()
      .catch((e: unknown) => e);
    await expect.poll(() => llm.requests.length, { timeout: 60_000 }).toBe(before + 1);
    // Closing waits for open connections; before the fix it waited for the turn (here: forever, the model is held).
    await gateway.close();
    const err = (await waiting) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect({ status: err.status, code: err.code }).toEqual({ status: 503, code: 'gateway_shutting_down' });
    // With an Idempotency-Key the SDK may retry on another gateway: the turn went on and answers there.
    expect(err.headers?.get('x-should-retry')).not.toBe('false');
    release();
    const again = await new OpenAI({ baseURL: `${stack.gateway.url}/v1`, apiKey: project.adminKey, maxRetries: 0 }).chat.completions.create(
      { model, messages: [{ role: 'user', content: 'Take your time' }] },
      { headers: { 'Idempotency-Key': 'shutdown-1' } },
    );
    expect(again.choices[0]!.message.content).toBe('A slow answer.');
  });
});

