import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config';
import { freeLoopbackAddress } from '../../src/prometheus/sdk-metrics';
import { spawnGateway } from '../support/gateway-process';
import { apiClient } from '../support/http';
import { ScriptedLlm } from '../support/scripted-llm';
import { testConfig, testDb, testProject } from '../support/stack';
import { ToolServer } from '../support/tool-server';
import { spawnWorker } from '../support/worker-process';

// The real entries (src/worker.ts, src/server.ts) in processes of their own: the worker's /metrics carries the
// Temporal SDK's exporter, which only a process that installs its Runtime itself can have.
const TOKEN = 'metrics-token-for-tests-7f3a';
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const llm = new ScriptedLlm();
const tools = new ToolServer({ '/weather': () => ({ status: 200, body: { temperature: 21 } }) });
let config: Config;
let worker: ChildProcess;
let gateway: Awaited<ReturnType<typeof spawnGateway>>;
let workerMetricsUrl: string;

const asEnv = (c: Config) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v ?? '')]));

beforeAll(async () => {
  await Promise.all([llm.start(), tools.start()]);
  const port = (await freeLoopbackAddress()).split(':')[1]!;
  config = testConfig({
    OPENAI_BASE_URL: llm.baseUrl, TOOL_NETWORK_ALLOWLIST: `127.0.0.1:${tools.port}`, TURN_WAIT_MS: '30000',
    METRICS_TOKEN: TOKEN, WORKER_METRICS_PORT: port, HOST: '127.0.0.1',
  });
  workerMetricsUrl = `http://127.0.0.1:${port}/metrics`;
  worker = spawnWorker(config);
  gateway = await spawnGateway(asEnv(config));
  await until(async () => (await fetch(workerMetricsUrl).catch(() => undefined))?.status === 401);
});

afterAll(async () => {
  await gateway?.stop();
  if (worker && worker.exitCode === null && worker.signalCode === null) {
    worker.kill('SIGTERM');
    await once(worker, 'exit');
  }
  await Promise.all([llm.stop(), tools.stop()]);
});

/** Polls `ready` (a scrape that has caught up with a turn the worker finished a moment ago). */
async function until(ready: () => Promise<boolean>, attempts = 300): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await ready()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('condition not met');
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  return res.text();
}

