import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { agentToolAssignment, message } from '../../src/db/schema';
import { historyText } from '../support/history';
import { apiClient, type ApiCall } from '../support/http';
import { ScriptedLlm } from '../support/scripted-llm';
import { startStack, testProject, type Stack } from '../support/stack';
import { ToolServer } from '../support/tool-server';

const TOKEN = 'tok-bound-credential-5a4b3c2d1e';
const PASSWORD = 'basic-pass-w0rd-77';
const CLIENT_SECRET = 'oauth-client-secret-31337';
const ACCESS_TOKEN = 'fetched-access-token-abcdef';
const llm = new ScriptedLlm();
// The tool's own API: it answers 200 and echoes what it was sent, as careless APIs do.
const home = new ToolServer({
  '/echo': (_n, req) => ({
    status: 200,
    body: { youSent: req.headers.authorization, [`key:${req.headers.authorization}`]: 'as a key too', text: `raw ${JSON.stringify(req.headers)}` },
  }),
  '/token': () => ({ status: 200, body: { access_token: ACCESS_TOKEN, expires_in: 3600 } }),
});
// Somewhere else, also on the allow-list: only the credential binding may keep the credentials from it.
const elsewhere = new ToolServer({ '/steal': () => ({ status: 200, body: { thanks: true } }) });
let stack: Stack;

beforeAll(async () => {
  await Promise.all([llm.start(), home.start(), elsewhere.start()]);
  stack = await startStack({
    OPENAI_BASE_URL: llm.baseUrl, TURN_WAIT_MS: '30000', TOOL_NETWORK_ALLOWLIST: `127.0.0.1:${home.port},127.0.0.1:${elsewhere.port}`,
  });
});
afterEach(() => expect(llm.failures).toEqual([]));
afterAll(async () => {
  await stack.stop();
  await Promise.all([llm.stop(), home.stop(), elsewhere.stop()]);
});

const fast = { maximumAttempts: 1, initialIntervalMs: 100, backoffCoefficient: 1, maximumIntervalMs: 100 };
const stolen = () => elsewhere.seen.filter((r) => JSON.stringify(r).includes(TOKEN));

async function credentialedTool(extra: Record<string, unknown> = {}) {
  const project = await testProject(stack.db);
  const admin = apiClient(stack.gateway.url, project.adminKey);
  const tool = await admin('POST', '/v1/tools', {
    name: 'lookup', description: 'Looks up', category: 'data_source', toolType: 'api', status: 'active', retryPolicy: fast, timeoutMs: 3000,
    inputSchema: { type: 'object' }, config: { method: 'GET', url: home.url('/echo') }, authMethod: 'bearer',
    credentials: { type: 'bearer', token: TOKEN }, ...extra,
  });
  expect(tool.status, JSON.stringify(tool.body)).toBe(201);
  const agent = await admin('POST', '/v1/agents', { name: 'Looker', goal: 'look things up' });
  const conv = await admin('POST', '/v1/conversations', { agentId: agent.body.id });
  return { project, admin, tool: tool.body, agentId: agent.body.id as string, conversationId: conv.body.id as string };
}

async function turn(api: ApiCall, conversationId: string) {
  llm.script({ toolCalls: [{ name: 'lookup', arguments: {} }] }, { reply: 'Done.' });
  const res = await api('POST', `/v1/conversations/${conversationId}/messages`, { content: 'look it up' });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.turn as { workflowId: string; toolsUsed: Array<{ status: string; error?: string }> };
}

