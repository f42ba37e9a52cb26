import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentExecutionHistory, message, toolExecutionLog } from '../../src/db/schema';
import { apiClient } from '../support/http';
import { spawnWorker } from '../support/worker-process';
import { ScriptedLlm } from '../support/scripted-llm';
import { startGateway, startWorker, temporalClient, testConfig, testDb, testProject } from '../support/stack';
import { ToolServer } from '../support/tool-server';

const llm = new ScriptedLlm();
const tools = new ToolServer({ '/slow': (n) => (n === 1 ? 'hang' : { status: 200, body: { answer: 42 } }) });

let config: ReturnType<typeof testConfig>;
let db: ReturnType<typeof testDb>;
let temporal: Awaited<ReturnType<typeof temporalClient>>;
let gateway: Awaited<ReturnType<typeof startGateway>>;

beforeAll(async () => {
  await Promise.all([llm.start(), tools.start()]);
  config = testConfig({ OPENAI_BASE_URL: llm.baseUrl, TOOL_NETWORK_ALLOWLIST: `127.0.0.1:${tools.port}`, TURN_WAIT_MS: '200' });
  db = testDb(config);
  temporal = await temporalClient(config);
  gateway = await startGateway(config, db, temporal.client);
});
afterAll(async () => {
  await gateway.close();
  await temporal.close();
  await db.close();
  await Promise.all([llm.stop(), tools.stop()]);
});

describe('a worker killed during a tool call', () => {
  it('lets the turn finish on a new worker, with no duplicate rows', async () => {
    const project = await testProject(db);
    const api = apiClient(gateway.url, project.adminKey);
    const tool = (await api('POST', '/v1/tools', {
      name: 'slow_lookup', description: 'Looks something up slowly', category: 'data_source', toolType: 'api', status: 'active',
      inputSchema: { type: 'object', properties: {} }, timeoutMs: 2000,
      retryPolicy: { maximumAttempts: 3, initialIntervalMs: 100, backoffCoefficient: 1, maximumIntervalMs: 100 },
      config: { method: 'GET', url: tools.url('/slow') },
    })).body;
    const agent = (await api('POST', '/v1/agents', { name: 'Patient', goal: 'wait' })).body;
    await api('POST', `/v1/agents/${agent.id}/tools`, { toolId: tool.id });
    const conv = (await api('POST', '/v1/conversations', { agentId: agent.id })).body;
    llm.script({ toolCalls: [{ name: 'slow_lookup', arguments: {} }] }, { reply: 'The answer is 42.' });

    const child = spawnWorker(config);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const sent = await api('POST', `/v1/conversations/${conv.id}/messages`, { content: 'What is the answer?' });
    expect(sent.status).toBe(202);
    await expect.poll(() => tools.calls('/slow').length, { timeout: 120_000, interval: 100 }).toBe(1);
    child.kill('SIGKILL');
    await exited;

    const worker = await startWorker(config, db);
    try {
      await expect
        .poll(async () => (await api('GET', `/v1/conversations/${conv.id}/turns/1`)).body.status, { timeout: 120_000, interval: 250 })
        .toBe('completed');
    } finally {
      await worker.stop();
    }
    const messages = await db.db.select().from(message).where(eq(message.conversationId, conv.id));
    expect(messages.map((m) => `${m.role}: ${m.content}`).sort()).toEqual(['assistant: The answer is 42.', 'user: What is the answer?']);
    expect(await db.db.select().from(agentExecutionHistory).where(eq(agentExecutionHistory.conversationId, conv.id))).toHaveLength(1);
    const logs = await db.db.select().from(toolExecutionLog).where(eq(toolExecutionLog.toolId, tool.id));
    expect(logs.filter((l) => l.status === 'success')).toHaveLength(1);
    expect(logs.filter((l) => l.status === 'running')).toEqual([]); // the killed attempt's reservation row is closed
    expect(llm.failures).toEqual([]);
  }, 300_000); // a worker process started under a loaded CI machine can take a minute to poll
});
