import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createNetGuard } from '../../src/net/net-guard';
import { closeDatabasePools, createDatabaseRunner } from '../../src/tools/runners/database';
import { retryableKinds, ToolError, type ResolvedTool, type ToolCallContext } from '../../src/tools/types';
import { createToolDatabase, type ToolDatabase } from '../support/database-guard-fixture';
import { startStallProxy, type StallProxy } from '../support/database-stall-proxy';

// Issue 9, database tool review: a tenant's server must not hold a call past its deadline (a proxy that
// completes the login and then stops answering stands for it), and a result may not outgrow the cap.
const productUrl = inject('databaseUrl');
let target: ToolDatabase;
let proxy: StallProxy | undefined;

const run = createDatabaseRunner({ guard: createNetGuard({ allow: ['127.0.0.1'] }), ownDatabaseUrl: productUrl });
const context = (signal = new AbortController().signal): ToolCallContext => ({ signal, idempotencyKey: 'wf-1:call-1', attempt: 1 });

function tool(query: string, options: { port?: number; timeoutMs?: number; config?: Record<string, unknown> } = {}): ResolvedTool {
  const url = new URL(target.readerUrl);
  url.port = String(options.port ?? 5432);
  return {
    id: 't1', name: 'db', toolType: 'database', config: { query, ...options.config },
    credentials: { type: 'connection_string', url: url.toString() }, timeoutMs: options.timeoutMs ?? 10_000,
  };
}

async function failure(promise: Promise<unknown>): Promise<ToolError> {
  const error: unknown = await promise.then(() => new Error('the call succeeded'), (e: unknown) => e);
  expect(error).toBeInstanceOf(ToolError);
  return error as ToolError;
}

beforeAll(async () => {
  target = await createToolDatabase(productUrl);
});

afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

afterAll(async () => {
  await closeDatabasePools();
  await target?.drop();
});

describe('database tools: a server that stops answering', () => {
  it('cannot hold the call at the identity check past the tool timeout', { timeout: 20_000 }, async () => {
    proxy = await startStallProxy();
    proxy.stallAt = 'after-login';
    const call = run(tool('select 1 as one', { port: proxy.port, timeoutMs: 1_000 }), {}, context());
    const connection = await proxy.nextConnection();
    await connection.stalled;
    const error = await failure(call);
    expect(error.kind).toBe('timeout');
    expect(retryableKinds.has(error.kind)).toBe(true);
    // The worker destroyed its socket: the server's next write is refused.
    await connection.released;
  });

  it('cannot hold the call at the query once the activity is cancelled, whatever it does with the cancel request', { timeout: 20_000 }, async () => {
    proxy = await startStallProxy();
    proxy.stallAt = { clientSends: 'stall_marker' };
    const abort = new AbortController();
    const call = run(tool('select 1 as stall_marker', { port: proxy.port, timeoutMs: 60_000 }), {}, context(abort.signal));
    const connection = await proxy.nextConnection();
    await connection.stalled;
    abort.abort();
    expect((await failure(call)).kind).toBe('timeout');
    await connection.released;
  });

  it('fails as a network error, with no unhandled rejection, when the server drops the connection after the login', async () => {
    // postgres.js' array-type lookup ran right after the login with its promise dropped: this was an
    // unhandled rejection, which ends a Node 20 worker (vitest fails the run on one).
    proxy = await startStallProxy();
    proxy.stallAt = 'drop-after-login';
    const error = await failure(run(tool('select 1 as one', { port: proxy.port }), {}, context()));
    expect(error.kind).toBe('network');
  });

  it('runs every statement, the identity check included, under the statement timeout, capped at the tool timeout', async () => {
    const setting = "select current_setting('statement_timeout') as t";
    await expect(run(tool(setting, { timeoutMs: 3_000, config: { statementTimeoutMs: 60_000 } }), {}, context())).resolves.toMatchObject({ rows: [{ t: '3s' }] });
  });
});

describe('database tools: result size', () => {
  const tooLarge = /larger than 1048576 bytes of JSON/;

  it('refuses many rows over the cap without fetching them all', async () => {
    const error = await failure(run(tool("select repeat('x', 1000) as v from generate_series(1, 5000)", { config: { maxRows: 10_000 } }), {}, context()));
    expect(error).toMatchObject({ kind: 'client_error', message: expect.stringMatching(tooLarge) });
  });

  it('refuses the 1 GB query from the review quickly and non-retryably', { timeout: 20_000 }, async () => {
    const query = "select repeat('x', 100000) from generate_series(1, 10001)";
    const error = await failure(run(tool(query, { config: { maxRows: 10_000 } }), {}, context()));
    expect(error).toMatchObject({ kind: 'client_error', message: expect.stringMatching(tooLarge) });
    expect(retryableKinds.has(error.kind)).toBe(false);
  });

  it('stops reading a single value larger than the cap instead of receiving it whole', { timeout: 20_000 }, async () => {
    proxy = await startStallProxy();
    const call = run(tool("select repeat('x', 32 * 1024 * 1024) as v", { port: proxy.port }), {}, context());
    const connection = await proxy.nextConnection();
    expect(await failure(call)).toMatchObject({ kind: 'client_error', message: expect.stringMatching(tooLarge) });
    await connection.released;
    // The socket was closed after a few MiB (socket buffers included), far from the value's 32 MiB.
    expect(connection.bytesToClient()).toBeLessThan(16 * 1024 * 1024);
  });

  it('still returns results under the cap', async () => {
    const result = await run(tool("select repeat('x', 1000) as v from generate_series(1, 500)", { config: { maxRows: 10_000 } }), {}, context());
    expect(result).toMatchObject({ rowCount: 500, truncated: false });
  });
});
