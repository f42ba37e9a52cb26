import type postgres from 'postgres';
import { ToolError } from '../types.js';

/** Rows fetched per round trip: small enough that one batch of ordinary rows stays far below the cap. */
const BATCH_ROWS = 100;

export interface ReadRequest {
  query: string;
  values: postgres.ParameterOrJSON<never>[];
  maxRows: number;
  /** The largest result, in bytes of the JSON the model will see. */
  maxResultBytes: number;
}

/** What a database tool returns to the model. */
export interface DatabaseToolResult {
  rows: Record<string, unknown>[];
  rowCount: number;
  /** True when the query had more than `maxRows` rows and the rest were not fetched. */
  truncated: boolean;
}

export const resultTooLarge = (maxResultBytes: number) =>
  new ToolError('client_error', `the result is larger than ${maxResultBytes} bytes of JSON; select fewer rows or columns, or shorter values`);

/**
 * Runs the tool's query inside `BEGIN READ ONLY` (the session's timeouts were set at connect time) and
 * reads it through a cursor, `BATCH_ROWS` at a time, keeping a running count of the result's JSON size:
 * once it passes `maxResultBytes` the read stops and the call fails, so a query's size costs the worker
 * at most about one batch more than the cap. (A single value too large for that is cut off at the
 * socket, see `database-socket.ts`.) The transaction is always rolled back: a read has nothing to commit,
 * and whatever a function wrote despite READ ONLY (large objects) is undone.
 */
export async function runReadOnly(sql: postgres.Sql, request: ReadRequest): Promise<DatabaseToolResult> {
  // A single connection (max: 1) may run BEGIN itself.
  await sql.unsafe('begin transaction read only');
  try {
    // simple: false (untyped in postgres.js) keeps the extended protocol even without arguments, so
    // the server itself refuses a second statement should one slip past the lexical check.
    const options = { prepare: false, simple: false } as postgres.UnsafeQueryOptions;
    const query = sql.unsafe(request.query, request.values, options);
    const rows: Record<string, unknown>[] = [];
    let bytes = 2; // the brackets of the rows array
    let truncated = false;
    for await (const batch of query.cursor(Math.min(BATCH_ROWS, request.maxRows + 1))) {
      for (const row of batch) {
        if (rows.length === request.maxRows) {
          truncated = true;
          break;
        }
        // The JSON round trip turns dates and numerics into exactly what the model will see.
        const json = JSON.stringify(row);
        bytes += Buffer.byteLength(json) + 1; // and a comma
        if (bytes > request.maxResultBytes) throw resultTooLarge(request.maxResultBytes);
        rows.push(JSON.parse(json) as Record<string, unknown>);
      }
      if (truncated) break; // leaving the loop closes the cursor
    }
    return { rows, rowCount: rows.length, truncated };
  } finally {
    await sql.unsafe('rollback').catch(() => undefined);
  }
}
