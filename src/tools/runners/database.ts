import postgres from 'postgres';
import { ToolError, type ResolvedTool, type ToolErrorKind, type ToolRunner } from '../types.js';

const DEFAULT_MAX_ROWS = 100;
const MAX_MAX_ROWS = 10_000;
const DEFAULT_STATEMENT_TIMEOUT_MS = 10_000;

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

/** One small pool per connection URL, shared by every tool and call that uses that database. */
const pools = new Map<string, postgres.Sql>();

function poolFor(url: string): postgres.Sql {
  let sql = pools.get(url);
  if (!sql) {
    try {
      // prepare: false, because arbitrary tool queries would otherwise pile up as named statements.
      sql = postgres(url, { max: 2, idle_timeout: 60, connect_timeout: 10, prepare: false, onnotice: () => {} });
    } catch (error) {
      throw new ToolError('invalid_input', `bad connection string: ${(error as Error).message}`);
    }
    pools.set(url, sql);
  }
  return sql;
}

/** Ends every pool; call once at worker shutdown. */
export async function closeDatabasePools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((sql) => sql.end({ timeout: 5 })));
}

/**
 * Blanks out comments, string literals and quoted identifiers so that a `;` or keyword inside them
 * does not count. Postgres nests block comments, and E'' strings take backslash escapes.
 */
function stripLiterals(query: string): string {
  let out = '';
  for (let i = 0; i < query.length; ) {
    const end = literalEnd(query, i);
    out += end === i ? query[i] : ' ';
    i = end === i ? i + 1 : end;
  }
  return out;
}

/** Where the comment or literal starting at `i` ends, or `i` if none starts there. */
function literalEnd(q: string, i: number): number {
  if (q.startsWith('--', i)) return q.includes('\n', i) ? q.indexOf('\n', i) : q.length;
  if (q.startsWith('/*', i)) return blockCommentEnd(q, i);
  if (q[i] === "'") return quotedEnd(q, i, "'", /[eE]/.test(q[i - 1] ?? ''));
  if (q[i] === '"') return quotedEnd(q, i, '"', false);
  const tag = /\$(?:[A-Za-z_]\w*)?\$/y;
  tag.lastIndex = i;
  const dollar = tag.exec(q)?.[0];
  if (!dollar) return i;
  const close = q.indexOf(dollar, i + dollar.length);
  return close < 0 ? q.length : close + dollar.length;
}

function blockCommentEnd(q: string, start: number): number {
  let depth = 0;
  for (let i = start; i < q.length - 1; i++) {
    if (q.startsWith('/*', i)) depth += 1;
    else if (q.startsWith('*/', i)) depth -= 1;
    else continue;
    if (depth === 0) return i + 2;
    i += 1; // skip the second character of the pair
  }
  return q.length;
}

function quotedEnd(q: string, start: number, quote: string, backslashEscapes: boolean): number {
  for (let i = start + 1; i < q.length; i++) {
    if (backslashEscapes && q[i] === '\\') i += 1;
    else if (q[i] === quote && q[i + 1] === quote) i += 1;
    else if (q[i] === quote) return i + 1;
  }
  return q.length;
}

/**
 * A cheap first gate: one statement that starts as a read. The read-only transaction is the real
 * guarantee (a data-modifying CTE or a writing function passes this check and fails there).
 */
export function assertSingleReadStatement(query: string): void {
  const bare = stripLiterals(query).trim().replace(/;\s*$/, '');
  if (bare.includes(';')) throw new ToolError('forbidden', 'only a single SQL statement is allowed');
  if (!/^\(*\s*(select|with|values|table)\b/i.test(bare)) {
    throw new ToolError('forbidden', 'only SELECT, WITH … SELECT, VALUES or TABLE queries are allowed');
  }
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
  if (state === '57014') return 'timeout'; // statement_timeout or our cancel
  // 25xxx: the read-only transaction refused a write or a switch to read-write; 42501: privileges.
  if (state.startsWith('25') || state === '42501') return 'forbidden';
  if (state.startsWith('08') || state.startsWith('57P')) return 'network';
  if (state.startsWith('28') || state === '3D000') return 'client_error'; // bad login or database
  if (['42', '22', '21', '0A', '2F', '38', '39', 'P0'].some((c) => state.startsWith(c))) return 'invalid_input';
  return 'server_error';
}

/**
 * Runs the configured query with the named arguments bound as `$1..$n`, inside `BEGIN READ ONLY`
 * with a local `statement_timeout`, and fetches at most `maxRows + 1` rows through a cursor.
 */
export const runDatabaseTool: ToolRunner = async (tool, args, ctx): Promise<DatabaseToolResult> => {
  const config = parseConfig(tool);
  if (tool.credentials?.type !== 'connection_string') {
    throw new ToolError('invalid_input', 'database tool needs connection_string credentials');
  }
  assertSingleReadStatement(config.query);
  const values = config.params.map((name) => {
    if (!(name in args) || args[name] === undefined) throw new ToolError('invalid_input', `missing argument "${name}"`);
    return args[name] as postgres.ParameterOrJSON<never>;
  });
  const sql = poolFor(tool.credentials.url);
  try {
    const rows = await sql.begin('read only', async (tx) => {
      await tx.unsafe("select set_config('statement_timeout', $1, true)", [String(config.statementTimeoutMs)]);
      // simple: false (untyped in postgres.js) keeps the extended protocol even without arguments, so
      // the server itself refuses a second statement should one slip past the lexical check.
      const options = { prepare: false, simple: false } as postgres.UnsafeQueryOptions;
      const query = tx.unsafe(config.query, values, options);
      const cancel = () => void query.cancel();
      ctx.signal.addEventListener('abort', cancel, { once: true });
      try {
        for await (const batch of query.cursor(config.maxRows + 1)) return batch;
        return [];
      } finally {
        ctx.signal.removeEventListener('abort', cancel);
      }
    });
    const truncated = rows.length > config.maxRows;
    // The JSON round trip turns dates and numerics into exactly what the model will see.
    const kept = JSON.parse(JSON.stringify(rows.slice(0, config.maxRows))) as Record<string, unknown>[];
    return { rows: kept, rowCount: kept.length, truncated };
  } catch (error) {
    if (error instanceof ToolError) throw error;
    throw new ToolError(kindOf(error), (error as Error).message);
  }
};
