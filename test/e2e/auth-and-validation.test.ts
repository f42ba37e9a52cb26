import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../support/http';
import { startGateway, temporalClient, testConfig, testDb, testProject } from '../support/stack';

let stack: {
  db: ReturnType<typeof testDb>;
  temporal: Awaited<ReturnType<typeof temporalClient>>;
  gateway: Awaited<ReturnType<typeof startGateway>>;
};

beforeAll(async () => {
  const config = testConfig();
  const db = testDb(config);
  const temporal = await temporalClient(config);
  stack = { db, temporal, gateway: await startGateway(config, db, temporal.client) };
});
afterAll(async () => {
  await stack.gateway.close();
  await stack.temporal.close();
  await stack.db.close();
});

async function world() {
  const mine = await testProject(stack.db, 'mine');
  const theirs = await testProject(stack.db, 'theirs');
  const admin = apiClient(stack.gateway.url, mine.adminKey);
  const agent = (await admin('POST', '/v1/agents', { name: 'A', goal: 'g' })).body;
  const conv = (await admin('POST', '/v1/conversations', { agentId: agent.id })).body;
  const theirAdmin = apiClient(stack.gateway.url, theirs.adminKey);
  const theirAgent = (await theirAdmin('POST', '/v1/agents', { name: 'B', goal: 'g' })).body;
  const theirConv = (await theirAdmin('POST', '/v1/conversations', { agentId: theirAgent.id })).body;
  const toolBody = { name: 't', category: 'action', toolType: 'api', inputSchema: { type: 'object' }, config: {} };
  const tool = (await admin('POST', '/v1/tools', toolBody)).body;
  const theirTool = (await theirAdmin('POST', '/v1/tools', toolBody)).body;
  await theirAdmin('POST', `/v1/agents/${theirAgent.id}/tools`, { toolId: theirTool.id });
  return { mine, admin, agent, conv, tool, theirAgent, theirConv, theirTool };
}

