import net, { type AddressInfo } from 'node:net';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { closeDatabasePools } from '../../src/tools/runners/database';
import { createToolRunners } from '../../src/tools/runners/index';
import { retryableKinds, ToolError, type ResolvedTool, type ToolCallContext, type ToolRunner } from '../../src/tools/types';
import { createToolDatabase, type ToolDatabase } from '../support/database-guard-fixture';

// Attacks from issue 9 finding 3, run the way the worker wires database tools: the product's own database
// (this run's test database) is never a target, and what a tool can reach stays read-only.
const productUrl = inject('databaseUrl');
const productName = new URL(productUrl).pathname.slice(1);
const secret = 'hunter2-do-not-echo';
let target: ToolDatabase;
let proxy: net.Server;
let proxyPort: number;

const ctx: ToolCallContext = { signal: new AbortController().signal, idempotencyKey: 'wf-1:call-1', attempt: 1 };

function runnerFor(allowList: string[]): ToolRunner {
  // ownDatabaseUrl is what the worker passes from DATABASE_URL.
  const runner = createToolRunners({ allowList, ownDatabaseUrl: productUrl }).runners.database;
  if (!runner) throw new Error('no database runner');
  return runner;
}
const allowed = () => runnerFor(['127.0.0.1:5432', 'localhost:5432', `127.0.0.1:${proxyPort}`]);

function tool(url: string, query: string): ResolvedTool {
  return { id: 't1', name: 'db', toolType: 'database', config: { query }, credentials: { type: 'connection_string', url }, timeoutMs: 5_000 };
}

async function refusal(promise: Promise<unknown>): Promise<ToolError> {
  const error: unknown = await promise.then(() => 'the call succeeded', (e: unknown) => e);
  expect(error).toBeInstanceOf(ToolError);
  const toolError = error as ToolError;
  expect(retryableKinds.has(toolError.kind)).toBe(false);
  expect(toolError.message).not.toContain(secret);
  return toolError;
}

const urlOf = (user: string, host: string, database: string, query = '') => `postgres://${user}:${secret}@${host}/${database}${query}`;