/** Every sample of a metric family whose labels contain all of `labels`, summed (0 when there is none). */
function total(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .filter((line) => wanted.every((w) => line.includes(w)))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

describe('GET /metrics on the gateway and the worker', () => {
  it('moves by exactly one turn and one tool call, with no ids in any label', async () => {
    const db = testDb(config);
    const project = await testProject(db);
    await db.close();
    const api = apiClient(gateway.url, project.adminKey);
    const tool = await api('POST', '/v1/tools', {
      name: 'get_weather', description: 'Weather for a city', category: 'data_source', toolType: 'api', status: 'active',
      inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }, config: { method: 'GET', url: tools.url('/weather') },
    });
    expect(tool.status, JSON.stringify(tool.body)).toBe(201);
    const agent = await api('POST', '/v1/agents', { name: 'Weather', goal: 'report weather' });
    expect((await api('POST', `/v1/agents/${agent.body.id}/tools`, { toolId: tool.body.id })).status).toBe(201);
    const conversation = await api('POST', '/v1/conversations', { agentId: agent.body.id });

    const [gatewayBefore, workerBefore] = [await scrape(`${gateway.url}/metrics`), await scrape(workerMetricsUrl)];
    llm.script({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] }, { reply: 'It is 21 degrees.' });
    const turn = await api('POST', `/v1/conversations/${conversation.body.id}/messages`, { content: 'Weather in Paris?' });
    expect(turn.status, JSON.stringify(turn.body)).toBe(200);
    expect(llm.failures).toEqual([]);

    const turns = (text: string) => total(text, 'smart_agents_turn_duration_seconds_count');
    let workerAfter = '';
    await until(async () => turns((workerAfter = await scrape(workerMetricsUrl))) > turns(workerBefore));
    const gatewayAfter = await scrape(`${gateway.url}/metrics`);
    const moved = (before: string, after: string, name: string, labels?: Record<string, string>) => total(after, name, labels) - total(before, name, labels);

    expect(moved(workerBefore, workerAfter, 'smart_agents_turn_duration_seconds_count', { outcome: 'completed' })).toBe(1);
    expect(moved(workerBefore, workerAfter, 'smart_agents_turn_duration_seconds_count')).toBe(1);
    expect(moved(workerBefore, workerAfter, 'smart_agents_tool_calls_total', { type: 'api', outcome: 'success' })).toBe(1);
    expect(moved(workerBefore, workerAfter, 'smart_agents_tool_calls_total')).toBe(1);
    expect(moved(workerBefore, workerAfter, 'smart_agents_llm_call_duration_seconds_count', { outcome: 'ok' })).toBe(2);
    expect(moved(workerBefore, workerAfter, 'smart_agents_llm_tokens_total', { kind: 'prompt' })).toBeGreaterThan(0);
    expect(moved(workerBefore, workerAfter, 'smart_agents_llm_tokens_total', { kind: 'completion' })).toBeGreaterThan(0);
    expect(moved(workerBefore, workerAfter, 'smart_agents_llm_time_to_first_token_seconds_count')).toBeGreaterThanOrEqual(1);
    const messages = { method: 'POST', route: '/v1/conversations/:id/messages', status_code: '200' };
    expect(moved(gatewayBefore, gatewayAfter, 'smart_agents_http_request_duration_seconds_count', messages)).toBe(1);

    // The Temporal SDK's worker metrics come with the worker's own, behind the same token.
    for (const name of ['temporal_worker_task_slots_available', 'temporal_sticky_cache_size', 'temporal_sticky_cache_hit', 'temporal_workflow_task_schedule_to_start_latency']) {
      expect(workerAfter, name).toContain(name);
    }
    // Installation-wide gauges read from Postgres, and Node's own metrics.
    expect(gatewayAfter).toMatch(/^smart_agents_open_escalations\{status="pending"\} \d+$/m);
    expect(gatewayAfter).toMatch(/^smart_agents_knowledge_documents\{status="completed"\} \d+$/m);
    expect(gatewayAfter).toContain('nodejs_eventloop_lag_seconds');
    expect(workerAfter).toContain('smart_agents_escalations_total{transition="opened"} 0');
    // Tenant-blind: no project, agent, conversation, tool or turn id anywhere in either scrape. The SDK labels its
    // metrics with the task queue, which this test names with a UUID of its own (production: smart-agents).
    expect(gatewayAfter).not.toMatch(UUID);
    expect(workerAfter).toContain(`task_queue="${config.TEMPORAL_TASK_QUEUE}"`);
    expect(workerAfter.replaceAll(config.TEMPORAL_TASK_QUEUE, 'test-queue')).not.toMatch(UUID);
  });

  it('counts an escalation opened, exhausted and acknowledged once each on the worker', async () => {
    const db = testDb(config);
    const project = await testProject(db);
    await db.close();
    const api = apiClient(gateway.url, project.adminKey);
    const agent = await api('POST', '/v1/agents', { name: 'Pager', goal: 'page people' });
    const conversation = await api('POST', '/v1/conversations', { agentId: agent.body.id });
    const user = await api('POST', '/v1/users', { name: 'On Call', email: 'oncall@example.test' });
    const levels = [{ targets: [user.body.id], channels: ['in_app'], ackTimeoutSeconds: 1 }];
    const rule = await api('POST', '/v1/escalation-rules', { name: 'Pager', agentId: agent.body.id, ruleType: 'manual', escalationAction: 'notify', policy: { levels } });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);

    const before = await scrape(workerMetricsUrl);
    const transitions = (text: string, transition: string) => total(text, 'smart_agents_escalations_total', { transition });
    const event = await api('POST', `/v1/conversations/${conversation.body.id}/escalations`, { ruleId: rule.body.id, reason: 'printer on fire' });
    expect(event.status, JSON.stringify(event.body)).toBe(201);
    await until(async () => transitions(await scrape(workerMetricsUrl), 'exhausted') > transitions(before, 'exhausted'));
    expect((await api('POST', `/v1/escalations/${event.body.id}/acknowledge`, {})).body.status).toBe('acknowledged');
    let after = '';
    await until(async () => transitions((after = await scrape(workerMetricsUrl)), 'acknowledged') > transitions(before, 'acknowledged'));

    for (const transition of ['opened', 'exhausted', 'acknowledged']) {
      expect(transitions(after, transition) - transitions(before, transition), transition).toBe(1);
    }
    expect(after).not.toContain(event.body.id);
  });

  it('answers 401 in JSON on both without the token', async () => {
    for (const url of [`${gateway.url}/metrics`, workerMetricsUrl]) {
      for (const authorization of [undefined, 'Bearer not-the-token']) {
        const res = await fetch(url, { headers: authorization ? { authorization } : {} });
        expect(res.status, url).toBe(401);
        expect(await res.json()).toMatchObject({ error: { code: 'unauthorized' } });
      }
    }
  });
});
