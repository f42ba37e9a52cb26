import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordHistory } from '../support/histories';
import { apiClient } from '../support/http';
import { startStack, testProject, type Stack } from '../support/stack';
import { ToolServer } from '../support/tool-server';
import { defaultToolRetry } from '../../src/tools/turn-tools';

const server = new ToolServer({
  '/echo': (_n, req) => ({ status: 200, body: { got: req.path, auth: req.headers['x-api-key'] === 'k-123' } }),
  '/token': () => ({ status: 200, body: { access_token: 'at-1', token_type: 'Bearer', expires_in: 3600 } }),
  '/orders': (_n, req) => (req.headers.authorization === 'Bearer at-1' ? { status: 200, body: { orders: 3 } } : { status: 401 }),
});
let stack: Stack;

beforeAll(async () => {
  await server.start();
  stack = await startStack({ TOOL_NETWORK_ALLOWLIST: `127.0.0.1:${server.port}` });
});
afterAll(async () => {
  await stack.stop();
  await server.stop();
});

const weather = {
  name: 'get_weather', description: 'Weather for a city', category: 'data_source', toolType: 'api', status: 'active',
  inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('tool registry API', () => {
  it('creates, versions, lists and archives tools; says whether the model can call them', async () => {
    const api = apiClient(stack.gateway.url, (await testProject(stack.db)).adminKey);
    const created = await api('POST', '/v1/tools', weather);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ version: 1, aiSdkFormatValid: true, hasCredentials: false, status: 'active' });

    const changed = await api('PATCH', `/v1/tools/${created.body.id}`, { inputSchema: { type: 'array' } });
    expect(changed.body).toMatchObject({ version: 2, aiSdkFormatValid: false });
    const noDescription = await api('POST', '/v1/tools', { ...weather, name: 'undescribed', description: undefined });
    expect(noDescription.body.aiSdkFormatValid).toBe(false);

    expect((await api('GET', '/v1/tools?status=active')).body.items).toHaveLength(2);
    expect((await api('DELETE', `/v1/tools/${created.body.id}`)).body.archivedAt).not.toBeNull();
    expect((await api('GET', '/v1/tools')).body.items.map((t: { name: string }) => t.name)).toEqual(['undescribed']);
    expect((await api('GET', `/v1/tools/${created.body.id}`)).status).toBe(404);
  });

  it('shows the retry policy the calls run with: the defaults for what the tool leaves out', async () => {
    const api = apiClient(stack.gateway.url, (await testProject(stack.db)).adminKey);
    const plain = await api('POST', '/v1/tools', { ...weather, name: 'plain' });
    expect(plain.body.retryPolicy).toEqual(defaultToolRetry);
    const quick = await api('POST', '/v1/tools', { ...weather, name: 'quick', retryPolicy: { initialIntervalMs: 300 } });
    expect(quick.body.retryPolicy).toEqual({ ...defaultToolRetry, initialIntervalMs: 300 });
    expect((await api('GET', `/v1/tools/${plain.body.id}`)).body.retryPolicy).toEqual(defaultToolRetry);
    expect((await api('GET', '/v1/tools')).body.items.map((t: { retryPolicy: unknown }) => t.retryPolicy)).toContainEqual(defaultToolRetry);
    // Only what the tool set is stored: a later change of the defaults applies to tools that set nothing.
    const [row] = await stack.db.sql`select retry_policy from tool where id = ${plain.body.id}`;
    expect(row!.retry_policy).toEqual({});
  });

  it('stores credentials sealed and never returns them; clears them with null', async () => {
    const project = await testProject(stack.db);
    const api = apiClient(stack.gateway.url, project.adminKey);
    const created = await api('POST', '/v1/tools', { ...weather, authMethod: 'api_key', credentials: { type: 'api_key', value: 'k-123' } });
    expect(created.body.hasCredentials).toBe(true);
    expect(JSON.stringify(created.body)).not.toContain('k-123');
    const [row] = await stack.db.sql`select credentials_encrypted, credentials_key_id from tool where id = ${created.body.id}`;
    expect(row!.credentials_key_id).toBe('test');
    expect(row!.credentials_encrypted).not.toContain('k-123');
    const cleared = await api('PATCH', `/v1/tools/${created.body.id}`, { credentials: null });
    expect(cleared.body.hasCredentials).toBe(false);
  });

  it('tests a tool once through the activity (execution type test) and lists its executions', async () => {
    const api = apiClient(stack.gateway.url, (await testProject(stack.db)).adminKey);
    const tool = (await api('POST', '/v1/tools', {
      ...weather, authMethod: 'api_key', credentials: { type: 'api_key', value: 'k-123' },
      config: { method: 'GET', url: server.url('/echo'), query: { city: '{city}' } },
    })).body;
    const run = await api('POST', `/v1/tools/${tool.id}/test`, { arguments: { city: 'Paris' } });
    expect(run.body).toMatchObject({ ok: true, output: { status: 200, body: { got: '/echo', auth: true } } });
    expect(run.body.log).toMatchObject({ status: 'success', executionType: 'test', attempt: 1, inputParams: { city: 'Paris' } });
    const bad = await api('POST', `/v1/tools/${tool.id}/test`, { arguments: {} });
    expect(bad.body).toMatchObject({ ok: false, log: { status: 'error' } });
    expect(bad.body.error).toMatch(/city/);
    const logs = (await api('GET', `/v1/tools/${tool.id}/executions?limit=1`)).body;
    expect(logs.items).toHaveLength(1);
    expect(logs.nextCursor).not.toBeNull();
    const runs = await stack.db.sql<Array<{ workflow_id: string }>>`select workflow_id from tool_execution_log where tool_id = ${tool.id} order by created_at`;
    recordHistory(stack.config.TEMPORAL_ADDRESS, 'tool-test-ok', runs[0]!.workflow_id, { closed: true });
    recordHistory(stack.config.TEMPORAL_ADDRESS, 'tool-test-failed', runs[1]!.workflow_id, { closed: true });
  });

  it('assigns tools to agents once, with overrides and a rate limit', async () => {
    const api = apiClient(stack.gateway.url, (await testProject(stack.db)).adminKey);
    const tool = (await api('POST', '/v1/tools', weather)).body;
    const agent = (await api('POST', '/v1/agents', { name: 'A', goal: 'g' })).body;
    const assigned = await api('POST', `/v1/agents/${agent.id}/tools`, { toolId: tool.id, rateLimit: 10, toolConfigOverride: { timeout: 1 } });
    expect(assigned.body).toMatchObject({ toolId: tool.id, rateLimit: 10, accessLevel: 'execute' });
    expect((await api('POST', `/v1/agents/${agent.id}/tools`, { toolId: tool.id })).status).toBe(409);
    expect((await api('PATCH', `/v1/agents/${agent.id}/tools/${tool.id}`, { rateLimit: null })).body.rateLimit).toBeNull();
    expect((await api('GET', `/v1/agents/${agent.id}/tools`)).body.items).toHaveLength(1);
    expect((await api('DELETE', `/v1/agents/${agent.id}/tools/${tool.id}`)).status).toBe(204);
    expect((await api('GET', `/v1/agents/${agent.id}/tools`)).body.items).toHaveLength(0);
  });

  it('records an OAuth2 tool as an integration: connected, token refreshed once, then used', async () => {
    const api = apiClient(stack.gateway.url, (await testProject(stack.db)).adminKey);
    const tool = (await api('POST', '/v1/tools', {
      ...weather, name: 'orders', inputSchema: { type: 'object' }, authMethod: 'oauth2', config: { method: 'GET', url: server.url('/orders') },
      credentials: { type: 'oauth2', tokenUrl: server.url('/token'), clientId: 'client-1', clientSecret: 'shh-secret' },
    })).body;
    for (let i = 0; i < 2; i++) expect((await api('POST', `/v1/tools/${tool.id}/test`, { arguments: {} })).body).toMatchObject({ ok: true, output: { body: { orders: 3 } } });
    const [integration] = (await api('GET', '/v1/integrations')).body.items;
    expect(integration).toMatchObject({ kind: 'oauth2', config: { tokenUrl: server.url('/token'), clientId: 'client-1' } });
    const events = (await api('GET', `/v1/integrations/${integration.id}/events?limit=10`)).body.items;
    expect(events.map((e: { eventType: string }) => e.eventType).sort()).toEqual(['connected', 'refreshed', 'tool_used', 'tool_used']);
    expect(JSON.stringify([integration, events])).not.toContain('shh-secret');
    expect(server.calls('/token')).toHaveLength(1);
  });
});
