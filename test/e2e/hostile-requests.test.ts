import { request as httpRequest } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { ApplicationFailure } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordClosedHistory } from '../support/histories';
import { spawnGateway } from '../support/gateway-process';
import { apiClient, type ApiCall } from '../support/http';
import { startGateway, startStack, testConfig, testDb, testProject, type Stack } from '../support/stack';

/**
 * Requests a hostile or careless client sends: none may end the gateway or answer 500. Each case here
 * answered 500 (or killed the process) before the gateway learned to refuse it.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({}, {
    // Turns whose first activity fails for good: the workflow fails, and the turn must still end `failed`.
    activities: (a) => ({
      ...a,
      answerTurn: async (input: Parameters<typeof a.answerTurn>[0]) => {
        if (input.content === 'fail before start') throw ApplicationFailure.create({ type: 'Injected', message: 'injected before the row', nonRetryable: true });
        if (input.content !== 'fail after start') return a.answerTurn(input);
        await a.startTurn(input); // writes the turn row and user message exactly as answerTurn does first
        throw ApplicationFailure.create({ type: 'Injected', message: 'injected after the row', nonRetryable: true });
      },
    }),
  });
});
afterAll(async () => {
  await stack.stop();
});

/** One raw HTTP exchange, so a test can send bytes no well-behaved client would. */
function raw(method: string, path: string, headers: Record<string, string>, body?: Buffer | string, opts: { abortAfterWrite?: boolean; baseUrl?: string } = {}) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest((opts.baseUrl ?? stack.gateway.url) + path, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('error', (err) => (opts.abortAfterWrite ? resolve({ status: 0, body: String(err) }) : reject(err)));
    if (body !== undefined) req.write(body);
    if (opts.abortAfterWrite) setImmediate(() => req.destroy());
    else req.end();
  });
}

async function stillServing(baseUrl = stack.gateway.url) {
  const res = await fetch(`${baseUrl}/healthz`);
  expect(res.status).toBe(200);
}

async function world() {
  const project = await testProject(stack.db, 'hostile');
  const api = apiClient(stack.gateway.url, project.adminKey);
  const agent = (await api('POST', '/v1/agents', { name: 'A', goal: 'g' })).body;
  const kb = (await api('POST', '/v1/knowledge-bases', { name: 'kb' })).body;
  const conv = (await api('POST', '/v1/conversations', { agentId: agent.id })).body;
  return { project, api, agent, kb, conv, auth: { authorization: `Bearer ${project.adminKey}` } };
}

function expectClientError(res: { status: number; body: unknown }, what: string) {
  expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBeGreaterThanOrEqual(400);
  expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBeLessThan(500);
}

describe('no request ends the gateway', () => {
  it('answers a truncated multipart upload with 400, and the gateway process keeps serving', async () => {
    const { kb, auth } = await world();
    const gateway = await spawnGateway({
      DATABASE_URL: stack.config.DATABASE_URL, TEMPORAL_ADDRESS: stack.config.TEMPORAL_ADDRESS, TEMPORAL_TASK_QUEUE: stack.config.TEMPORAL_TASK_QUEUE,
    });
    try {
      const body = '--BOUND\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nabc';
      const res = await raw('POST', `/v1/knowledge-bases/${kb.id}/documents/upload`, { ...auth, 'content-type': 'multipart/form-data; boundary=BOUND' }, body, { baseUrl: gateway.url });
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'validation_failed' } });
      // Another request, after the one that used to end the process.
      await stillServing(gateway.url);
      expect(gateway.child.exitCode).toBeNull();
    } finally {
      await gateway.stop();
    }
  });

  it('survives a client that hangs up in the middle of an upload', async () => {
    const { kb, auth } = await world();
    const head = '--BOUND\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\n' + 'x'.repeat(64 * 1024);
    await raw('POST', `/v1/knowledge-bases/${kb.id}/documents/upload`, { ...auth, 'content-type': 'multipart/form-data; boundary=BOUND', 'content-length': '10000000' }, head, { abortAfterWrite: true });
    await stillServing();
    // The same gateway still takes a well-formed upload.
    const form = new FormData();
    form.append('file', new Blob(['hello there'], { type: 'text/plain' }), 'a.txt');
    const ok = await fetch(`${stack.gateway.url}/v1/knowledge-bases/${kb.id}/documents/upload`, { method: 'POST', headers: auth, body: form });
    expect(ok.status).toBe(202);
  });

  it('answers multipart without a boundary, or with unsafe text in its parts, with 400', async () => {
    const { kb, auth } = await world();
    const path = `/v1/knowledge-bases/${kb.id}/documents/upload`;
    const noBoundary = await raw('POST', path, { ...auth, 'content-type': 'multipart/form-data' }, 'abc');
    expect(noBoundary.status).toBe(400);
    expect(JSON.parse(noBoundary.body)).toMatchObject({ error: { code: 'validation_failed' } });
    const form = new FormData();
    form.append('title', 'a\u0000b');
    form.append('file', new Blob(['hello'], { type: 'text/plain' }), 'a.txt');
    const nulTitle = await fetch(`${stack.gateway.url}${path}`, { method: 'POST', headers: auth, body: form });
    expect(nulTitle.status).toBe(400);
    expect(await nulTitle.json()).toMatchObject({ error: { details: [{ field: 'body.title' }] } });
    await stillServing();
  });
});

