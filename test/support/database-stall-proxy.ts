/**
 * A hostile database server for database tools: a TCP proxy to the real Postgres that forwards the login,
 * then, at the chosen point, stops forwarding what the client sends (queries, and cancel requests on new
 * connections) while keeping every socket open, the way a tenant's server that stops answering would.
 * It also counts the bytes it forwarded to the client, and tells whether the client released its socket:
 * after the client's FIN it writes once more, and only a socket the client destroyed answers that with a
 * reset (a half-closed one keeps accepting data and stays open).
 */
import net, { type AddressInfo } from 'node:net';

/** Where the proxy stops forwarding; `drop-after-login` closes the connection there instead. */
export type StallPoint = 'never' | 'after-login' | 'drop-after-login' | { clientSends: string };

export interface ProxiedConnection {
  /** Resolves when the proxy stopped forwarding this connection's client data. */
  stalled: Promise<void>;
  /** Resolves when the client side of this connection is gone for good (destroyed, not half-closed). */
  released: Promise<void>;
  /** Bytes of the server's answers written to the client so far. */
  bytesToClient: () => number;
}

export interface StallProxy {
  port: number;
  stallAt: StallPoint;
  connections: ProxiedConnection[];
  /** Resolves with the next accepted connection. */
  nextConnection: () => Promise<ProxiedConnection>;
  close: () => Promise<void>;
}

/** Proxies to `127.0.0.1:upstreamPort`; set `stallAt` before a call (a stall lasts until `close`). */
export async function startStallProxy(upstreamPort = 5432): Promise<StallProxy> {
  const sockets = new Set<net.Socket>();
  const waiting: Array<(c: ProxiedConnection) => void> = [];
  let anyStalled = false;
  const proxy: StallProxy = { port: 0, stallAt: 'never', connections: [], nextConnection: () => new Promise((r) => waiting.push(r)), close };
  // allowHalfOpen: a hostile server does not close its side when the client does.
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const stallAt = proxy.stallAt;
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let stalled = false;
    let loggedIn = false;
    let toClient = 0;
    let stall!: () => void;
    const stalledPromise = new Promise<void>((resolve) => (stall = () => ((stalled = anyStalled = true), resolve())));
    // A cancel request arrives on a new connection once a query stalled: it is swallowed like the rest.
    if (anyStalled) stall();
    const released = new Promise<void>((resolve) => {
      client.on('close', () => resolve());
      // A socket the client destroyed answers a write with a reset, noticed at the next write: keep writing.
      client.on('end', () => {
        const poke = setInterval(() => client.write('N'), 20);
        client.on('close', () => clearInterval(poke));
      });
    });
    client.on('error', () => undefined);
    upstream.on('error', () => client.destroy());
    client.on('data', (chunk: Buffer) => {
      if (!stalled && typeof stallAt === 'object' && chunk.includes(stallAt.clientSends)) stall();
      if (!stalled) upstream.write(chunk);
    });
    // Backpressure as a pipe has it, so the count is what the client took in, not what waits in our buffer.
    client.on('drain', () => upstream.resume());
    upstream.on('data', (chunk: Buffer) => {
      if (client.destroyed) return;
      toClient += chunk.length;
      if (!client.write(chunk)) upstream.pause();
      // ReadyForQuery ('Z', length 5) ends the login; it is the last message of the server's first answer.
      if (!loggedIn && chunk.length >= 6 && chunk[chunk.length - 6] === 0x5a && chunk[chunk.length - 2] === 5) {
        loggedIn = true;
        if (stallAt === 'after-login') stall();
        if (stallAt === 'drop-after-login') client.destroy();
      }
    });
    const connection: ProxiedConnection = { stalled: stalledPromise, released, bytesToClient: () => toClient };
    proxy.connections.push(connection);
    waiting.shift()?.(connection);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = (server.address() as AddressInfo).port;
  async function close() {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
  return proxy;
}
