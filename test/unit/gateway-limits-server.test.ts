import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createGatewayServer, SERVER_LIMITS } from '../../src/gateway/http-server';

const servers: Array<ReturnType<typeof createGatewayServer>> = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** A gateway-like server whose one route reads the body, as an upload does, and never answers on its own. */
async function listening(limits = SERVER_LIMITS) {
  const app = express();
  const seen: string[] = [];
  app.post('/upload', (req) => {
    req.on('data', () => undefined);
    req.on('close', () => seen.push('request closed'));
  });
  const server = createGatewayServer(app, limits);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, seen };
}

/** Sends `text` and returns everything the server answers until it closes the connection. */
async function exchange(port: number, text: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  let answer = '';
  socket.setEncoding('utf8');
  socket.on('data', (c: string) => (answer += c));
  socket.write(text);
  await once(socket, 'close');
  return answer;
}

describe('the gateway server', () => {
  it('bounds how long a client may take over a request, well under Node defaults', () => {
    const server = createGatewayServer(express());
    expect(server.requestTimeout).toBe(60_000);
    expect(server.headersTimeout).toBe(20_000);
    expect(server.keepAliveTimeout).toBe(65_000);
    // Node enforces both timeouts only on this interval (set, though its types do not say so).
    expect((server as unknown as { connectionsCheckingInterval: number }).connectionsCheckingInterval).toBeLessThanOrEqual(5_000);
  });

  const short = { requestTimeoutMs: 400, headersTimeoutMs: 200, keepAliveTimeoutMs: 1_000, checkIntervalMs: 50 };

  it('answers a body that stops coming with 408 and ends the request', async () => {
    const { port, seen } = await listening(short);
    const answer = await exchange(port, 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000000\r\n\r\nonly the start');
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    await expect.poll(() => seen).toEqual(['request closed']);
  });

  it('answers headers that stop coming with 408', async () => {
    const { port, seen } = await listening(short);
    expect(await exchange(port, 'POST /upload HTTP/1.1\r\nHost: x\r\nX-Slow: ')).toMatch(/^HTTP\/1\.1 408/);
    expect(seen).toEqual([]);
  });
});