beforeAll(async () => {
  target = await createToolDatabase(productUrl, [
    'create table people (id int primary key, name text not null)',
    "insert into people values (1, 'ada'), (2, 'bob')",
    // Dangerous calls hidden in a function, where no look at the query text can see them.
    `create function sneaky() returns int language plpgsql as $$
       begin perform pg_advisory_lock(4343); perform lo_from_bytea(0, 'x'); return 1; end $$`,
  ]);
  // Another way to reach the same server: a plain TCP forwarder on a port of its own.
  proxy = net.createServer((client) => {
    const upstream = net.connect(5432, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyPort = (proxy.address() as AddressInfo).port;
});

afterAll(async () => {
  await closeDatabasePools();
  await new Promise((resolve) => proxy?.close(resolve));
  await target?.drop();
});

describe('database tools: where they may connect', () => {
  it('judges the host by the address policy: loopback is refused unless allow-listed', async () => {
    const error = await refusal(runnerFor([])(tool(urlOf(target.reader, '127.0.0.1:5432', target.database), 'select 1 as one'), {}, ctx));
    expect(error).toMatchObject({ kind: 'forbidden', message: expect.stringMatching(/not allow-listed/) });
    const v6 = await refusal(runnerFor(['127.0.0.1:5432'])(tool(urlOf(target.reader, '[::1]:5432', target.database), 'select 1'), {}, ctx));
    expect(v6.kind).toBe('forbidden');
  });

  it.each([
    ['a socket directory in ?host=', (db: string) => urlOf(target.reader, '', db, '?host=/var/run/postgresql')],
    ['a socket path as the host', (db: string) => urlOf(target.reader, '%2Fvar%2Frun%2Fpostgresql', db)],
    ['?host= next to an allowed host', (db: string) => urlOf(target.reader, '127.0.0.1:5432', db, '?host=/var/run/postgresql')],
    ['?hostaddr=', (db: string) => urlOf(target.reader, 'example.com:5432', db, '?hostaddr=127.0.0.1')],
    ['?options= setting parameters', (db: string) => urlOf(target.reader, '127.0.0.1:5432', db, '?options=-c%20default_transaction_read_only%3Doff')],
    ['a startup parameter', (db: string) => urlOf(target.reader, '127.0.0.1:5432', db, '?search_path=pg_catalog')],
    ['several hosts', (db: string) => urlOf(target.reader, '127.0.0.1:5432,127.0.0.1:5433', db)],
  ])('refuses %s before connecting', async (_label, url) => {
    await refusal(allowed()(tool(url(productName), 'select 1 as one'), {}, ctx));
    await refusal(allowed()(tool(url(target.database), 'select 1 as one'), {}, ctx));
  });

  it.each([
    ['127.0.0.1 as the superuser', () => urlOf('postgres', '127.0.0.1:5432', productName)],
    ['127.0.0.1 as a read-only role', () => urlOf(target.reader, '127.0.0.1:5432', productName)],
    ['localhost', () => urlOf(target.reader, 'localhost:5432', productName)],
    ['a TCP forwarder on another port', () => urlOf(target.reader, `127.0.0.1:${proxyPort}`, productName)],
  ])('never runs a query on the product database, reached through %s', async (_label, url) => {
    const error = await refusal(allowed()(tool(url(), 'select count(*) from pg_class'), {}, ctx));
    expect(error).toMatchObject({ kind: 'forbidden', message: expect.stringMatching(/product's own database/) });
  });

  it('reads a second database on the same server with a dedicated role', async () => {
    const result = await allowed()(tool(target.readerUrl, 'select id, name from people order by id'), {}, ctx);
    expect(result).toMatchObject({ rows: [{ id: 1, name: 'ada' }, { id: 2, name: 'bob' }] });
    // Database names are public to every role; that stays readable.
    const names = await allowed()(tool(target.readerUrl, 'select datname from pg_database'), {}, ctx);
    expect(JSON.stringify(names)).toContain(target.database);
  });

  it('refuses a superuser and roles that can read server files or signal backends', async () => {
    expect((await refusal(allowed()(tool(target.superuserUrl, 'select 1 as one'), {}, ctx))).message).toMatch(/superuser/);
    for (const role of ['pg_read_server_files', 'pg_signal_backend']) {
      await target.admin.unsafe(`grant ${role} to "${target.reader}"`);
      try {
        expect((await refusal(allowed()(tool(target.readerUrl, 'select 1 as one'), {}, ctx))).message).toContain(role);
      } finally {
        await target.admin.unsafe(`revoke ${role} from "${target.reader}"`);
      }
    }
  });
});

describe('database tools: read-only means read-only', () => {
  const largeObjects = async () => (await target.admin`select count(*)::int as n from pg_largeobject_metadata`)[0]?.n as number;
  const advisoryLocks = async (key: number) =>
    (await target.admin`select count(*)::int as n from pg_locks where locktype = 'advisory' and objid = ${key}`)[0]?.n as number;

  it.each([
    ['reading a server file', "select pg_read_file('/etc/passwd') as f"],
    ['importing a file as a large object', "select lo_import('/etc/passwd') as oid"],
    ['writing a large object', "select lo_from_bytea(0, 'x') as oid"],
    ['taking an advisory lock', 'select pg_advisory_lock(4242)'],
    ['a query run from a string', "select query_to_xml('select pg_read_file(''/etc/passwd'')', true, false, '')"],
    ['changing a session setting', "select set_config('statement_timeout', '0', false)"],
  ])('refuses %s', async (_label, query) => {
    expect((await refusal(allowed()(tool(target.readerUrl, query), {}, ctx))).kind).toBe('forbidden');
    expect(await largeObjects()).toBe(0);
    expect(await advisoryLocks(4242)).toBe(0);
  });

  it('does not let a tool terminate another session of its role', async () => {
    const victim = postgres(target.readerUrl, { max: 1, onnotice: () => {} });
    try {
      const [{ pid }] = (await victim`select pg_backend_pid() as pid`) as unknown as [{ pid: number }];
      await refusal(allowed()(tool(target.readerUrl, `select pg_terminate_backend(${pid})`), {}, ctx));
      await refusal(allowed()(tool(target.readerUrl, `select pg_cancel_backend(${pid})`), {}, ctx));
      await expect(victim`select 1 as alive`).resolves.toEqual([{ alive: 1 }]);
    } finally {
      await victim.end({ timeout: 5 });
    }
  });

  it('leaves nothing behind when a function does what the query text does not show', async () => {
    await expect(allowed()(tool(target.readerUrl, 'select sneaky() as n'), {}, ctx)).resolves.toMatchObject({ rows: [{ n: 1 }] });
    // The transaction is rolled back (no large object) and the session ends (no advisory lock).
    expect(await largeObjects()).toBe(0);
    expect(await advisoryLocks(4343)).toBe(0);
  });

  it('waits for a table lock only briefly', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = target.admin.begin(async (tx) => {
      await tx`lock table people in access exclusive mode`;
      locked();
      await released;
    });
    await isLocked;
    try {
      const runner = allowed();
      const big = { ...tool(target.readerUrl, 'select count(*) from people'), timeoutMs: 60_000 };
      const error: unknown = await runner({ ...big, config: { ...big.config, statementTimeoutMs: 60_000 } }, {}, ctx).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ToolError);
      expect((error as ToolError).message).toMatch(/lock timeout/);
    } finally {
      release();
      await holder;
    }
  });
});
