import type { AddressInfo } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import express from 'express';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createTurnActivities } from '../../activities/turn';
import type { Db } from '../../src/db/client';
import type { ChatRequest } from '../../src/llm/client';
import { bearerMatches, metricsHandler } from '../../src/prometheus/endpoint';
import { httpMetrics } from '../../src/prometheus/http-metrics';
import { listenForMetrics, type MetricsServer } from '../../src/prometheus/metrics-server';
import { registrySource } from '../../src/prometheus/registry';
import { createWorkerMetrics, timeModelCall } from '../../src/prometheus/worker-metrics';

const open: Array<{ close: () => unknown }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function serve(registry: Registry, token?: string): Promise<string> {
  const server: MetricsServer = await listenForMetrics(metricsHandler(registrySource(registry), token, () => {}), 0, '127.0.0.1');
  open.push(server);
  return `http://127.0.0.1:${server.port}/metrics`;
}

/** One sample's value from an exposition, e.g. `value(text, 'x_total{kind="prompt"}')`. */
const value = (text: string, series: string) => Number(text.split('\n').find((l) => l.startsWith(`${series} `))?.split(' ')[1] ?? NaN);

describe('/metrics token', () => {
  it('is open without METRICS_TOKEN and needs the Bearer token with it, answering 401 in JSON', async () => {
    const registry = createRegistryWith();
    expect((await fetch(await serve(registry))).status).toBe(200);

    const url = await serve(registry, 'scrape-token-0123456789');
    for (const authorization of [undefined, 'Bearer wrong', 'Bearer scrape-token-012345678', 'Basic scrape-token-0123456789']) {
      const res = await fetch(url, { headers: authorization ? { authorization } : {} });
      expect(res.status, authorization).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await res.json()).toMatchObject({ error: { code: 'unauthorized' } });
    }
    const ok = await fetch(url, { headers: { authorization: 'bearer scrape-token-0123456789' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await ok.text()).toContain('smart_agents_turn_duration_seconds');
  });

  it('compares whole tokens only', () => {
    expect(bearerMatches('Bearer abc', 'abc')).toBe(true);
    expect(bearerMatches('Bearer abcd', 'abc')).toBe(false);
    expect(bearerMatches('Bearer ', 'abc')).toBe(false);
    expect(bearerMatches(undefined, 'abc')).toBe(false);
  });

  it('serves nothing but GET /metrics on the worker port', async () => {
    const url = await serve(createRegistryWith());
    expect((await fetch(url.replace('/metrics', '/'))).status).toBe(404);
    expect((await fetch(url, { method: 'POST' })).status).toBe(404);
  });
});

function createRegistryWith(): Registry {
  const registry = new Registry();
  createWorkerMetrics(registry);
  return registry;
}

describe('HTTP request metrics', () => {
  it('labels requests by route template with its mount, also when the handler throws; unmatched ones as one series', async () => {
    const registry = new Registry();
    const app = express();
    app.use(httpMetrics(registry));
    const v1 = express.Router();
    v1.get('/agents/:id', (_req, res) => void res.json({}));
    v1.get('/boom/:id', async () => {
      throw new Error('boom');
    });
    app.use('/v1', v1);
    app.use((_req, res) => void res.status(404).json({}));
    app.use((_err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => void res.status(500).json({}));
    const server = app.listen(0, '127.0.0.1');
    open.push({ close: () => new Promise((resolve) => server.close(resolve)) });
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const id = '0b5e2a4e-8a4f-4a53-9a39-2f7f7c1d7a10';
    for (const path of [`/v1/agents/${id}?secret=1`, `/v1/agents/${id}`, `/v1/boom/${id}`, `/v1/nope/${id}`]) await (await fetch(base + path)).text();

    // A response's 'close' may come just after its client has read the body: wait until all four are counted.
    let text = '';
    const count = (labels: string) => value(text, `smart_agents_http_request_duration_seconds_count{${labels}}`);
    for (let i = 0; i < 100 && !(count('method="GET",route="unmatched",status_code="404"') === 1); i++) {
      text = await registry.metrics();
      if (count('method="GET",route="unmatched",status_code="404"') !== 1) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(count('method="GET",route="/v1/agents/:id",status_code="200"')).toBe(2);
    expect(count('method="GET",route="/v1/boom/:id",status_code="500"')).toBe(1);
    expect(count('method="GET",route="unmatched",status_code="404"')).toBe(1);
    expect(text).not.toContain(id);
    expect(text).not.toContain('secret');
  });
});

describe('model call and turn metrics', () => {
  it('times the first streamed text, counts tokens and reports a call once', () => {
    const registry = new Registry();
    const { turns } = createWorkerMetrics(registry);
    const timer = timeModelCall(turns);
    const seen: string[] = [];
    const onText = timer.watch((t) => seen.push(t))!;
    onText('Hel');
    onText('lo');
    timer.end('ok', { promptTokens: 12, completionTokens: 3 });
    timer.end('error'); // a catch after success changes nothing
    expect(seen).toEqual(['Hel', 'lo']);
    return registry.metrics().then((text) => {
      expect(value(text, 'smart_agents_llm_time_to_first_token_seconds_count')).toBe(1);
      expect(value(text, 'smart_agents_llm_tokens_total{kind="prompt"}')).toBe(12);
      expect(value(text, 'smart_agents_llm_tokens_total{kind="completion"}')).toBe(3);
      expect(value(text, 'smart_agents_llm_call_duration_seconds_count{outcome="ok"}')).toBe(1);
      expect(text).not.toContain('outcome="error"');
    });
  });

  it('callModel reports a failed call as an error through the injected metrics', async () => {
    const registry = new Registry();
    const db = new Proxy({}, { get: () => { throw new Error('no db in this test'); } }) as Db;
    const { callModel } = createTurnActivities({
      db, defaultModel: 'm', awaitWorkflowClosed: async () => {}, metrics: createWorkerMetrics(registry).turns,
      llm: { chat: async () => { throw new TypeError('fetch failed'); } },
    });
    const request: ChatRequest = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };
    await expect(new MockActivityEnvironment().run(callModel, request)).rejects.toThrow('fetch failed');
    expect(value(await registry.metrics(), 'smart_agents_llm_call_duration_seconds_count{outcome="error"}')).toBe(1);
  });

  it('keeps tool labels bounded: unknown types and outcomes become `other`', async () => {
    const registry = new Registry();
    const { tools } = createWorkerMetrics(registry);
    tools.toolCalled({ type: 'api', outcome: 'success', seconds: 0.1 });
    tools.toolCalled({ type: 'made-up', outcome: 'weird', seconds: 0.1 });
    const text = await registry.metrics();
    expect(value(text, 'smart_agents_tool_calls_total{type="api",outcome="success"}')).toBe(1);
    expect(value(text, 'smart_agents_tool_calls_total{type="other",outcome="other"}')).toBe(1);
  });
});
