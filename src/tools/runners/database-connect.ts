import type { LookupAddress } from 'node:dns';
import postgres from 'postgres';
import type { NetGuard } from '../../net/net-guard.js';
import { toolGuard } from '../outbound.js';
import { ToolError } from '../types.js';
import type { ToolSockets } from './database-socket.js';

/** Where a database tool connects, read from its `connection_string` credential. */
export interface DatabaseTarget {
  hostname: string;
  port: number;
  database: string;
  user: string;
  password: string;
  sslmode: 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
}

const sslmodes = new Set<DatabaseTarget['sslmode']>(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']);

/**
 * Parses `postgres://user:password@host:port/database?sslmode=…`. Anything that could send the connection
 * somewhere the address policy did not judge is refused: no host (a Unix socket), a socket path, several
 * hosts, and every query parameter but `sslmode` (`host`, `hostaddr`, `options`, startup parameters).
 * Messages never quote the string: it holds the password.
 */
export function parseConnectionString(raw: string): DatabaseTarget {
  const authority = raw.slice(raw.indexOf('://') + 3).split(/[/?#]/)[0] ?? '';
  const hostPart = authority.slice(authority.lastIndexOf('@') + 1);
  if (hostPart.includes(',')) throw new ToolError('forbidden', 'the connection string names several hosts; give exactly one');
  if (hostPart === '' || hostPart.startsWith(':')) throw socketRefused();
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ToolError('invalid_input', 'the connection string is not a valid postgres:// URL');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ToolError('invalid_input', 'the connection string must start with postgres:// or postgresql://');
  }
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  if (hostname === '' || /[%/\\]/.test(hostname)) throw socketRefused();
  let sslmode: DatabaseTarget['sslmode'] = 'disable';
  for (const [name, value] of url.searchParams) {
    if (name !== 'sslmode' && name !== 'ssl') {
      throw new ToolError('forbidden', `connection option "${name.slice(0, 40)}" is not allowed; only sslmode is`);
    }
    const mode = value === 'true' ? 'require' : value === 'false' ? 'disable' : value;
    if (!sslmodes.has(mode as DatabaseTarget['sslmode'])) throw new ToolError('invalid_input', 'sslmode must be disable, allow, prefer, require, verify-ca or verify-full');
    sslmode = mode as DatabaseTarget['sslmode'];
  }
  const user = decode(url.username);
  if (!user) throw new ToolError('invalid_input', 'the connection string needs a user name');
  const database = decode(url.pathname.slice(1)) || user;
  return { hostname, port: url.port ? Number(url.port) : 5432, database, user, password: decode(url.password), sslmode };
}

const socketRefused = () => new ToolError('forbidden', 'database tools connect over TCP only: give a host name or address, not a Unix socket');

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ToolError('invalid_input', 'the connection string has an invalid %-escape');
  }
}

/**
 * Resolves the host with the address policy; the caller connects to exactly these addresses.
 * @throws ToolError `forbidden` for a refused address, `network` when the name does not resolve.
 */
export function checkTarget(guard: NetGuard, target: DatabaseTarget, signal: AbortSignal): Promise<LookupAddress[]> {
  return toolGuard(guard).check(target.hostname, String(target.port), signal);
}

/** Server-side limits every statement of a tool session runs under, set in the startup packet. */
export interface SessionLimits {
  statementTimeoutMs: number;
  lockTimeoutMs: number;
}

/**
 * One connection over `sockets` (the checked addresses, TLS as `sslmode` says) and nothing else: every
 * option is given so none falls back to the worker's own PG* environment (PGPASSWORD would be sent to the
 * tool's server). The timeouts are startup parameters, so they hold from the first statement on (the
 * identity check and postgres.js' own type lookup included), not only once the tool's transaction set them.
 */
export function openPinned(target: DatabaseTarget, addresses: LookupAddress[], sockets: ToolSockets, limits: SessionLimits): postgres.Sql {
  return postgres({
    host: addresses[0]?.address ?? target.hostname, // for messages only: `socket` decides where to connect
    port: target.port,
    // Not in postgres.js' types, but documented: a function that returns the connection's socket.
    ...({ socket: sockets.open } as object),
    database: target.database,
    user: target.user,
    pass: () => target.password,
    ssl: false, // negotiated by `sockets.open`, so the bytes it counts are the protocol's
    max: 1,
    connect_timeout: 10,
    idle_timeout: 1,
    // Arbitrary tool queries would otherwise pile up as named statements.
    prepare: false,
    // postgres.js runs its array-type lookup from a message handler and drops the promise: a server that
    // closes the connection during it (or our deadline closing it) would be an unhandled rejection, which
    // ends the worker. Without it, array columns arrive as Postgres array text ('{1,2}'); a query that
    // wants JSON arrays selects to_json(column).
    fetch_types: false,
    onnotice: () => {},
    connection: {
      application_name: 'smart-agents-tool',
      statement_timeout: limits.statementTimeoutMs,
      lock_timeout: limits.lockTimeoutMs,
      idle_in_transaction_session_timeout: limits.statementTimeoutMs + 5_000,
      default_transaction_read_only: true,
    },
  });
}

/** Blanks the password out of a message that may echo what was sent. */
export function withoutPassword(message: string, target: DatabaseTarget | undefined): string {
  const password = target?.password;
  return password && password.length >= 4 ? message.split(password).join('[redacted]') : message;
}