describe('upload fields follow the rules of the JSON document route', () => {
  async function upload(kbId: string, auth: Record<string, string>, fields: Array<[string, string]>, content = randomUUID()) {
    const form = new FormData();
    for (const [name, value] of fields) form.append(name, value);
    form.append('file', new Blob([content], { type: 'text/plain' }), 'a.txt');
    const res = await fetch(`${stack.gateway.url}/v1/knowledge-bases/${kbId}/documents/upload`, { method: 'POST', headers: auth, body: form });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return { status: res.status, body: (await res.json()) as any };
  }

  it('refuses a title the JSON route refuses, naming the field, and stores nothing', async () => {
    const { api, kb, auth } = await world();
    const tooLong = await upload(kb.id, auth, [['title', 'x'.repeat(501)]]);
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.details).toEqual([expect.objectContaining({ field: 'body.title' })]);
    // A million characters used to be stored and became the ingestion workflow's summary.
    const huge = await upload(kb.id, auth, [['title', 'x'.repeat(1_000_000)]]);
    expect(huge.status).toBe(413);
    expect(huge.body.error).toMatchObject({ code: 'payload_too_large', details: [{ field: 'body.title' }] });
    expect((await api('GET', `/v1/knowledge-bases/${kb.id}/documents`)).body.items).toEqual([]);
  });

  it('refuses fields the route does not read, and a field sent twice', async () => {
    const { api, kb, auth } = await world();
    const unknown = await upload(kb.id, auth, [['tags', 'a'], ['metadata', '{}']]);
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('validation_failed');
    const twice = await upload(kb.id, auth, [['title', 'one'], ['title', 'two']]);
    expect(twice.status).toBe(400);
    expect(twice.body.error.message).toMatch(/too many fields/);
    expect((await api('GET', `/v1/knowledge-bases/${kb.id}/documents`)).body.items).toEqual([]);
  });

  it('still takes a valid title, and a blank one falls back to the file name', async () => {
    const { kb, auth } = await world();
    expect(await upload(kb.id, auth, [['title', '  Handbook  ']])).toMatchObject({ status: 202, body: { title: 'Handbook' } });
    expect(await upload(kb.id, auth, [['title', ' ']])).toMatchObject({ status: 202, body: { title: 'a.txt' } });
  });
});

