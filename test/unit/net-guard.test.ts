import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { createNetGuard, guardedFetch, parseAllowList, type NetGuard } from '../../src/net/net-guard';
import { OutboundError } from '../../src/net/outbound-error';

interface TestServer {
  url: string;
  port: number;
  requests: http.IncomingMessage[];
  connections: number;
}

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
});

async function startServer(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void, host = '127.0.0.1'): Promise<TestServer> {
  const server = http.createServer();
  servers.push(server);
  const state = { url: '', port: 0, requests: [] as http.IncomingMessage[], connections: 0 };
  server.on('connection', () => state.connections++);
  server.on('request', (req, res) => { state.requests.push(req); handler(req, res); });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  state.port = (server.address() as AddressInfo).port;
  state.url = `http://${host}:${state.port}`;
  return state;
}

const ok = (_req: http.IncomingMessage, res: http.ServerResponse) => res.end('hello');
const fetchText = (guard: NetGuard, url: string, init: Partial<Parameters<typeof guardedFetch>[2]> = {}) =>
  guardedFetch(guard, url, { signal: AbortSignal.timeout(5000), maxResponseBytes: 10_000, ...init });

async function rejection(promise: Promise<unknown>): Promise<OutboundError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(OutboundError);
  return err as OutboundError;
}

