import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { verifyWebhookSignature } from '../../src/tools/runners/http';
import { createToolDatabase } from '../support/database-guard-fixture';
import { historyText } from '../support/history';
import { apiClient, type ApiCall } from '../support/http';
import { ScriptedLlm } from '../support/scripted-llm';
import { startGateway, startWorker, temporalClient, testConfig, testDb, testProject, workerLogs } from '../support/stack';
import { startMcpServer } from '../support/mcp-server';
import { startBarrierServer, type BarrierServer } from '../support/barrier-server';
import { ToolServer } from '../support/tool-server';

const SECRET = 'whsec-test-signing-secret-123';
const TOKEN = 'tok-super-secret-credential-9f8e7d';
const llm = new ScriptedLlm();
const tools = new ToolServer({
  '/flaky': (n) => (n <= 2 ? { status: 500, body: { error: 'down' } } : { status: 200, body: { temperature: 21 } }),
  '/hang': () => 'hang',
  '/bad': () => ({ status: 400, body: { error: 'unknown city' } }),
  '/limited': (n) => (n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200, body: { ok: true } }),
  '/secure': (_n, req) => (req.headers.authorization === `Bearer ${TOKEN}` ? { status: 200, body: { secret: 'accepted' } } : { status: 401 }),
  '/hook': (n, req) => {
    if (!verifyWebhookSignature(SECRET, req.body, req.headers['x-signature-256'])) return { status: 401 };
    return n === 1 ? { status: 503 } : { status: 200, body: { received: true } };
  },
  '/ok': () => ({ status: 200, body: { ok: true } }),
  // A careless API that echoes the caller's Authorization header in its error body.
  '/leaky': (_n, req) => ({ status: 500, body: { error: 'boom', youSent: req.headers.authorization } }),
});
const outside = new ToolServer({ '/': () => ({ status: 200, body: { leaked: true } }) });
const MCP_TOKEN = 'mcp-token-for-tests';
let mcp: Server;
/** Answers only once three calls are open at the same time. */
let together: BarrierServer;
let stack: Awaited<ReturnType<typeof start>>;

async function start() {
  await Promise.all([llm.start(), tools.start(), outside.start()]);
  mcp = await startMcpServer(MCP_TOKEN);
  together = await startBarrierServer(3);
  const mcpPort = (mcp.address() as AddressInfo).port;
  const config = testConfig({ OPENAI_BASE_URL: llm.baseUrl, TOOL_NETWORK_ALLOWLIST: `127.0.0.1:${tools.port},127.0.0.1:${together.port},127.0.0.1:${mcpPort},127.0.0.1:5432`, TURN_WAIT_MS: '30000' });
  const db = testDb(config);
  const temporal = await temporalClient(config);
  const worker = await startWorker(config, db);
  const gateway = await startGateway(config, db, temporal.client);
  return { config, db, temporal, worker, gateway };
}

beforeAll(async () => {
  stack = await start();
});
afterEach(() => expect(llm.failures).toEqual([]));
afterAll(async () => {
  await stack.gateway.close();
  await stack.worker.stop();
  await stack.temporal.close();
  await stack.db.close();
  await Promise.all([llm.stop(), tools.stop(), outside.stop(), together.close()]);
  mcp.closeAllConnections();
  await new Promise((resolve) => mcp.close(resolve));
});

const citySchema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false };
const fast = { maximumAttempts: 3, initialIntervalMs: 100, backoffCoefficient: 1, maximumIntervalMs: 100 };

