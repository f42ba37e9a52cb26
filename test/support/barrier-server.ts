import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BarrierServer {
  /** `http://127.0.0.1:port`; any path is accepted. */
  url: string;
  port: number;
  /** The most requests that were open at the same time. */
  maxOpen(): number;
  close(): Promise<void>;
}

/**
 * A local HTTP server that holds every request until `parties` of them are open at once, then answers
 * them all. Calls made one after another never get an answer (each waits for the others until its
 * caller times out), so a test of concurrency asserts that the calls were answered and `maxOpen()`,
 * not how long they took.
 */
export async function startBarrierServer(parties: number): Promise<BarrierServer> {
  const held = new Set<ServerResponse>();
  let maxOpen = 0;
  const server = createServer((req, res) => {
    req.resume();
    held.add(res);
    res.on('close', () => held.delete(res)); // a caller that gave up no longer counts
    maxOpen = Math.max(maxOpen, held.size);
    if (held.size < parties) return;
    for (const waiting of held) waiting.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ together: parties }));
    held.clear();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    maxOpen: () => maxOpen,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
