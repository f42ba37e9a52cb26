import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WatchingProxy {
  /** `http://127.0.0.1:port`; paths are passed through to the target. */
  url: string;
  port: number;
  /** Requests whose caller went away before the answer ended: an aborted HTTP call. */
  aborted(): number;
  close(): Promise<void>;
}

/**
 * A pass-through HTTP proxy in front of a local test server that notices when a caller abandons a request
 * mid-answer (the connection closes before the response ended), which is what an aborted `fetch` looks like
 * from the server's side. Tests assert the mechanism (the call was cut), not how long it took.
 */
export async function startWatchingProxy(target: string): Promise<WatchingProxy> {
  let aborted = 0;
  const server = createServer((req, res) => {
    const upstream = request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
    res.on('close', () => {
      if (res.writableFinished) return;
      aborted += 1;
      upstream.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    aborted: () => aborted,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