describe('malformed requests are 4xx, never 500', () => {
  it('refuses bad percent-encoding in path parameters', async () => {
    const { agent, auth } = await world();
    for (const path of ['/v1/agents/%', '/v1/agents/%ZZ', `/v1/agents/${agent.id}/config/%E0%A4%A`, '/v1/knowledge-bases/%/documents', '/links/escalations/%ZZ']) {
      const res = await raw('GET', path, auth);
      expect(res.status, path).toBe(400);
      expect(JSON.parse(res.body), path).toMatchObject({ error: { code: 'invalid_path' } });
    }
  });

  it('refuses a corrupt compressed body with 400', async () => {
    const { auth } = await world();
    const junk = Buffer.from('this is not compressed at all');
    const truncated = gzipSync(JSON.stringify({ name: 'A', goal: 'g' })).subarray(0, 12);
    const brokenBr = brotliCompressSync(JSON.stringify({ name: 'A', goal: 'g' })).subarray(0, 3);
    for (const [encoding, body] of [['gzip', junk], ['gzip', truncated], ['br', junk], ['br', brokenBr], ['deflate', junk]] as const) {
      const res = await raw('POST', '/v1/agents', { ...auth, 'content-type': 'application/json', 'content-encoding': encoding }, body);
      expect(res.status, encoding).toBe(400);
      expect(JSON.parse(res.body), encoding).toMatchObject({ error: { code: 'invalid_body' } });
    }
  });

  it('refuses NUL and lone surrogates anywhere in body, params and query, naming the field', async () => {
    const { api, agent, conv } = await world();
    const cases: Array<[string, string, string | object, string]> = [
      ['POST', '/v1/agents', { name: 'a\u0000b', goal: 'g' }, 'body.name'],
      ['POST', '/v1/agents', '{"name":"a\\ud800b","goal":"g"}', 'body.name'],
      ['POST', '/v1/agents', '{"name":"ok","goal":"g","metadata":{"deep":[{"x":"\\udc00"}]}}', 'body.metadata.deep.0.x'],
      ['POST', '/v1/agents', { name: 'ok', goal: 'g', metadata: { 'k\u0000': 1 } }, 'body.metadata'],
      ['PATCH', `/v1/conversations/${conv.id}`, { variables: { ['\ud800']: 'x' } }, 'body.variables'],
      ['POST', `/v1/conversations/${conv.id}/messages`, { content: 'a\u0000b' }, 'body.content'],
      ['POST', `/v1/conversations/${conv.id}/messages`, '{"content":"a\\ud800b"}', 'body.content'],
      ['DELETE', `/v1/agents/${agent.id}/config/%00`, {}, 'params.key'],
      ['PUT', `/v1/agents/${agent.id}/config/custom.note`, { value: { 'a\u0000': 1 } }, 'body.value'],
      ['GET', '/v1/conversations?externalUserId=a%00b', '', 'query.externalUserId'],
    ];
    for (const [method, path, body, field] of cases) {
      const res = await api(method, path, method === 'GET' || method === 'DELETE' ? undefined : body);
      expect(res.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400);
      expect(res.body.error.details, `${method} ${path}`).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    }
    expect((await api('GET', `/v1/conversations/${conv.id}`)).body.lastTurnIndex).toBe(0);
  });

  it('refuses JSON nested deeper than any field needs', async () => {
    const { api } = await world();
    const deep = '{"name":"a","goal":"g","metadata":{"x":' + '['.repeat(5000) + ']'.repeat(5000) + '}}';
    const res = await api('POST', '/v1/agents', deep);
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].field).toMatch(/^body\.metadata\.x/);
  });

  it('refuses a body with more values than any field needs, before walking them all', async () => {
    const { api } = await world();
    // About 900 KB: under the body size limit, but 450,000 values 55 levels down held the event loop for seconds.
    const wide = '{"name":"d","goal":"g","metadata":{"x":' + '['.repeat(55) + Array(450_000).fill(0).join(',') + ']'.repeat(55) + '}}';
    const res = await api('POST', '/v1/agents', wide);
    expect(res.status).toBe(400);
    expect(res.body.error.details[0]).toEqual({ field: `body.metadata.x${'.0'.repeat(54)}`, message: expect.stringMatching(/too many values/) });
  });

  it('refuses cursors and numbers beyond what the database can hold', async () => {
    const { api, conv } = await world();
    const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const id = randomUUID();
    const paths = [
      `/v1/agents?cursor=${cursor(['+275760-09-13T00:00:00.000Z', id])}`,
      `/v1/agents?cursor=${cursor(['0000-01-01T00:00:00.000Z', id])}`,
      `/v1/knowledge-bases?cursor=${cursor(['-000001-01-01T00:00:00.000Z', id])}`,
      `/v1/conversations/${conv.id}/messages?cursor=${cursor([1e300, 0])}`,
      `/v1/conversations/${conv.id}/messages?cursor=${cursor([1, -1e20])}`,
    ];
    for (const path of paths) {
      const res = await api('GET', path);
      expect(res.status, path).toBe(400);
      expect(res.body.error.details[0].field, path).toBe('query.cursor');
    }
    expectClientError(await api('POST', `/v1/conversations/${conv.id}/turns/100000000000000000000/feedback`, { satisfaction: 5 }), 'huge turn index');
    expectClientError(await api('GET', '/v1/metrics?name=turn_completed&from=0000-01-01T00:00:00Z&to=2020-01-01T00:00:00Z'), 'year 0 metrics');
    expectClientError(await api('PATCH', '/v1/plan', { agentLimit: 1e20 }), 'limit beyond integer');
  });
});

describe('a failed turn always ends in a terminal state', () => {
  async function turnAfterFailure(api: ApiCall, convId: string, content: string) {
    const sent = await api('POST', `/v1/conversations/${convId}/messages`, { content });
    expect([202, 502]).toContain(sent.status);
    const index = sent.body.turn?.index ?? sent.body.error?.details?.turn?.index;
    let turn: { status: string; error: string | null; workflowId: string } | undefined;
    await expect
      .poll(async () => (turn = (await api('GET', `/v1/conversations/${convId}/turns/${index}`)).body).status, { timeout: 20_000, interval: 200 })
      .toBe('failed');
    return turn! as { status: string; error: string | null; workflowId: string };
  }

  it('marks the turn failed when its first activity fails for good, before or after writing the row', async () => {
    const { api, conv } = await world();
    expect((await turnAfterFailure(api, conv.id, 'fail after start')).error).toMatch(/injected after the row/);
    const other = (await api('POST', '/v1/conversations', { agentId: conv.agentId })).body;
    const before = await turnAfterFailure(api, other.id, 'fail before start');
    expect(before.error).toMatch(/injected before the row/);
    // The path that marks the row failed, kept replaying from here on.
    await recordClosedHistory(stack.config.TEMPORAL_ADDRESS, 'turn-failed-before-start', before.workflowId);
  });
});

describe('a Postgres outage', () => {
  it('answers 503 unavailable, not 500', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const config = testConfig({ DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/nothing` });
    const db = testDb(config);
    const gateway = await startGateway(config, db, stack.temporal.client);
    try {
      const res = await apiClient(gateway.url, 'sao_' + 'x'.repeat(40))('GET', '/v1/agents');
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ error: { code: 'unavailable', message: expect.any(String) } });
    } finally {
      await gateway.close();
      await db.close();
    }
  });
});
