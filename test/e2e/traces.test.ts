import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { findTurn } from '../../src/conversations/message-store';
import { startTracing } from '../../src/telemetry/tracing-sdk';
import type { Tracing } from '../../src/telemetry/tracing';
import { apiClient } from '../support/http';
import { ScriptedLlm } from '../support/scripted-llm';
import { startGateway, startWorker, temporalClient, testConfig, testDb, testProject } from '../support/stack';
import { ToolServer } from '../support/tool-server';

// Tracing is on for this file's stack only (its own process): spans go to the SDK's in-memory exporter.
const exporter = new InMemorySpanExporter();
const llm = new ScriptedLlm();
const tools = new ToolServer({ '/weather': () => ({ status: 200, body: { temperature: 21 } }) });
let tracing: Tracing;
let stack: Awaited<ReturnType<typeof start>>;

async function start() {
  await Promise.all([llm.start(), tools.start()]);
  tracing = startTracing({ serviceName: 'traces-test', exporter });
  const config = testConfig({ OPENAI_BASE_URL: llm.baseUrl, TOOL_NETWORK_ALLOWLIST: `127.0.0.1:${tools.port}`, TURN_WAIT_MS: '30000' });
  const db = testDb(config);
  const temporal = await temporalClient(config, tracing.clientInterceptors);
  const worker = await startWorker(config, db, { tracing });
  const gateway = await startGateway(config, db, temporal.client);
  return { config, db, temporal, worker, gateway };
}

beforeAll(async () => {
  stack = await start();
}, 120_000);
afterAll(async () => {
  await stack?.gateway.close();
  await stack?.worker.stop();
  await stack?.temporal.close();
  await stack?.db.close();
  await tracing?.shutdown();
  await Promise.all([llm.stop(), tools.stop()]);
});

const spanNames = (spans: ReadableSpan[]) => spans.map((s) => s.name);

it('one trace holds the request, the workflow, its activities, the model call and the tool call; its id is on the response and the turn', async () => {
  const project = await testProject(stack.db);
  const api = apiClient(stack.gateway.url, project.adminKey);
  const tool = await api('POST', '/v1/tools', {
    name: 'get_weather', description: 'Weather for a city', category: 'data_source', toolType: 'api', status: 'active',
    inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    timeoutMs: 2000, config: { method: 'GET', url: tools.url('/weather'), query: { city: '{city}' } },
  });
  expect(tool.status, JSON.stringify(tool.body)).toBe(201);
  const agent = await api('POST', '/v1/agents', { name: 'Weather', goal: 'report weather' });
  expect((await api('POST', `/v1/agents/${agent.body.id}/tools`, { toolId: tool.body.id })).status).toBe(201);
  const conv = await api('POST', '/v1/conversations', { agentId: agent.body.id });

  llm.script({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] }, { reply: 'Sunny, 21.' });
  const res = await api('POST', `/v1/conversations/${conv.body.id}/messages`, { content: 'Weather in Paris?' });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const traceId = res.headers.get('x-trace-id');
  expect(traceId).toMatch(/^[0-9a-f]{32}$/);

  // The turn row, written by the worker's activity, carries the request's trace; so does the turn view.
  expect((await findTurn(stack.db.db, conv.body.id, 1))?.traceId).toBe(traceId);
  expect((await api('GET', `/v1/conversations/${conv.body.id}/turns/1`)).body.traceId).toBe(traceId);

  // The workflow's span ends with the workflow and reaches the exporter through the worker's sink.
  await stack.temporal.client.workflow.getHandle(res.body.turn.workflowId).result();
  const spans = await vi.waitFor(() => {
    const found = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    if (!found.some((s) => s.name.startsWith('RunWorkflow:'))) throw new Error(`no workflow span yet: ${spanNames(found).join(', ')}`);
    return found;
  }, { timeout: 15_000, interval: 100 });
  const names = spanNames(spans);
  expect(names.find((n) => n.startsWith('POST')), names.join(', ')).toBeDefined(); // the gateway's HTTP server span
  expect(names.some((n) => n.startsWith('StartWorkflow:') || n.startsWith('StartUpdateWithStartWorkflow:'))).toBe(true);
  expect(names.some((n) => n.startsWith('RunWorkflow:'))).toBe(true);
  expect(names.filter((n) => n.startsWith('RunActivity:')).length).toBeGreaterThan(1);
  expect(names).toContain('RunActivity:runTool');
  // Outbound HTTP: the model's endpoint (undici, fetch) and the tool's API (node:http), each under its activity.
  const llmPort = new URL(llm.baseUrl).port;
  const clientSpans = spans.filter((s) => s.kind === 2 /* CLIENT */);
  const targets = clientSpans.map((s) => String(s.attributes['server.port'] ?? s.attributes['net.peer.port'] ?? s.attributes['http.url'] ?? s.attributes['url.full']));
  expect(targets.some((t) => t.includes(llmPort)), JSON.stringify(clientSpans.map((s) => s.attributes))).toBe(true);
  expect(targets.some((t) => t.includes(String(tools.port))), JSON.stringify(clientSpans.map((s) => s.attributes))).toBe(true);
  // One root: the HTTP request.
  const ids = new Set(spans.map((s) => s.spanContext().spanId));
  expect(spans.filter((s) => !s.parentSpanId || !ids.has(s.parentSpanId)).map((s) => s.name)).toHaveLength(1);
});
