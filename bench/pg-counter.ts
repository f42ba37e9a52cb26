/**
 * A loopback TCP proxy in front of Postgres that counts what each client role sends: round trips (a Sync of
 * the extended protocol, which postgres.js ends every query with, or a simple Query) per `application_name`
 * from the start-up message. It counts at the wire, so no product code is wrapped. Plain-text connections
 * only (the bench's loopback Postgres); an SSL request is refused, as a server without SSL would.
 */
import net from 'node:net';

export interface PgCounter {
  url: string;
  /** Round trips per application_name since start (or the last `reset`). */
  counts: () => Record<string, number>;
  reset: () => void;
  close: () => Promise<void>;
}

export async function startPgCounter(target: string): Promise<PgCounter> {
  const to = new URL(target);
  let counts: Record<string, number> = {};
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(to.port || 5432), to.hostname);
    sockets.add(client).add(upstream);
    let app = 'unknown';
    let started = false;
    let buf = Buffer.alloc(0);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      let used = 0; // bytes of whole messages, forwarded in one write (one write per message would meet Nagle)
      for (;;) {
        const rest = buf.subarray(used);
        if (!started) {
          if (rest.length < 8) break;
          const len = rest.readInt32BE(0);
          if (rest.length < len) break;
          if (rest.readInt32BE(4) === 80877103) { // SSLRequest: say no, the client goes on in plain text
            client.write('N');
            buf = buf.subarray(used + len);
            used = 0;
            continue;
          }
          const params = rest.subarray(8, len).toString('utf8').split('\0');
          const i = params.indexOf('application_name');
          if (i >= 0) app = params[i + 1] ?? app;
          started = true;
          used += len;
          continue;
        }
        if (rest.length < 5) break;
        const len = rest.readInt32BE(1) + 1;
        if (rest.length < len) break;
        const type = String.fromCharCode(rest[0]!);
        if (type === 'S' || type === 'Q') counts[app] = (counts[app] ?? 0) + 1;
        used += len;
      }
      if (used > 0) upstream.write(buf.subarray(0, used));
      buf = buf.subarray(used);
    });
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as net.AddressInfo).port);
  return {
    url: url.toString(),
    counts: () => ({ ...counts }),
    reset: () => {
      counts = {};
    },
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
