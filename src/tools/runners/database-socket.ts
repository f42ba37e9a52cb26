import type { LookupAddress } from 'node:dns';
import net from 'node:net';
import tls from 'node:tls';
import { ToolError } from '../types.js';
import type { DatabaseTarget } from './database-connect.js';

/** A connection attempt to one address gives up after this long and the next address is tried. */
const CONNECT_TIMEOUT_MS = 10_000;
/** Postgres' SSLRequest: length 8, code 80877103. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 4, 210, 22, 47]);

/**
 * The sockets of one database tool call, opened by us rather than by postgres.js so that the call can
 * (a) connect to exactly the addresses the policy checked, (b) destroy them outright at its deadline
 * (postgres.js' own `end` only half-closes, which a server that never answers can hold open forever), and
 * (c) count every byte the server sends, cutting the connection once a session received more than
 * `maxBytesIn`: postgres.js buffers a whole protocol message before parsing it, so one 500 MB value (or
 * error message) would otherwise be held in memory whole before any row-level check could see it.
 */
export interface ToolSockets {
  /** postgres.js' `socket` option: opens (and, per `sslmode`, encrypts) the call's one connection. */
  open: () => Promise<net.Socket>;
  /** Destroys every socket of the call, now and any opened later. */
  destroy: () => void;
  /** Whether a socket was cut for receiving more than `maxBytesIn`. */
  overBudget: () => boolean;
  /** Whether a socket is still open (a lost connection needs no goodbye). */
  connected: () => boolean;
}

export function toolSockets(target: DatabaseTarget, addresses: LookupAddress[], maxBytesIn: number): ToolSockets {
  const sockets = new Set<net.Socket>();
  let destroyed = false;
  let opened = false;
  let over = false;
  const track = (socket: net.Socket): net.Socket => {
    sockets.add(socket);
    // Whoever reads the socket has its own error listener; this one keeps an error on a socket nobody
    // reads any more (destroyed at the deadline while connecting) from becoming an uncaught exception.
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    if (destroyed) socket.destroy();
    return socket;
  };
  return {
    open: async () => {
      // One session per call: the identity check holds for the session it ran on, so a lost connection
      // is not silently replaced by a new one (postgres.js would reconnect for the next statement).
      if (opened) throw new ToolError('network', 'the connection to the database was lost');
      opened = true;
      const raw = track(await connectFirst(addresses, target.port, track));
      const socket = target.sslmode === 'disable' ? raw : await negotiateTls(raw, target);
      if (socket !== raw) track(socket);
      // A listener of our own on the socket postgres.js reads: it runs before postgres.js buffers the chunk.
      let received = 0;
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > maxBytesIn && !over) {
          over = true;
          socket.destroy();
        }
      });
      return socket;
    },
    destroy: () => {
      destroyed = true;
      for (const socket of sockets) socket.destroy();
    },
    overBudget: () => over,
    connected: () => sockets.size > 0,
  };
}

/** Tries the checked addresses in order, as postgres.js does with a host list. */
async function connectFirst(addresses: LookupAddress[], port: number, track: (s: net.Socket) => net.Socket): Promise<net.Socket> {
  let last: unknown = new ToolError('network', 'no address to connect to');
  for (const { address } of addresses) {
    try {
      return await new Promise<net.Socket>((resolve, reject) => {
        const socket = track(net.connect({ host: address, port }));
        socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(Object.assign(new Error(`connecting to ${address}:${port} timed out`), { code: 'ETIMEDOUT' })));
        const closed = () => reject(Object.assign(new Error('the connection closed while connecting'), { code: 'ECONNRESET' }));
        socket.once('error', reject).once('close', closed);
        socket.once('connect', () => {
          socket.setTimeout(0);
          socket.removeListener('error', reject).removeListener('close', closed);
          socket.setNoDelay(true);
          resolve(socket);
        });
      });
    } catch (error) {
      last = error;
    }
  }
  throw last;
}

/**
 * Postgres' TLS start: SSLRequest, then one byte, `S` (go ahead) or `N`. `prefer` and `allow` go on in
 * plain text after `N`; the other modes refuse. Certificates are checked as libpq's modes say.
 */
async function negotiateTls(socket: net.Socket, target: DatabaseTarget): Promise<net.Socket> {
  let failed!: (error: Error) => void;
  const closed = () => failed(Object.assign(new Error('the server closed the connection at the TLS request'), { code: 'ECONNRESET' }));
  const answer = await new Promise<Buffer>((resolve, reject) => {
    failed = reject;
    socket.once('error', reject).once('close', closed).once('data', resolve);
    socket.write(SSL_REQUEST);
  }).finally(() => socket.removeListener('error', failed).removeListener('close', closed));
  // Anything after the one byte would be read as if it came over TLS (CVE-2021-23214's injection).
  if (answer.length !== 1) throw new ToolError('client_error', 'the server answered the TLS request with more than one byte');
  if (answer[0] !== 0x53) {
    if (target.sslmode === 'prefer' || target.sslmode === 'allow') return socket;
    throw new ToolError('client_error', `the server does not accept TLS, which sslmode=${target.sslmode} requires`);
  }
  const secure = tls.connect({ socket, ...tlsOptions(target) });
  let rejected!: (error: Error) => void;
  await new Promise<void>((resolve, reject) => {
    rejected = reject;
    secure.once('secureConnect', () => resolve()).once('error', reject);
  }).finally(() => secure.removeListener('error', rejected));
  return secure;
}

/** TLS keeps the configured name for SNI and certificate checks although the socket goes to an address. */
function tlsOptions(target: DatabaseTarget): tls.ConnectionOptions {
  const { sslmode, hostname } = target;
  if (sslmode !== 'verify-ca' && sslmode !== 'verify-full') return { rejectUnauthorized: false };
  const name = { host: hostname, ...(net.isIP(hostname) ? {} : { servername: hostname }) };
  return sslmode === 'verify-full' ? { ...name, rejectUnauthorized: true } : { ...name, rejectUnauthorized: true, checkServerIdentity: () => undefined };
}
