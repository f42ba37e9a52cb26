import postgres from 'postgres';
import type { NetGuard } from '../../net/net-guard.js';
import { ToolError, type ResolvedTool, type ToolErrorKind, type ToolRunner } from '../types.js';
import { checkTarget, openPinned, parseConnectionString, withoutPassword, type DatabaseTarget } from './database-connect.js';
import { identityReader, ownDatabaseMatcher, vetSession, type OwnDatabaseCheck } from './database-identity.js';
import { resultTooLarge, runReadOnly, type DatabaseToolResult, type ReadRequest } from './database-read.js';
import { toolSockets } from './database-socket.js';
import { assertNoDangerousCalls, assertSingleReadStatement } from './database-sql.js';
import { MAX_RESULT_BYTES } from './javascript.js';

export type { DatabaseToolResult } from './database-read.js';

const DEFAULT_MAX_ROWS = 100;
const MAX_MAX_ROWS = 10_000;
const DEFAULT_STATEMENT_TIMEOUT_MS = 10_000;
/** A read waits this long at most for a table lock a writer holds, rather than queueing for its whole timeout. */
const MAX_LOCK_WAIT_MS = 2_000;

interface DatabaseConfig {
  query: string;
  params: string[];
  maxRows: number;
  statementTimeoutMs: number;
}

/**
 * What a session may receive from the server, in bytes of protocol: the result's cap twice over (a row's
 * wire form is never much larger than its JSON; text escapes only grow the JSON) plus room for the login,
 * the identity check and the row description. Past it the socket is cut, whatever is being sent.
 */
const MAX_BYTES_IN = 2 * MAX_RESULT_BYTES + 256 * 1024;

function parseConfig(tool: ResolvedTool): DatabaseConfig {
  const { query, params = [], maxRows = DEFAULT_MAX_ROWS, statementTimeoutMs } = tool.config;
  if (typeof query !== 'string' || query.trim() === '') throw new ToolError('invalid_input', 'database tool config needs a "query" string');
  if (!Array.isArray(params) || !params.every((p) => typeof p === 'string')) {
    throw new ToolError('invalid_input', '"params" must be a list of argument names');
  }
  if (typeof maxRows !== 'number' || !Number.isInteger(maxRows) || maxRows < 1 || maxRows > MAX_MAX_ROWS) {
    throw new ToolError('invalid_input', `"maxRows" must be an integer from 1 to ${MAX_MAX_ROWS}`);
  }
  const timeout = statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 1) {
    throw new ToolError('invalid_input', '"statementTimeoutMs" must be a positive integer');
  }
  // No statement may outlive the call: the server stops it even when our cancel never reaches it.
  return { query, params: params as string[], maxRows, statementTimeoutMs: Math.min(timeout, tool.timeoutMs) };
}

const networkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/** Maps a SQLSTATE (or a socket error code) to how the activity should treat the failure. */
function kindOf(error: unknown): ToolErrorKind {
  const code = (error as { code?: unknown }).code;
  if (!(error instanceof postgres.PostgresError)) {
    return typeof code === 'string' && (networkCodes.has(code) || code.startsWith('CONNECT')) ? 'network' : 'server_error';
  }
  const state = error.code;
  if (state === '57014' || state === '55P03') return 'timeout'; // statement_timeout, our cancel, lock_timeout
  // 25xxx: the read-only transaction refused a write or a switch to read-write; 42501: privileges.
  if (state.startsWith('25') || state === '42501') return 'forbidden';
  if (state.startsWith('08') || state.startsWith('57P')) return 'network';
  if (state.startsWith('28') || state === '3D000') return 'client_error'; // bad login or database
  if (['42', '22', '21', '0A', '2F', '38', '39', 'P0'].some((c) => state.startsWith(c))) return 'invalid_input';
  return 'server_error';
}

export interface DatabaseRunnerDeps {
  /** The address policy of every outbound connection; loopback and private hosts need an allow-list entry. */
  guard: NetGuard;
  /** The product's own `DATABASE_URL`: that database is never a tool's target, whatever the allow-list says. */
  ownDatabaseUrl: string;
}

/** Connections of calls in flight, ended by {@link closeDatabasePools} at worker shutdown. */
const open = new Set<postgres.Sql>();

