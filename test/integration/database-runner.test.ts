import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createNetGuard } from '../../src/net/net-guard';
import { closeDatabasePools, createDatabaseRunner } from '../../src/tools/runners/database';
import { ToolError, type ResolvedTool, type ToolCallContext } from '../../src/tools/types';
import { createToolDatabase, type ToolDatabase } from '../support/database-guard-fixture';

const databaseUrl = inject('databaseUrl');
// The product's own database is never a target: tools read a second database with a read-only role.
const schema = 'public';
const injection = "'; drop table people; --";
let target: ToolDatabase;
const runDatabaseTool = createDatabaseRunner({ guard: createNetGuard({ allow: ['127.0.0.1'] }), ownDatabaseUrl: databaseUrl });

function tool(query: string, config: Record<string, unknown> = {}, url = target.readerUrl): ResolvedTool {
  return {
    id: 't1',
    name: 'db',
    toolType: 'database',
    config: { query, ...config },
    credentials: { type: 'connection_string', url },
    timeoutMs: 5_000,
  };
}

const ctx: ToolCallContext = { signal: new AbortController().signal, idempotencyKey: 'wf-1:call-1', attempt: 1 };

async function failure(promise: Promise<unknown>): Promise<ToolError> {
  const error: unknown = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ToolError);
  return error as ToolError;
}

const peopleCount = async () => (await target.admin.unsafe(`select count(*)::int as n from ${schema}.people`))[0]?.n as number;

beforeAll(async () => {
  target = await createToolDatabase(databaseUrl, [
    `create table ${schema}.people (id int primary key, name text not null)`,
    `create function ${schema}.add_person() returns int language sql as
      'insert into ${schema}.people values (99, ''mallory'') returning id'`,
  ]);
  await target.admin.unsafe(`insert into ${schema}.people values (1, 'ada'), (2, 'bob'), (3, $1)`, [injection]);
});

afterAll(async () => {
  await closeDatabasePools();
  await target?.drop();
});

describe('database runner', () => {
  it('binds arguments as parameters, so a quote-laden value is only data', async () => {
    const query = `select id, name from ${schema}.people where name = $1 or id = $2 order by id`;
    const result = await runDatabaseTool(tool(query, { params: ['name', 'id'] }), { name: injection, id: 1 }, ctx);
    expect(result).toEqual({ rows: [{ id: 1, name: 'ada' }, { id: 3, name: injection }], rowCount: 2, truncated: false });
    expect(await peopleCount()).toBe(3);
  });

  it('ignores semicolons inside literals and comments', async () => {
    const query = `select ';' as a, $$;$$ as b, E'it\\'s;' as c, "x;y".n from (values (1)) as "x;y"(n) /* ; /* nested ; */ */ -- ;`;
    const result = await runDatabaseTool(tool(query), {}, ctx);
    expect(result).toMatchObject({ rows: [{ a: ';', b: ';', c: "it's;", n: 1 }] });
  });

  it.each([
    ['a DELETE', `delete from ${schema}.people`],
    ['an UPDATE after a comment', `/* select */ update ${schema}.people set name = 'x'`],
    ['a second statement', `select 1; delete from ${schema}.people`],
  ])('refuses %s before sending it', async (_label, query) => {
    expect((await failure(runDatabaseTool(tool(query), {}, ctx))).kind).toBe('forbidden');
    expect(await peopleCount()).toBe(3);
  });

  it.each([
    ['a data-modifying CTE', `with d as (delete from ${schema}.people returning *) select count(*) from d`],
    ['a function that writes', `select ${schema}.add_person()`],
    ['a switch to read-write', "select set_config('transaction_read_only', 'off', true)"],
    ['row locks', `select * from ${schema}.people for update`],
  ])('lets the read-only transaction refuse %s', async (_label, query) => {
    const error = await failure(runDatabaseTool(tool(query), {}, ctx));
    expect(error.kind).toBe('forbidden');
    expect(await peopleCount()).toBe(3);
  });

  it('returns at most maxRows rows and says when it cut the rest', async () => {
    const query = 'select g from generate_series(1, 250) g';
    const cut = await runDatabaseTool(tool(query, { maxRows: 100 }), {}, ctx);
    expect(cut).toMatchObject({ rowCount: 100, truncated: true });
    expect((cut as { rows: unknown[] }).rows.at(-1)).toEqual({ g: 100 });

    const all = await runDatabaseTool(tool(query, { maxRows: 250 }), {}, ctx);
    expect(all).toMatchObject({ rowCount: 250, truncated: false });
    expect(await runDatabaseTool(tool(query), {}, ctx)).toMatchObject({ rowCount: 100, truncated: true });
  });

  it('has Postgres stop a slow query at the configured statement timeout', async () => {
    // The session runs with the configured limit, not the default (the smaller of the tool's timeout and 10 s)...
    const setting = tool("select current_setting('statement_timeout') as t", { statementTimeoutMs: 200 });
    await expect(runDatabaseTool(setting, {}, ctx)).resolves.toMatchObject({ rows: [{ t: '200ms' }] });
    // ...and the server's statement_timeout (SQLSTATE 57014 with this message, not a cancel of ours or the
    // sleep ending) is what stopped the query. Without the limit the sleep returns a row and this fails.
    const error = await failure(runDatabaseTool(tool('select pg_sleep(30)', { statementTimeoutMs: 200 }), {}, ctx));
    expect(error).toMatchObject({ kind: 'timeout', message: 'canceling statement due to statement timeout' });
    // The next call works as usual.
    await expect(runDatabaseTool(tool('select 1 as ok'), {}, ctx)).resolves.toMatchObject({ rows: [{ ok: 1 }] });
  });

  it('reports SQL mistakes and missing arguments as invalid_input', async () => {
    expect((await failure(runDatabaseTool(tool(`select nope from ${schema}.people`), {}, ctx))).kind).toBe('invalid_input');
    expect((await failure(runDatabaseTool(tool('select from where'), {}, ctx))).kind).toBe('invalid_input');
    const missing = await failure(runDatabaseTool(tool('select $1::int as n', { params: ['n'] }), {}, ctx));
    expect(missing).toMatchObject({ kind: 'invalid_input', message: 'missing argument "n"' });
  });

  it('reports an unreachable server as a network error', async () => {
    const error = await failure(runDatabaseTool(tool('select 1', {}, 'postgres://postgres@127.0.0.1:1/none'), {}, ctx));
    expect(error.kind).toBe('network');
  });
});
