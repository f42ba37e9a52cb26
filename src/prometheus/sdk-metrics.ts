import { createServer, type AddressInfo } from 'node:net';

/**
 * A free port on the loopback interface for the Temporal SDK's own Prometheus exporter. The worker's
 * `/metrics` fetches it and appends it, so the SDK's metrics share the worker's port and its token and the
 * exporter itself (which has no auth) is never reachable from outside the host.
 */
export async function freeLoopbackAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

/** The SDK's exposition at `address`; empty (and reported) when it does not answer, so the worker's own metrics still go out. */
export function sdkMetricsText(address: string, onError: (err: unknown) => void): () => Promise<string> {
  return async () => {
    try {
      const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(2_000) });
      if (!res.ok) throw new Error(`the Temporal SDK's metrics answered ${res.status}`);
      return await res.text();
    } catch (err) {
      onError(err);
      return '';
    }
  };
}