/** Ends the connections of calls still running; call once at worker shutdown. */
export async function closeDatabasePools(): Promise<void> {
  const all = [...open];
  open.clear();
  await Promise.all(all.map((sql) => sql.end({ timeout: 5 })));
}

/**
 * Builds the `database` runner. Each call: checks the query, resolves the host with the address policy,
 * opens one connection to exactly the checked addresses, refuses the product's own database and roles
 * that reach outside their grants, runs the query inside `BEGIN READ ONLY` under timeouts set at connect
 * time, reads at most `maxRows` rows and {@link MAX_RESULT_BYTES} of JSON through a cursor, then rolls back
 * and closes the session, so nothing a function did (large objects, advisory locks, settings) outlives it.
 * The whole call runs against one deadline (the tool's timeout or the activity's cancellation): a server
 * that stops answering anywhere (login, identity check, query, rollback) gets its sockets destroyed.
 */
export function createDatabaseRunner(deps: DatabaseRunnerDeps): ToolRunner {
  const isOwn = ownDatabaseMatcher(identityReader(deps.ownDatabaseUrl));
  return async (tool, args, ctx): Promise<DatabaseToolResult> => {
    const config = parseConfig(tool);
    if (tool.credentials?.type !== 'connection_string') {
      throw new ToolError('invalid_input', 'database tool needs connection_string credentials');
    }
    assertSingleReadStatement(config.query);
    assertNoDangerousCalls(config.query);
    const values = config.params.map((name) => {
      if (!(name in args) || args[name] === undefined) throw new ToolError('invalid_input', `missing argument "${name}"`);
      return args[name] as postgres.ParameterOrJSON<never>;
    });
    const request: ReadRequest = { query: config.query, values, maxRows: config.maxRows, maxResultBytes: MAX_RESULT_BYTES };
    let target: DatabaseTarget | undefined;
    try {
      target = parseConnectionString(tool.credentials.url);
      return await runSession(deps, isOwn, target, config, request, AbortSignal.any([ctx.signal, AbortSignal.timeout(tool.timeoutMs)]));
    } catch (error) {
      if (error instanceof ToolError) throw new ToolError(error.kind, withoutPassword(error.message, target), error.details);
      throw new ToolError(kindOf(error), withoutPassword((error as Error).message, target));
    }
  };
}

async function runSession(deps: DatabaseRunnerDeps, isOwn: OwnDatabaseCheck, target: DatabaseTarget, config: DatabaseConfig, request: ReadRequest, deadline: AbortSignal) {
  let stop = () => {};
  const session = (async () => {
    const addresses = await checkTarget(deps.guard, target, deadline);
    deadline.throwIfAborted(); // from here on an abort reaches `stop`
    const sockets = toolSockets(target, addresses, MAX_BYTES_IN);
    const limits = { statementTimeoutMs: config.statementTimeoutMs, lockTimeoutMs: Math.min(config.statementTimeoutMs, MAX_LOCK_WAIT_MS) };
    const sql = openPinned(target, addresses, sockets, limits);
    open.add(sql);
    stop = () => {
      // postgres.js' end only half-closes its socket; destroying ours is what frees a held connection.
      void sql.end({ timeout: 0 });
      sockets.destroy();
    };
    try {
      await vetSession(sql, isOwn);
      return await runReadOnly(sql, request);
    } catch (error) {
      throw sockets.overBudget() ? resultTooLarge(MAX_RESULT_BYTES) : error;
    } finally {
      open.delete(sql);
      await sql.end({ timeout: sockets.connected() ? 1 : 0 });
      sockets.destroy();
    }
  })();
  return beforeDeadline(session, deadline, () => stop());
}

/**
 * Settles with `work`, or rejects with a `timeout` ToolError as soon as `deadline` aborts, after `stop`
 * (which makes `work` settle soon; its outcome is then ignored).
 */
function beforeDeadline<T>(work: Promise<T>, deadline: AbortSignal, stop: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const expire = () => {
      stop();
      reject(new ToolError('timeout', 'the database did not answer before the call\'s deadline; its connection was closed'));
    };
    if (deadline.aborted) expire();
    else deadline.addEventListener('abort', expire, { once: true });
    work.then(resolve, reject).finally(() => deadline.removeEventListener('abort', expire));
  });
}
