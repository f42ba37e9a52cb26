import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createNetGuard } from '../../src/net/net-guard';
import { toolDestinations } from '../../src/tools/destinations';
import { createHttpRunners, verifyWebhookSignature } from '../../src/tools/runners/http';
import { ToolError, type ResolvedTool, type ToolCallContext, type ToolCredentials } from '../../src/tools/types';

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}
type Handler = (req: Received, res: http.ServerResponse) => void;

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
});

/** A real server on 127.0.0.1 that hands each fully read request to `handler` and records it. */
async function startServer(handler: Handler): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(r);
      handler(r, res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

const json = (res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}) =>
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));

/** A tool whose credentials are bound to its config's origin, as `executeToolCall` binds them. */
const tool = (config: Record<string, unknown>, credentials?: ToolCredentials, toolType: ResolvedTool['toolType'] = 'api'): ResolvedTool => {
  const bound = toolDestinations(toolType, config);
  return { id: 't1', name: 'weather', toolType, config, credentials, timeoutMs: 5000, credentialOrigins: 'origins' in bound ? bound.origins : [] };
};
const ctx = (signal: AbortSignal = AbortSignal.timeout(5000)): ToolCallContext => ({ signal, idempotencyKey: 'wf-1:call-1', attempt: 1 });

function runners(now?: () => number) {
  return createHttpRunners({ guard: createNetGuard({ allow: ['127.0.0.1/32'] }), now });
}

async function rejection(promise: Promise<unknown>): Promise<ToolError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ToolError);
  return err as ToolError;
}