async function agentWithTool(tool: Record<string, unknown>, assignment: Record<string, unknown> = {}) {
  const project = await testProject(stack.db);
  const api = apiClient(stack.gateway.url, project.adminKey);
  const created = await api('POST', '/v1/tools', {
    name: 'get_weather', description: 'Weather for a city', category: 'data_source', toolType: 'api', status: 'active',
    inputSchema: citySchema, retryPolicy: fast, timeoutMs: 2000, ...tool,
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const agent = await api('POST', '/v1/agents', { name: 'Weather', goal: 'report weather' });
  expect((await api('POST', `/v1/agents/${agent.body.id}/tools`, { toolId: created.body.id, ...assignment })).status).toBe(201);
  const conv = await api('POST', '/v1/conversations', { agentId: agent.body.id });
  return { api, tool: created.body, agentId: agent.body.id as string, conversationId: conv.body.id as string };
}

async function turnWithToolCall(api: ApiCall, conversationId: string, args: Record<string, unknown>, name = 'get_weather') {
  llm.script({ toolCalls: [{ name, arguments: args }] }, { reply: 'Done.' });
  const res = await api('POST', `/v1/conversations/${conversationId}/messages`, { content: 'Weather in Paris?' });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const toolMessage = llm.requests.at(-1)!.messages.find((m) => m.role === 'tool');
  return { turn: res.body.turn, toolMessage: JSON.parse(toolMessage!.content!) };
}

const executions = async (api: ApiCall, toolId: string) => (await api('GET', `/v1/tools/${toolId}/executions`)).body.items;

describe('tools in the turn (real local servers, real Temporal)', () => {
  it('retries a 500 twice and answers on the third attempt: 3 log rows, one answer', async () => {
    const { api, tool, conversationId } = await agentWithTool({ config: { method: 'GET', url: tools.url('/flaky'), query: { city: '{city}' } } });
    const { turn, toolMessage } = await turnWithToolCall(api, conversationId, { city: 'Paris' });
    expect(toolMessage.body).toEqual({ temperature: 21 });
    expect(turn.toolsUsed).toMatchObject([{ toolName: 'get_weather', status: 'success', inputParams: { city: 'Paris' } }]);
    const logs = await executions(api, tool.id);
    expect(logs.map((l: { attempt: number; status: string }) => [l.attempt, l.status]).sort()).toEqual([[1, 'failure'], [2, 'failure'], [3, 'success']]);
    expect(logs.every((l: { executionType: string }) => l.executionType === 'agent_runtime')).toBe(true);
  });

  it('times out a hanging tool, retries, then tells the model it failed; the turn still answers', async () => {
    const { api, tool, conversationId } = await agentWithTool({ timeoutMs: 300, retryPolicy: { ...fast, maximumAttempts: 2 }, config: { method: 'GET', url: tools.url('/hang') } });
    const { turn, toolMessage } = await turnWithToolCall(api, conversationId, { city: 'Oslo' });
    expect(toolMessage.error).toMatch(/the tool failed/);
    expect(turn).toMatchObject({ status: 'completed', agentResponse: 'Done.', toolsUsed: [{ status: 'failure' }] });
    expect((await executions(api, tool.id)).map((l: { status: string }) => l.status)).toEqual(['timeout', 'timeout']);
  });

  it('does not retry a 400, nor arguments that fail the input schema', async () => {
    const { api, tool, conversationId } = await agentWithTool({ config: { method: 'GET', url: tools.url('/bad') } });
    const first = await turnWithToolCall(api, conversationId, { city: 'Atlantis' });
    expect(first.toolMessage.error).toMatch(/400|unknown city/);
    expect(tools.calls('/bad')).toHaveLength(1);
    const second = await turnWithToolCall(api, conversationId, { town: 'Paris' });
    expect(second.toolMessage.error).toMatch(/invalid arguments/);
    expect(tools.calls('/bad')).toHaveLength(1);
    expect((await executions(api, tool.id)).map((l: { status: string }) => l.status).sort()).toEqual(['error', 'failure']);
  });

  it('waits for Retry-After on a 429', async () => {
    const { api, tool, conversationId } = await agentWithTool({ config: { method: 'GET', url: tools.url('/limited') } });
    await turnWithToolCall(api, conversationId, { city: 'Rome' });
    expect(tools.calls('/limited')).toHaveLength(2);
    const logs = await executions(api, tool.id);
    const [first, second] = [...logs].sort((x: { attempt: number }, y: { attempt: number }) => x.attempt - y.attempt);
    expect(new Date(second.createdAt).getTime() - new Date(first.createdAt).getTime()).toBeGreaterThanOrEqual(900);
  });

  it('signs webhooks and keeps the Idempotency-Key across a retry', async () => {
    const { api, conversationId } = await agentWithTool({
      toolType: 'webhook', name: 'notify', config: { url: tools.url('/hook') }, authMethod: 'bearer', credentials: { type: 'bearer', token: SECRET },
    });
    const { toolMessage } = await turnWithToolCall(api, conversationId, { city: 'Lima' }, 'notify');
    expect(JSON.stringify(toolMessage)).toContain('received');
    const [first, retry] = tools.calls('/hook');
    expect(first!.headers['idempotency-key']).toBeTruthy();
    expect(retry!.headers['idempotency-key']).toBe(first!.headers['idempotency-key']);
  });

  it('refuses addresses outside the allow-list (SSRF), without retrying', async () => {
    for (const url of [outside.url('/'), 'http://169.254.169.254/latest/meta-data', 'http://10.0.0.1/x', 'http://localhost:1/x']) {
      const { api, tool } = await agentWithTool({ config: { method: 'GET', url } });
      const res = await api('POST', `/v1/tools/${tool.id}/test`, { arguments: { city: 'x' } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ ok: false, log: { status: 'error', executionType: 'test' } });
    }
    expect(outside.seen).toHaveLength(0);
  });

  it('enforces the calls-per-hour limit of an assignment and tells the model', async () => {
    const { api, tool, conversationId } = await agentWithTool({ config: { method: 'GET', url: tools.url('/ok') } }, { rateLimit: 1 });
    expect((await turnWithToolCall(api, conversationId, { city: 'A' })).toolMessage.body).toEqual({ ok: true });
    const limited = await turnWithToolCall(api, conversationId, { city: 'B' });
    expect(limited.toolMessage.error).toMatch(/rate limit exceeded/);
    expect((await executions(api, tool.id)).find((l: { errorMessage: string }) => l.errorMessage === 'rate limit exceeded')).toBeTruthy();
  });

  it('holds the rate limit when the model makes several calls at once', async () => {
    const { api, conversationId } = await agentWithTool({ config: { method: 'GET', url: tools.url('/ok') } }, { rateLimit: 1 });
    const calls = ['A', 'B', 'C', 'D'].map((city) => ({ name: 'get_weather', arguments: { city } }));
    llm.script({ toolCalls: calls }, { reply: 'Done.' });
    const res = await api('POST', `/v1/conversations/${conversationId}/messages`, { content: 'four cities' });
    const outcomes = res.body.turn.toolsUsed.map((t: { status: string; error?: string }) => (t.status === 'success' ? 'ok' : t.error));
    expect(outcomes.filter((o: string) => o === 'ok')).toHaveLength(1);
    expect(outcomes.filter((o: string) => /rate limit exceeded/.test(o))).toHaveLength(3);
  });

  it('runs parallel tool calls of one model response concurrently', async () => {
    // The server answers only when all three calls are open at once; calls in series would each wait there
    // until their timeout and fail.
    const { api, conversationId } = await agentWithTool({ timeoutMs: 10_000, retryPolicy: { ...fast, maximumAttempts: 1 }, config: { method: 'GET', url: together.url } });
    llm.script({ toolCalls: [{ name: 'get_weather', arguments: { city: 'A' } }, { name: 'get_weather', arguments: { city: 'B' } }, { name: 'get_weather', arguments: { city: 'C' } }] }, { reply: 'Done.' });
    const res = await api('POST', `/v1/conversations/${conversationId}/messages`, { content: 'three cities' });
    expect(res.body.turn.toolsUsed.map((t: { status: string }) => t.status)).toEqual(['success', 'success', 'success']);
    expect(together.maxOpen()).toBe(3);
  });

  it('keeps credentials out of API responses, logs rows and workflow history', async () => {
    const { api, tool, conversationId } = await agentWithTool({
      config: { method: 'GET', url: tools.url('/secure') }, authMethod: 'bearer', credentials: { type: 'bearer', token: TOKEN },
    });
    expect(tool.hasCredentials).toBe(true);
    const { toolMessage, turn } = await turnWithToolCall(api, conversationId, { city: 'Bern' });
    expect(toolMessage.body).toEqual({ secret: 'accepted' });
    const everything = JSON.stringify([tool, (await api('GET', `/v1/tools/${tool.id}`)).body, await executions(api, tool.id), turn]);
    expect(everything).not.toContain(TOKEN);
    const history = await historyText(stack.temporal.client, turn.workflowId);
    expect(history).toContain('Weather in Paris?'); // the payloads really are searched: the user's words are in them
    expect(history).toContain('accepted'); // and so is the tool's answer
    expect(history).not.toContain(TOKEN);
    expect(history).not.toContain(Buffer.from(TOKEN).toString('base64'));
  });

  it('keeps a credential out of errors, log rows, worker logs and history even when the API echoes it', async () => {
    const { api, tool, conversationId } = await agentWithTool({
      config: { method: 'GET', url: tools.url('/leaky') }, authMethod: 'bearer', credentials: { type: 'bearer', token: TOKEN },
      retryPolicy: { ...fast, maximumAttempts: 2 },
    });
    const { toolMessage, turn } = await turnWithToolCall(api, conversationId, { city: 'Bern' });
    expect(toolMessage.error).toMatch(/500/);
    expect(tools.calls('/leaky')[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`); // it really was sent
    const logRows = await executions(api, tool.id);
    expect(logRows).toHaveLength(2);
    expect(logRows[0].errorMessage).toContain('[redacted]'); // the echo reached us, and was blanked
    const history = await historyText(stack.temporal.client, turn.workflowId);
    expect(history).toContain('[redacted]'); // a failure message: plain text in the proto, found by any search
    expect(history).toContain('Weather in Paris?'); // in a payload: found only because payloads are decoded
    const everything = JSON.stringify([toolMessage, turn, logRows, history, workerLogs]);
    expect(workerLogs.length).toBeGreaterThan(0);
    expect(everything).not.toContain(TOKEN);
  });

  it('stops a runaway tool loop at the agent step limit', async () => {
    const { api, conversationId, agentId } = await agentWithTool({ config: { method: 'GET', url: tools.url('/ok') } });
    await api('PUT', `/v1/agents/${agentId}/config/max_steps`, { value: 2 });
    llm.script({ toolCalls: [{ name: 'get_weather', arguments: { city: 'A' } }] }, { reply: 'Forced to answer.' });
    const res = await api('POST', `/v1/conversations/${conversationId}/messages`, { content: 'loop' });
    expect(res.body.turn.agentResponse).toBe('Forced to answer.');
    expect(llm.requests.at(-1)!.tools).toBeUndefined();
  });

  it('stops the tool loop once the agent response time budget is spent, and makes the model answer', async () => {
    const { api, conversationId, agentId } = await agentWithTool({ config: { method: 'GET', url: tools.url('/ok') } });
    await api('PUT', `/v1/agents/${agentId}/config/response_time_budget_ms`, { value: 500 });
    llm.script({ toolCalls: [{ name: 'get_weather', arguments: { city: 'A' } }], delayMs: 700 }, { reply: 'Answering within budget.' });
    const res = await api('POST', `/v1/conversations/${conversationId}/messages`, { content: 'slow model' });
    expect(res.body.turn).toMatchObject({ agentResponse: 'Answering within budget.', toolsUsed: [{ status: 'success' }] });
    expect(llm.requests.at(-2)!.tools).toBeDefined();
    expect(llm.requests.at(-1)!.tools).toBeUndefined();
  });

  it('exposes the tools of an MCP server through one registered MCP tool', async () => {
    const url = `http://127.0.0.1:${(mcp.address() as AddressInfo).port}/mcp`;
    const { api, conversationId } = await agentWithTool({
      toolType: 'mcp', name: 'calc', category: 'integration', inputSchema: { type: 'object' }, config: { url },
      authMethod: 'bearer', credentials: { type: 'bearer', token: MCP_TOKEN },
    });
    const { toolMessage, turn } = await turnWithToolCall(api, conversationId, { a: 2, b: 3 }, 'calc__add');
    const offered = llm.requests.at(-2)!.tools!.map((t) => t.function.name);
    expect(offered).toEqual(expect.arrayContaining(['calc__add', 'calc__fail', 'calc__slow']));
    expect(toolMessage).toMatchObject({ structuredContent: { sum: 5 } });
    expect(turn.toolsUsed).toMatchObject([{ toolName: 'calc__add', status: 'success' }]);

    // The MCP tool is an integration connection with an event log.
    const [integration] = (await api('GET', '/v1/integrations')).body.items;
    expect(integration).toMatchObject({ kind: 'mcp', name: 'calc', status: 'connected', config: { url }, hasCredentials: false });
    const events = (await api('GET', `/v1/integrations/${integration.id}/events`)).body.items;
    expect(events.map((e: { eventType: string }) => e.eventType)).toEqual(['tool_used', 'connected']);
    expect(events[0]).toMatchObject({ toolName: 'calc', toolParameters: { a: 2, b: 3, __tool: 'add' } });
    expect(JSON.stringify(events)).not.toContain(MCP_TOKEN);
    const tools = (await api('GET', '/v1/tools')).body.items;
    await api('DELETE', `/v1/tools/${tools[0].id}`);
    expect((await api('GET', `/v1/integrations/${integration.id}`)).body.status).toBe('disconnected');
    expect((await api('GET', `/v1/integrations/${integration.id}/events?eventType=disconnected`)).body.items).toHaveLength(1);
  });

  it('runs JavaScript tools in a sandbox: results come back, endless loops and fs/process access are contained', async () => {
    // Each call starts a sandbox process; under a loaded CI machine that alone can take most of a second.
    const js = (code: string) => agentWithTool({
      toolType: 'javascript', name: 'calc', category: 'processor', timeoutMs: 5000, retryPolicy: { ...fast, maximumAttempts: 1 },
      inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } } }, config: { code },
    });
    const sum = await js('return { sum: args.a + args.b };');
    expect((await turnWithToolCall(sum.api, sum.conversationId, { a: 2, b: 40 }, 'calc')).toolMessage).toEqual({ sum: 42 });
    const loop = await js('while (true) {}');
    expect((await turnWithToolCall(loop.api, loop.conversationId, {}, 'calc')).toolMessage.error).toMatch(/the tool failed/);
    const escape = await js("require('fs').readFileSync('/etc/passwd'); return process.env;");
    expect((await turnWithToolCall(escape.api, escape.conversationId, {}, 'calc')).toolMessage.error).toMatch(/require is not defined/);
  });

  it('runs database tools read-only with bound arguments and refuses writes', async () => {
    // Tools read a second database with a read-only role; the product's own database is refused.
    const target = await createToolDatabase(stack.config.DATABASE_URL);
    onTestFinished(() => target.drop());
    const sqlTool = (query: string, params: string[] = [], url = target.readerUrl) => agentWithTool({
      toolType: 'database', name: 'lookup', category: 'data_source', authMethod: 'connection_string',
      credentials: { type: 'connection_string', url }, retryPolicy: { ...fast, maximumAttempts: 1 },
      inputSchema: { type: 'object', properties: { name: { type: 'string' } } }, config: { query, params },
    });
    const own = await sqlTool('select count(*) from tool', [], stack.config.DATABASE_URL);
    expect((await turnWithToolCall(own.api, own.conversationId, {}, 'lookup')).toolMessage.error).toMatch(/the tool failed/);
    const read = await sqlTool('select $1::text as echoed, 1 + 1 as two', ['name']);
    const { toolMessage } = await turnWithToolCall(read.api, read.conversationId, { name: "x'; drop table tool; --" }, 'lookup');
    expect(toolMessage.rows).toEqual([{ echoed: "x'; drop table tool; --", two: 2 }]);
    const write = await sqlTool('delete from tool');
    expect((await turnWithToolCall(write.api, write.conversationId, {}, 'lookup')).toolMessage.error).toMatch(/the tool failed/);
    const [{ n }] = (await stack.db.sql`select count(*)::int as n from tool`) as unknown as [{ n: number }];
    expect(n).toBeGreaterThan(0);
  });

  it('keeps artifacts from tools marked as such and from code blocks in the answer', async () => {
    const { api, conversationId } = await agentWithTool({ config: { method: 'GET', url: tools.url('/ok'), artifact: 'sheet' } });
    llm.script({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] }, { reply: 'Here:\n```python\nprint("hi")\n```\nDone.' });
    const res = await api('POST', `/v1/conversations/${conversationId}/messages`, { content: 'table and code please' });
    const artifacts = (await api('GET', `/v1/conversations/${conversationId}/artifacts`)).body.items
      .sort((a: { type: string }, b: { type: string }) => b.type.localeCompare(a.type)); // one insert: same timestamp
    expect(artifacts).toMatchObject([
      { type: 'sheet', title: 'get_weather result', messageId: res.body.message.id },
      { type: 'code', title: 'python snippet', content: 'print("hi")', metadata: { language: 'python' } },
    ]);
    expect(JSON.parse(artifacts[0].content)).toMatchObject({ body: { ok: true } });
  });
});