describe('authentication and authorisation', () => {
  it('answers 401 for no key, a malformed key, an unknown, a revoked and an expired key, with no data', async () => {
    const { mine, admin, agent } = await world();
    const path = `/v1/agents/${agent.id}`;
    const revoked = await mine.key(['agents:read']);
    const created = (await admin('GET', '/v1/api-keys')).body.items.find((k: { prefix: string }) => revoked.startsWith(k.prefix));
    expect((await admin('DELETE', `/v1/api-keys/${created.id}`)).body).toMatchObject({ isActive: false });
    const expired = await mine.key(['agents:read'], new Date(Date.now() - 1000));

    const cases: Array<[string | undefined, RegExp]> = [
      [undefined, /API key is required/],
      ['not-a-key', /not valid/],
      ['sao_' + 'x'.repeat(40), /not valid/],
      [revoked, /revoked/],
      [expired, /expired/],
    ];
    for (const [key, message] of cases) {
      const res = await apiClient(stack.gateway.url, key)('GET', path);
      expect(res.status, String(key)).toBe(401);
      expect(res.body).toEqual({ error: { code: 'unauthorized', message: expect.stringMatching(message) } });
    }
    expect((await apiClient(stack.gateway.url, await mine.key(['agents:read']))('GET', path)).status).toBe(200);
  });

  it('answers 403 when the key lacks the permission, and writes nothing', async () => {
    const { mine, conv } = await world();
    const readOnly = apiClient(stack.gateway.url, await mine.key(['agents:read', 'conversations:read']));
    const write = await readOnly('POST', '/v1/agents', { name: 'nope', goal: 'g' });
    expect(write.status).toBe(403);
    expect(write.body.error).toEqual({ code: 'forbidden', message: 'this API key lacks the "agents:write" permission' });
    expect((await readOnly('POST', `/v1/conversations/${conv.id}/messages`, { content: 'hi' })).status).toBe(403);
    expect((await readOnly('GET', '/v1/api-keys')).status).toBe(403);
    const names = (await readOnly('GET', '/v1/agents')).body.items.map((a: { name: string }) => a.name);
    expect(names).not.toContain('nope');
  });

  it("answers 404 for another project's ids on every route, and never shows their data", async () => {
    const { admin, agent, theirAgent, theirConv, theirTool } = await world();
    const probes: Array<[string, string, unknown?]> = [
      ['GET', `/v1/agents/${theirAgent.id}`],
      ['PATCH', `/v1/agents/${theirAgent.id}`, { name: 'stolen' }],
      ['DELETE', `/v1/agents/${theirAgent.id}`],
      ['POST', `/v1/agents/${theirAgent.id}/clone`, {}],
      ['GET', `/v1/agents/${theirAgent.id}/config`],
      ['PUT', `/v1/agents/${theirAgent.id}/config/temperature`, { value: 1 }],
      ['POST', '/v1/conversations', { agentId: theirAgent.id }],
      ['GET', `/v1/conversations/${theirConv.id}`],
      ['POST', `/v1/conversations/${theirConv.id}/end`],
      ['POST', `/v1/conversations/${theirConv.id}/messages`, { content: 'hi' }],
      ['GET', `/v1/conversations/${theirConv.id}/messages`],
      ['GET', `/v1/conversations/${theirConv.id}/turns/1`],
      ['GET', `/v1/tools/${theirTool.id}`],
      ['PATCH', `/v1/tools/${theirTool.id}`, { description: 'stolen' }],
      ['DELETE', `/v1/tools/${theirTool.id}`],
      ['POST', `/v1/tools/${theirTool.id}/test`, { arguments: {} }],
      ['GET', `/v1/tools/${theirTool.id}/executions`],
      ['POST', `/v1/agents/${agent.id}/tools`, { toolId: theirTool.id }],
      ['GET', `/v1/agents/${theirAgent.id}/tools`],
      ['PATCH', `/v1/agents/${theirAgent.id}/tools/${theirTool.id}`, { rateLimit: 5 }],
      ['DELETE', `/v1/agents/${theirAgent.id}/tools/${theirTool.id}`],
    ];
    for (const [method, path, body] of probes) {
      const res = await admin(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(JSON.stringify(res.body)).not.toContain(theirAgent.name === 'B' ? '"name":"B"' : theirAgent.name);
    }
    const list = await admin('GET', '/v1/conversations');
    expect(list.body.items.map((c: { id: string }) => c.id)).not.toContain(theirConv.id);
  });
});

describe('bad input', () => {
  const tables = ['smart_agent', 'agent_config', 'conversation', 'message', 'agent_execution_history', 'api_key', 'turn_request', 'tool', 'agent_tool_assignment', 'tool_execution_log'];
  const counts = async () => {
    const out: Record<string, number> = {};
    for (const t of tables) out[t] = Number((await stack.db.db.execute(sql.raw(`select count(*)::int as n from ${t}`)))[0]!.n);
    return out;
  };

  it('answers 400 naming the field on every route, and writes nothing', async () => {
    const { admin, agent, conv, tool } = await world();
    const toolBody = { name: 'ok_name', category: 'action', toolType: 'api', inputSchema: { type: 'object' } };
    const cases: Array<[string, string, unknown, string]> = [
      ['POST', '/v1/agents', {}, 'body.name'],
      ['POST', '/v1/agents', { name: 'x', goal: 'g', temperature: 7 }, 'body.temperature'],
      ['POST', '/v1/agents', { name: 'x', goal: 'g', colour: 'red' }, 'colour'],
      ['POST', '/v1/agents', '{"name": ', 'JSON'],
      ['GET', '/v1/agents?limit=0', undefined, 'query.limit'],
      ['GET', '/v1/agents?cursor=garbage', undefined, 'query.cursor'],
      ['GET', '/v1/agents/not-a-uuid', undefined, 'params.id'],
      ['PATCH', `/v1/agents/${agent.id}`, {}, 'at least one field'],
      ['PATCH', `/v1/agents/${agent.id}`, { status: 'archived' }, 'body.status'],
      ['POST', `/v1/agents/${agent.id}/clone`, { name: '' }, 'body.name'],
      ['PUT', `/v1/agents/${agent.id}/config/bogus_key`, { value: 1 }, 'params.key'],
      ['PUT', `/v1/agents/${agent.id}/config/temperature`, { value: 'hot' }, 'body.value'],
      ['PUT', `/v1/agents/${agent.id}/config/double_texting`, {}, 'body.value'],
      ['POST', '/v1/conversations', { agentId: 'nope' }, 'body.agentId'],
      ['GET', '/v1/conversations?agentId=123', undefined, 'query.agentId'],
      ['GET', '/v1/conversations/123', undefined, 'params.id'],
      ['POST', '/v1/conversations/123/end', undefined, 'params.id'],
      ['POST', `/v1/conversations/${conv.id}/messages`, {}, 'body.content'],
      ['POST', `/v1/conversations/${conv.id}/messages`, { content: '   ' }, 'body.content'],
      ['POST', `/v1/conversations/${conv.id}/messages`, { content: 'x'.repeat(40_000) }, 'body.content'],
      ['GET', `/v1/conversations/${conv.id}/messages?limit=500`, undefined, 'query.limit'],
      ['GET', `/v1/conversations/${conv.id}/turns/0`, undefined, 'params.index'],
      ['POST', `/v1/conversations/${conv.id}/turns/1/feedback`, { satisfaction: 9 }, 'body.satisfaction'],
      ['POST', '/v1/api-keys', { name: 'k', permissions: ['root'] }, 'body.permissions'],
      ['POST', '/v1/api-keys', { name: 'k', permissions: ['admin'], expiresAt: '2000-01-01T00:00:00Z' }, 'body.expiresAt'],
      ['DELETE', '/v1/api-keys/xyz', undefined, 'params.id'],
      ['POST', '/v1/tools', { ...toolBody, name: 'has spaces' }, 'body.name'],
      ['POST', '/v1/tools', { ...toolBody, toolType: 'shell' }, 'body.toolType'],
      ['POST', '/v1/tools', { ...toolBody, category: 'misc' }, 'body.category'],
      ['POST', '/v1/tools', { ...toolBody, inputSchema: { type: 'object', properties: { a: { type: 'strnig' } } } }, 'body.inputSchema'],
      ['POST', '/v1/tools', { ...toolBody, credentials: { type: 'bearer' } }, 'body.credentials'],
      ['POST', '/v1/tools', { ...toolBody, timeoutMs: 5 }, 'body.timeoutMs'],
      ['GET', '/v1/tools?toolType=shell', undefined, 'query.toolType'],
      ['PATCH', `/v1/tools/${tool.id}`, {}, 'at least one field'],
      ['POST', `/v1/tools/${tool.id}/test`, {}, 'body.arguments'],
      ['GET', '/v1/tools/nope/executions', undefined, 'params.id'],
      ['POST', `/v1/agents/${agent.id}/tools`, { toolId: 'x' }, 'body.toolId'],
      ['POST', `/v1/agents/${agent.id}/tools`, { toolId: tool.id, rateLimit: 0 }, 'body.rateLimit'],
      ['PATCH', `/v1/agents/${agent.id}/tools/${tool.id}`, { accessLevel: 'root' }, 'body.accessLevel'],
    ];
    const before = await counts();
    for (const [method, path, body, field] of cases) {
      const res = await admin(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(400);
      expect(res.body.error.code).toMatch(/validation_failed|invalid_json/);
      expect(res.body.error.message, `${method} ${path}`).toContain(field);
    }
    expect(await counts()).toEqual(before);
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await apiClient(stack.gateway.url)('GET', '/nope');
    expect(res).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
  });
});

describe('service endpoints', () => {
  it('serves health, readiness and an OpenAPI 3.1 document generated from the schemas', async () => {
    const anon = apiClient(stack.gateway.url);
    expect((await anon('GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await anon('GET', '/readyz')).body).toEqual({ status: 'ready', checks: { postgres: 'ok', temporal: 'ok' } });
    const doc = (await anon('GET', '/openapi.json')).body;
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/agents', '/v1/agents/{id}', '/v1/conversations/{id}/messages', '/v1/conversations/{id}/turns/{index}', '/v1/api-keys']),
    );
    expect(doc.components.schemas.CreateAgent.required).toEqual(expect.arrayContaining(['name', 'goal']));
  });

  it('echoes a caller-supplied request id and makes one up otherwise', async () => {
    const given = await fetch(`${stack.gateway.url}/healthz`, { headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers.get('x-request-id')).toBe('abc-123');
    const made = await fetch(`${stack.gateway.url}/healthz`);
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