describe('api runner', () => {
  it('fills the URL template (encoded), query, headers and the mapped body', async () => {
    const server = await startServer((req, res) => json(res, 200, { ok: true, echo: JSON.parse(req.body) as unknown }));
    const { api } = runners();
    const config = {
      method: 'POST',
      url: `${server.url}/cities/{city}/forecast?lang=en`,
      query: { units: '{units}', days: '{days}' },
      headers: { 'X-Trace': 'trace-{days}' },
      body: { name: 'city', days: '{days}', label: 'in {units}', note: 'note' },
    };
    const result = await api(tool(config), { city: 'São Paulo/x?', units: 'metric', days: 3 }, ctx());
    const [req] = server.received;
    expect(req).toMatchObject({ method: 'POST', url: '/cities/S%C3%A3o%20Paulo%2Fx%3F/forecast?lang=en&units=metric&days=3' });
    expect(req?.headers).toMatchObject({ 'x-trace': 'trace-3', 'content-type': 'application/json' });
    // `note` names an argument the model left out, so the field is omitted; `{days}` keeps its number type.
    expect(JSON.parse(req!.body)).toEqual({ name: 'São Paulo/x?', days: 3, label: 'in metric' });
    expect(result).toEqual({ status: 200, body: { ok: true, echo: { name: 'São Paulo/x?', days: 3, label: 'in metric' } } });
  });

  it("sends the arguments as the body with body: 'args', and returns text bodies as text", async () => {
    const server = await startServer((req, res) => res.writeHead(201, { 'content-type': 'text/plain' }).end(`got ${req.body}`));
    const result = await runners().api(tool({ method: 'PUT', url: `${server.url}/items`, body: 'args' }), { a: 1 }, ctx());
    expect(result).toEqual({ status: 201, body: 'got {"a":1}' });
  });

  it('refuses a missing argument and an invalid config as invalid_input', async () => {
    const { api } = runners();
    expect((await rejection(api(tool({ method: 'GET', url: 'http://127.0.0.1:1/{id}' }), {}, ctx()))).kind).toBe('invalid_input');
    expect((await rejection(api(tool({ method: 'TRACE', url: 'http://127.0.0.1:1/' }), {}, ctx()))).kind).toBe('invalid_input');
  });

  it.each<[string, ToolCredentials, (h: http.IncomingHttpHeaders, url: string) => boolean]>([
    ['api_key header', { type: 'api_key', value: 'k-123' }, (h) => h['x-api-key'] === 'k-123'],
    ['api_key named header', { type: 'api_key', value: 'k-123', name: 'X-Token' }, (h) => h['x-token'] === 'k-123'],
    ['api_key query', { type: 'api_key', value: 'k-123', in: 'query', name: 'key' }, (_h, url) => url.endsWith('?key=k-123')],
    ['bearer', { type: 'bearer', token: 't-456' }, (h) => h.authorization === 'Bearer t-456'],
    ['basic', { type: 'basic', username: 'ann', password: 'p:w' }, (h) => h.authorization === `Basic ${Buffer.from('ann:p:w').toString('base64')}`],
  ])('authenticates with %s', async (_name, credentials, accepts) => {
    const server = await startServer((req, res) => (accepts(req.headers, req.url) ? json(res, 200, { ok: true }) : json(res, 401, {})));
    const result = await runners().api(tool({ method: 'GET', url: `${server.url}/me` }, credentials), {}, ctx());
    expect(result).toEqual({ status: 200, body: { ok: true } });
  });

  it('fetches an oauth2 client-credentials token once and reuses it until 30 s before expiry', async () => {
    let issued = 0;
    const server = await startServer((req, res) => {
      if (req.url === '/token') {
        const basic = `Basic ${Buffer.from('cid:csecret').toString('base64')}`;
        if (req.headers.authorization !== basic || req.body !== 'grant_type=client_credentials&scope=read') return json(res, 401, {});
        return json(res, 200, { access_token: `tok-${++issued}`, token_type: 'Bearer', expires_in: 120 });
      }
      json(res, req.headers.authorization === `Bearer tok-${issued}` ? 200 : 401, { token: req.headers.authorization });
    });
    let clock = 1_000_000;
    const { api } = runners(() => clock);
    const oauth: ToolCredentials = { type: 'oauth2', tokenUrl: `${server.url}/token`, clientId: 'cid', clientSecret: 'csecret', scope: 'read' };
    const call = () => api(tool({ method: 'GET', url: `${server.url}/data` }, oauth), {}, ctx());
    await call();
    clock += 89_000; // 31 s left: still reused
    await call();
    expect(issued).toBe(1);
    clock += 2_000; // 29 s left: refreshed
    expect(await call()).toEqual({ status: 200, body: { token: 'Bearer tok-2' } });
    expect(issued).toBe(2);
  });

  it.each<[number, Record<string, string>, string, number | undefined]>([
    [500, {}, 'server_error', undefined],
    [400, {}, 'client_error', undefined],
    [404, {}, 'client_error', undefined],
    [429, { 'retry-after': '1' }, 'rate_limited', 1000],
    [503, { 'retry-after': new Date(Date.now() + 60_000).toUTCString() }, 'rate_limited', 60_000],
    [503, {}, 'server_error', undefined],
  ])('maps HTTP %i %j to %s', async (status, headers, kind, retryAfterMs) => {
    const server = await startServer((_req, res) => json(res, status, { error: 'nope' }, headers));
    const err = await rejection(runners().api(tool({ method: 'GET', url: server.url }), {}, ctx()));
    expect(err).toMatchObject({ kind, details: { status } });
    if (headers['retry-after'] === '1') expect(err.details.retryAfterMs).toBe(1000);
    // An HTTP date has whole seconds and the clock moves on, so the delay is a little under a minute.
    else if (retryAfterMs !== undefined) expect(err.details.retryAfterMs).toBeGreaterThan(retryAfterMs - 3000);
    else expect(err.details.retryAfterMs).toBeUndefined();
    expect(err.message).toContain('nope');
  });

  it('keeps credentials out of error messages even when the server echoes them', async () => {
    const server = await startServer((req, res) => json(res, 400, { youSent: req.headers.authorization }));
    const err = await rejection(runners().api(tool({ method: 'GET', url: server.url }, { type: 'bearer', token: 'super-secret-token' }), {}, ctx()));
    expect(err.message).not.toContain('super-secret-token');
    expect(err.message).toContain('[redacted]');
  });

  it('sends credentials only to the origin they were bound to, whatever the config or the arguments say', async () => {
    const home = await startServer((_req, res) => json(res, 200, { ok: true }));
    const elsewhere = await startServer((_req, res) => json(res, 200, { got: 'it' }));
    const bearer: ToolCredentials = { type: 'bearer', token: 'bound-token' };
    const { api, webhook } = runners();
    const moved = { ...tool({ method: 'GET', url: home.url }, bearer), config: { method: 'GET', url: elsewhere.url } };
    expect(await rejection(api(moved, {}, ctx()))).toMatchObject({ kind: 'forbidden', message: expect.stringMatching(/bound to http:\/\/127\.0\.0\.1/) });
    const templated = { ...tool({ method: 'GET', url: home.url }, bearer), config: { method: 'GET', url: 'http://127.0.0.1:{port}/' } };
    expect((await rejection(api(templated, { port: new URL(elsewhere.url).port }, ctx()))).kind).toBe('forbidden');
    const hook = { ...tool({ url: home.url }, bearer, 'webhook'), config: { url: elsewhere.url } };
    expect((await rejection(webhook(hook, {}, ctx()))).kind).toBe('forbidden');
    expect((await rejection(api({ ...tool({ method: 'GET', url: home.url }, bearer), credentialOrigins: undefined }, {}, ctx()))).kind).toBe('forbidden');
    expect(elsewhere.received).toHaveLength(0);
    expect(home.received).toHaveLength(0);
  });

  it('trims the response at maxResponseBytes', async () => {
    const server = await startServer((_req, res) => json(res, 200, { data: 'x'.repeat(5000) }));
    const result = await runners().api(tool({ method: 'GET', url: server.url, maxResponseBytes: 100 }), {}, ctx());
    expect(result).toMatchObject({ status: 200, truncated: true });
    expect((result as { body: string }).body).toHaveLength(100);
  });

  it('reports an abort as timeout, an unreachable port as network and a refused address as forbidden', async () => {
    const server = await startServer(() => {}); // never answers
    const { api } = runners();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    expect((await rejection(api(tool({ method: 'GET', url: server.url }), {}, ctx(controller.signal)))).kind).toBe('timeout');
    expect((await rejection(api(tool({ method: 'GET', url: 'http://127.0.0.1:1/' }), {}, ctx()))).kind).toBe('network');
    expect((await rejection(api(tool({ method: 'GET', url: 'http://169.254.169.254/latest/meta-data/' }), {}, ctx()))).kind).toBe('forbidden');
  });
});