describe('net guard', () => {
  it('reaches a local server that is allow-listed, by CIDR or by ip:port', async () => {
    const server = await startServer(ok);
    const byCidr = await fetchText(createNetGuard({ allow: ['127.0.0.1/32'] }), `${server.url}/x`);
    expect(byCidr).toMatchObject({ status: 200, body: 'hello', truncated: false });
    const byPort = await fetchText(createNetGuard({ allow: [`127.0.0.1:${server.port}`] }), server.url);
    expect(byPort.status).toBe(200);
  });

  it('refuses loopback that is not allow-listed before opening a connection', async () => {
    const server = await startServer(ok);
    const guard = createNetGuard({ allow: [`127.0.0.1:${server.port + 1}`] });
    expect((await rejection(fetchText(guard, server.url))).kind).toBe('forbidden');
    // `localhost` resolves to loopback, so the check after DNS refuses it too.
    expect((await rejection(fetchText(guard, `http://localhost:${server.port}/`))).kind).toBe('forbidden');
    // Nothing listens on [::1] here: a connect attempt would fail as `network`, not `forbidden`.
    expect((await rejection(fetchText(guard, `http://[::1]:${server.port}/`))).kind).toBe('forbidden');
    expect(server.connections).toBe(0);
  });

  // Checked with resolve() alone, so no packet can leave for these addresses even if the guard were broken.
  it.each([
    '169.254.169.254', '10.0.0.1', '172.16.5.4', '192.168.1.1', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255',
    '[::1]', '[::]', '[fe80::1]', '[fd00::1]', '[ff02::1]', '[::ffff:127.0.0.1]', '[::ffff:169.254.169.254]', '[64:ff9b::a00:1]',
  ])('refuses %s', async (host) => {
    const guard = createNetGuard({ allow: [] });
    expect((await rejection(guard.resolve(new URL(`http://${host}/latest/meta-data/`)))).kind).toBe('forbidden');
  });

  it('accepts public addresses and refuses a name if any of its addresses is internal', async () => {
    const guard = createNetGuard({
      allow: [],
      resolve: async (host) => (host === 'mixed.test' ? [{ address: '93.184.215.14', family: 4 }, { address: '10.1.2.3', family: 4 }] : [{ address: '93.184.215.14', family: 4 }]),
    });
    await expect(guard.resolve(new URL('https://public.test/'))).resolves.toEqual([{ address: '93.184.215.14', family: 4 }]);
    await expect(guard.resolve(new URL('https://[2606:4700::1111]/'))).resolves.toHaveLength(1);
    expect((await rejection(guard.resolve(new URL('https://mixed.test/')))).kind).toBe('forbidden');
  });

  it('refuses schemes other than http and https', async () => {
    const guard = createNetGuard({ allow: ['127.0.0.1/32'] });
    for (const url of ['file:///etc/passwd', 'ftp://127.0.0.1/', 'gopher://127.0.0.1:6379/']) {
      expect((await rejection(fetchText(guard, url))).kind).toBe('forbidden');
    }
  });

  it('connects to the address it checked, not to a second DNS answer (rebinding)', async () => {
    const server = await startServer((req, res) => res.end(req.headers.host));
    let lookups = 0;
    const guard = createNetGuard({
      allow: ['127.0.0.1/32'],
      resolve: async () => (lookups++ === 0 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '10.0.0.1', family: 4 }]),
    });
    // rebind.test exists in no real DNS: the request can only succeed through the pinned, checked address.
    const res = await fetchText(guard, `http://rebind.test:${server.port}/`);
    expect(res).toMatchObject({ status: 200, body: `rebind.test:${server.port}` });
    expect(lookups).toBe(1);
  });

  it('allows a host:port entry by name', async () => {
    const server = await startServer(ok);
    const guard = createNetGuard({ allow: [`internal.test:${server.port}`], resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
    expect((await fetchText(guard, `http://internal.test:${server.port}/`)).status).toBe(200);
    expect((await rejection(fetchText(guard, `http://other.test:${server.port}/`))).kind).toBe('forbidden');
  });

  it('refuses a redirect to an address that is not allow-listed, without contacting it', async () => {
    const target = await startServer(ok, '127.0.0.2');
    const origin = await startServer((_req, res) => res.writeHead(302, { location: `${target.url}/admin` }).end());
    const err = await rejection(fetchText(createNetGuard({ allow: ['127.0.0.1/32'] }), origin.url));
    expect(err.kind).toBe('forbidden');
    expect(origin.requests).toHaveLength(1);
    expect(target.connections).toBe(0);
  });

  it('follows allowed redirects, turning POST into GET on 303, and stops after five', async () => {
    const server = await startServer((req, res) => {
      if (req.url === '/start') return res.writeHead(303, { location: '/next' }).end();
      if (req.url === '/next') return res.end(`${req.method} ${req.headers['content-type'] ?? '-'}`);
      res.writeHead(307, { location: '/loop' }).end();
    });
    const guard = createNetGuard({ allow: ['127.0.0.1/32'] });
    const res = await fetchText(guard, `${server.url}/start`, { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } });
    expect(res).toMatchObject({ status: 200, body: 'GET -', url: `${server.url}/next` });

    const loop = await rejection(fetchText(guard, `${server.url}/loop`));
    expect(loop.kind).toBe('client_error');
    expect(server.requests.filter((r) => r.url === '/loop')).toHaveLength(6);
  });

  it('drops credentials when a redirect leaves the origin', async () => {
    const other = await startServer((req, res) => res.end(JSON.stringify(req.headers)));
    const origin = await startServer((_req, res) => res.writeHead(307, { location: `${other.url}/` }).end());
    const guard = createNetGuard({ allow: ['127.0.0.1/32'] });
    const res = await fetchText(guard, origin.url, { headers: { Authorization: 'Bearer s3cret', 'X-API-Key': 'k3y', 'X-Trace': 't' }, sensitiveHeaders: ['X-API-Key'] });
    const seen = JSON.parse(res.body) as Record<string, string>;
    expect(seen).toMatchObject({ 'x-trace': 't' });
    expect(seen).not.toHaveProperty('authorization');
    expect(seen).not.toHaveProperty('x-api-key');
  });

  it('stops reading at the size limit and decodes compressed bodies', async () => {
    const server = await startServer((req, res) => {
      if (req.url === '/gzip') return res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync('é'.repeat(5000)));
      // An endless body: only the limit ends this response.
      const write = () => { while (res.write('x'.repeat(1024))); };
      res.on('drain', write);
      write();
    });
    const guard = createNetGuard({ allow: ['127.0.0.1/32'] });
    const endless = await fetchText(guard, server.url, { maxResponseBytes: 3000 });
    expect(endless).toMatchObject({ status: 200, truncated: true });
    expect(endless.body).toHaveLength(3000);
    // 'é' is two bytes: a cut through a character leaves no broken half behind.
    const gz = await fetchText(guard, `${server.url}/gzip`, { maxResponseBytes: 1001 });
    expect(gz).toMatchObject({ truncated: true, body: 'é'.repeat(500) });
  });

  it('reports an abort as timeout and a refused connection as network', async () => {
    const server = await startServer(() => {}); // never answers
    const guard = createNetGuard({ allow: ['127.0.0.1/32'] });
    expect((await rejection(fetchText(guard, server.url, { signal: AbortSignal.timeout(100) }))).kind).toBe('timeout');
    const closed = await startServer(ok);
    await new Promise((r) => { servers.pop()?.close(r); });
    expect((await rejection(fetchText(guard, closed.url))).kind).toBe('network');
  });

  it('parses the allow-list setting and rejects entries it cannot read', () => {
    expect(parseAllowList(' 127.0.0.1/32, [::1]:8080 api.internal:443 ')).toEqual(['127.0.0.1/32', '[::1]:8080', 'api.internal:443']);
    expect(parseAllowList(undefined)).toEqual([]);
    expect(() => createNetGuard({ allow: parseAllowList('127.0.0.1/32,[::1]:8080,api.internal:443,10.0.0.0/8,::1,host:*') })).not.toThrow();
    expect(() => createNetGuard({ allow: ['http://x/'] })).toThrow(/allow-list/);
    expect(() => createNetGuard({ allow: ['10.0.0.0/33'] })).toThrow(/allow-list/);
  });
});
