import postgres from 'postgres';
import type { NetGuard } from '../../net/net-guard.js';
import { ToolError, type ResolvedTool, type ToolCallContext, type ToolErrorKind, type ToolRunner } from '../types.js';
import { checkTarget, openPinned, parseConnectionString, withoutPassword, type DatabaseTarget } from './database-connect.js';
import { ownIdentityReader, vetSession } from './database-identity.js';
import { assertNoDangerousCalls, assertSingleReadStatement } from './database-sql.js';

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

/** What a database tool returns to the model. */
export interface DatabaseToolResult {
  rows: Record<string, unknown>[];
  rowCount: number;
  /** True when the query had more than `maxRows` rows and the rest were not fetched. */
  truncated: boolean;
}

function parseConfig(tool: ResolvedTool): DatabaseConfig {
  const { query, params = [], maxRows = DEFAULT_MAX_ROWS, statementTimeoutMs } = tool.config;
  if (typeof query !== 'string' || query.trim() === '') throw new ToolError('invalid_input', 'database tool config needs a "query" string');
  if (!Array.isArray(params) || !params.every((p) => typeof p === 'string')) {
    throw new ToolError('invalid_input', '"params" must be a list of argument names');
  }
  if (typeof maxRows !== 'number' || !Number.isInteger(maxRows) || maxRows < 1 || maxRows > MAX_MAX_ROWS) {
    throw new ToolError('invalid_input', `"maxRows" must be an integer from 1 to ${MAX_MAX_ROWS}`);
  }
  const timeout = statementTimeoutMs ?? Math.min(tool.timeoutMs, DEFAULT_STATEMENT_TIMEOUT_MS);
  if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 1) {
    throw new ToolError('invalid_input', '"statementTimeoutMs" must be a positive integer');
  }
  return { query, params: params as string[], maxRows, statementTimeoutMs: timeout };
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
 * that reach outside their grants, runs the query inside `BEGIN READ ONLY` with local timeouts, fetches
 * at most `maxRows + 1` rows through a cursor, then rolls back and closes the session, so nothing a
 * function did (large objects, advisory locks, settings) outlives the call.
 */
export function createDatabaseRunner(deps: DatabaseRunnerDeps): ToolRunner {
  const ownIdentity = ownIdentityReader(deps.ownDatabaseUrl);
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
    let target: DatabaseTarget | undefined;
    try {
      target = parseConnectionString(tool.credentials.url);
      const addresses = await checkTarget(deps.guard, target, ctx.signal);
      const own = await ownIdentity();
      const sql = openPinned(target, addresses);
      open.add(sql);
      try {
        await vetSession(sql, own);
        return await runReadOnly(sql, config, values, ctx);
      } finally {
        open.delete(sql);
        await sql.end({ timeout: 1 });
      }
    } catch (error) {
      if (error instanceof ToolError) throw new ToolError(error.kind, withoutPassword(error.message, target), error.details);
      throw new ToolError(kindOf(error), withoutPassword((error as Error).message, target));
    }
  };
}

async function runReadOnly(sql: postgres.Sql, config: DatabaseConfig, values: postgres.ParameterOrJSON<never>[], ctx: ToolCallContext) {
  // A single connection (max: 1) may run BEGIN itself; the transaction is always rolled back: a read
  // has nothing to commit, and whatever a function wrote despite READ ONLY (large objects) is undone.
  await sql.unsafe('begin transaction read only');
  try {
    const timeout = String(config.statementTimeoutMs);
    await sql.unsafe(
      `select set_config('statement_timeout', $1, true), set_config('lock_timeout', $2, true),
              set_config('idle_in_transaction_session_timeout', $3, true)`,
      [timeout, String(Math.min(config.statementTimeoutMs, MAX_LOCK_WAIT_MS)), String(config.statementTimeoutMs + 5_000)],
    );
    // simple: false (untyped in postgres.js) keeps the extended protocol even without arguments, so
    // the server itself refuses a second statement should one slip past the lexical check.
    const options = { prepare: false, simple: false } as postgres.UnsafeQueryOptions;
    const query = sql.unsafe(config.query, values, options);
    const cancel = () => void query.cancel();
    ctx.signal.addEventListener('abort', cancel, { once: true });
    let rows: postgres.Row[] = [];
    try {
      for await (const batch of query.cursor(config.maxRows + 1)) {
        rows = batch;
        break;
      }
    } finally {
      ctx.signal.removeEventListener('abort', cancel);
    }
    const truncated = rows.length > config.maxRows;
    // The JSON round trip turns dates and numerics into exactly what the model will see.
    const kept = JSON.parse(JSON.stringify(rows.slice(0, config.maxRows))) as Record<string, unknown>[];
    return { rows: kept, rowCount: kept.length, truncated };
  } finally {
    await sql.unsafe('rollback').catch(() => undefined);
  }
}