describe('webhook runner', () => {
  it('posts the arguments signed, with the idempotency key and a timestamp', async () => {
    const secret = 'whsec-test';
    const server = await startServer((req, res) => {
      const valid = verifyWebhookSignature(secret, req.body, req.headers['x-signature-256']);
      json(res, valid ? 202 : 401, { valid, key: req.headers['idempotency-key'] });
    });
    const { webhook } = runners(() => 1_700_000_000_000);
    const result = await webhook(tool({ url: `${server.url}/hook` }, { type: 'bearer', token: secret }, 'webhook'), { order: 42, note: 'ünï' }, ctx());
    expect(result).toEqual({ status: 202, body: { valid: true, key: 'wf-1:call-1' } });
    const [req] = server.received;
    expect(req?.headers).toMatchObject({ 'content-type': 'application/json', 'x-webhook-timestamp': '1700000000' });
    expect(req?.headers.authorization).toBeUndefined(); // the signing secret is never sent
    expect(JSON.parse(req!.body)).toEqual({ order: 42, note: 'ünï' });

    const fromConfig = await webhook(tool({ url: server.url, signingSecret: secret }, undefined, 'webhook'), {}, ctx());
    expect(fromConfig).toMatchObject({ status: 202 });
  });

  it('maps failures like the api runner and needs a signing secret', async () => {
    const server = await startServer((_req, res) => json(res, 429, {}, { 'retry-after': '2' }));
    const { webhook } = runners();
    const limited = await rejection(webhook(tool({ url: server.url, signingSecret: 's' }, undefined, 'webhook'), {}, ctx()));
    expect(limited).toMatchObject({ kind: 'rate_limited', details: { status: 429, retryAfterMs: 2000 } });
    expect((await rejection(webhook(tool({ url: server.url }, undefined, 'webhook'), {}, ctx()))).kind).toBe('invalid_input');
  });

  it('verifyWebhookSignature rejects a wrong secret, a changed body and malformed headers', async () => {
    const { createHmac } = await import('node:crypto');
    const header = `sha256=${createHmac('sha256', 'k').update('{"a":1}').digest('hex')}`;
    expect(verifyWebhookSignature('k', '{"a":1}', header)).toBe(true);
    expect(verifyWebhookSignature('k', Buffer.from('{"a":1}'), header)).toBe(true);
    expect(verifyWebhookSignature('other', '{"a":1}', header)).toBe(false);
    expect(verifyWebhookSignature('k', '{"a":2}', header)).toBe(false);
    for (const bad of [undefined, '', 'sha256=abc', header.replace('sha256=', 'sha1='), [header]]) {
      expect(verifyWebhookSignature('k', '{"a":1}', bad)).toBe(false);
    }
  });
});