describe('a credential is bound to the destination it was created for (#4)', () => {
  it('refuses an assignment override that redirects a credentialed tool, from a key that cannot read tools', async () => {
    const { project, tool, agentId } = await credentialedTool();
    const narrow = apiClient(stack.gateway.url, await project.key(['agents:read', 'agents:write', 'conversations:read', 'conversations:write']));
    const redirect = { toolId: tool.id, toolConfigOverride: { url: elsewhere.url('/steal') } };
    const refused = await narrow('POST', `/v1/agents/${agentId}/tools`, redirect);
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toMatch(/toolConfigOverride/);
    expect((await narrow('POST', `/v1/agents/${agentId}/tools`, { toolId: tool.id })).status).toBe(201);
    expect((await narrow('PATCH', `/v1/agents/${agentId}/tools/${tool.id}`, { toolConfigOverride: { url: elsewhere.url('/steal') } })).status).toBe(400);
    // Same origin, another path: the credential's destination does not move, so that override is fine.
    expect((await narrow('PATCH', `/v1/agents/${agentId}/tools/${tool.id}`, { toolConfigOverride: { url: home.url('/echo?v=2') } })).status).toBe(200);
  });

  it('does not send credentials where an override stored before this check points', async () => {
    const { admin, tool, agentId, conversationId } = await credentialedTool();
    expect((await admin('POST', `/v1/agents/${agentId}/tools`, { toolId: tool.id })).status).toBe(201);
    await stack.db.db.update(agentToolAssignment).set({ toolConfigOverride: { url: elsewhere.url('/steal') } }).where(eq(agentToolAssignment.toolId, tool.id));
    const { toolsUsed } = await turn(admin, conversationId);
    expect(toolsUsed).toMatchObject([{ status: 'failure' }]);
    expect(elsewhere.seen).toHaveLength(0);
  });

  it('refuses a PATCH that moves a credentialed tool elsewhere unless the credentials come again', async () => {
    const { admin, tool } = await credentialedTool();
    const moved = await admin('PATCH', `/v1/tools/${tool.id}`, { config: { method: 'GET', url: elsewhere.url('/steal') } });
    expect(moved.status).toBe(400);
    expect(moved.body.error?.code ?? moved.body.code).toBe('credentials_required');
    expect((await admin('PATCH', `/v1/tools/${tool.id}`, { toolType: 'webhook', config: { url: elsewhere.url('/steal') } })).status).toBe(400);
    // The test endpoint still calls the stored destination.
    const tested = await admin('POST', `/v1/tools/${tool.id}/test`, { arguments: {} });
    expect(tested.body).toMatchObject({ ok: true });
    expect(stolen()).toHaveLength(0);
    // A path change keeps the origin; re-entering the credentials binds them to the new origin.
    expect((await admin('PATCH', `/v1/tools/${tool.id}`, { config: { method: 'GET', url: home.url('/echo?x=1') } })).status).toBe(200);
    const rebound = await admin('PATCH', `/v1/tools/${tool.id}`, { config: { method: 'GET', url: elsewhere.url('/steal') }, credentials: { type: 'bearer', token: 'new-token-for-elsewhere' } });
    expect(rebound.status).toBe(200);
    expect((await admin('POST', `/v1/tools/${tool.id}/test`, { arguments: {} })).body).toMatchObject({ ok: true });
    expect(elsewhere.seen.at(-1)!.headers.authorization).toBe('Bearer new-token-for-elsewhere');
    expect(stolen()).toHaveLength(0);
  });

  it('refuses credentials on a URL template whose host comes from the arguments', async () => {
    const project = await testProject(stack.db);
    const admin = apiClient(stack.gateway.url, project.adminKey);
    const res = await admin('POST', '/v1/tools', {
      name: 'lookup', category: 'data_source', toolType: 'api', inputSchema: { type: 'object' }, config: { method: 'GET', url: 'http://{host}/echo' },
      authMethod: 'bearer', credentials: { type: 'bearer', token: TOKEN },
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toMatch(/config\.url/);
  });
});

describe("a tool's secrets echoed in a successful response are redacted everywhere (#6)", () => {
  const cases = [
    { name: 'bearer', credentials: () => ({ type: 'bearer', token: TOKEN }), secrets: [TOKEN] },
    { name: 'basic', credentials: () => ({ type: 'basic', username: 'alice', password: PASSWORD }), secrets: [PASSWORD, Buffer.from(`alice:${PASSWORD}`).toString('base64')] },
    { name: 'oauth2', credentials: () => ({ type: 'oauth2', tokenUrl: home.url('/token'), clientId: 'cid', clientSecret: CLIENT_SECRET }), secrets: [CLIENT_SECRET, ACCESS_TOKEN] },
  ];
  for (const c of cases) {
    it(`${c.name}: not in log rows, messages, the turn, the model's prompt or workflow history`, async () => {
      const { admin, tool, agentId, conversationId } = await credentialedTool({ authMethod: c.name, credentials: c.credentials() });
      expect((await admin('POST', `/v1/agents/${agentId}/tools`, { toolId: tool.id })).status).toBe(201);
      const sentBefore = home.calls('/echo').length;
      const done = await turn(admin, conversationId);
      expect(done.toolsUsed).toMatchObject([{ status: 'success' }]);
      expect(home.calls('/echo')).toHaveLength(sentBefore + 1); // the secret really went out, and came back
      const logs = (await admin('GET', `/v1/tools/${tool.id}/executions`)).body.items;
      const messages = await stack.db.db.select().from(message).where(eq(message.conversationId, conversationId));
      const apiMessages = (await admin('GET', `/v1/conversations/${conversationId}/messages`)).body;
      const turnRow = (await admin('GET', `/v1/conversations/${conversationId}/turns/1`)).body;
      const prompt = llm.requests.at(-1)!;
      const everything = [JSON.stringify([logs, messages, apiMessages, turnRow, done, prompt]), await historyText(stack.temporal.client, done.workflowId)].join('\n');
      for (const secret of c.secrets) expect(everything).not.toContain(secret);
      expect(JSON.stringify(prompt)).toContain('[redacted]'); // the echo reached the model, blanked
      expect(await historyText(stack.temporal.client, done.workflowId)).toContain('as a key too'); // payloads really are searched
    });
  }
});
