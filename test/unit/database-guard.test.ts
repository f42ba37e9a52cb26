import { describe, expect, it } from 'vitest';
import { createNetGuard } from '../../src/net/net-guard';
import { checkTarget, parseConnectionString, withoutPassword } from '../../src/tools/runners/database-connect';
import { ownDatabaseMatcher, sameDatabase, type DatabaseIdentity } from '../../src/tools/runners/database-identity';
import { assertNoDangerousCalls } from '../../src/tools/runners/database-sql';
import { ToolError } from '../../src/tools/types';

const secret = 'pw-0f9e8d-never-echo';

function refused(fn: () => unknown): ToolError {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ToolError);
  expect((error as ToolError).message).not.toContain(secret);
  return error as ToolError;
}

describe('parseConnectionString', () => {
  it('reads one TCP host, port, database, user, password and sslmode', () => {
    expect(parseConnectionString(`postgresql://app%40x:${secret}@[2001:db8::1]:6543/sales%20db?sslmode=verify-full`)).toEqual({
      hostname: '2001:db8::1', port: 6543, database: 'sales db', user: 'app@x', password: secret, sslmode: 'verify-full',
    });
    expect(parseConnectionString('postgres://reader@db.example.com')).toMatchObject({ port: 5432, database: 'reader', password: '', sslmode: 'disable' });
  });

  it.each([
    ['no host (a Unix socket)', `postgres://u:${secret}@/db`],
    ['a socket directory in ?host=', `postgres://u:${secret}@/db?host=/var/run/postgresql`],
    ['an encoded socket path', `postgres://u:${secret}@%2Fvar%2Frun%2Fpostgresql/db`],
    ['several hosts', `postgres://u:${secret}@a.example:5432,b.example:5432/db`],
    ['several hosts without ports', `postgres://u:${secret}@a.example,b.example/db`],
    ['?hostaddr=', `postgres://u:${secret}@db.example.com/db?hostaddr=127.0.0.1`],
    ['?options=', `postgres://u:${secret}@db.example.com/db?options=-c%20role%3Dpostgres`],
    ['a startup parameter', `postgres://u:${secret}@db.example.com/db?application_name=x`],
  ])('refuses %s as forbidden', (_label, url) => {
    expect(refused(() => parseConnectionString(url)).kind).toBe('forbidden');
  });

  it.each([
    ['not a URL', `host=db user=u password=${secret}`],
    ['another scheme', `mysql://u:${secret}@db.example.com/db`],
    ['no user', 'postgres://db.example.com/db'],
    ['an unknown sslmode', `postgres://u:${secret}@db.example.com/db?sslmode=maybe`],
  ])('refuses %s as invalid_input without quoting it', (_label, url) => {
    expect(refused(() => parseConnectionString(url)).kind).toBe('invalid_input');
  });

  it('blanks the password out of messages', () => {
    const target = parseConnectionString(`postgres://u:${secret}@db.example.com/db`);
    expect(withoutPassword(`server said ${secret}`, target)).toBe('server said [redacted]');
  });
});

describe('assertNoDangerousCalls', () => {
  it.each([
    "select pg_read_file('/etc/passwd')",
    'select "pg_read_file"(\'/etc/passwd\')',
    'select pg_catalog.lo_import(\'/etc/passwd\')',
    "select lo_from_bytea(0, 'x')",
    'select pg_terminate_backend(1)',
    'select pg_try_advisory_lock(1)',
    "select set_config('role', 'postgres', false)",
    "select * from dblink('host=10.0.0.1', 'select 1') as t(x int)",
    "select query_to_xml('select pg_read_file(''/etc/passwd'')', true, false, '')",
    'select * from ts_stat(\'select 1\')',
    'select U&"\\0070g_read_file"(\'/etc/passwd\')',
    'select pg_reload_conf()',
    // SQL given as text, run by the function where no look at the query can follow it.
    "select ts_rewrite('a'::tsquery, 'select target, substitute from public.rules')",
    "select pg_catalog.ts_rewrite('a'::tsquery, 'select 1')",
    "select query_to_xmlschema('select 1', true, false, '')",
    "select cursor_to_xml('c', 1, true, false, '')",
    "select table_to_xml('people', true, false, '')",
    "select schema_to_xml('public', true, false, '')",
    "select database_to_xml(true, false, '')",
    "select database_to_xml_and_xmlschema(true, false, '')",
    "select * from crosstab('select 1, 2, 3') as t(a int, b int)",
    "select * from connectby('people', 'id', 'parent', '1', 0) as t(id text, parent text, level int)",
    "select * from xpath_table('id', 'x', 'people', '/a', 'true') as t(id int, a text)",
  ])('refuses %s', (query) => {
    expect(refused(() => assertNoDangerousCalls(query)).kind).toBe('forbidden');
  });

  it('lets ordinary reads through, including columns that merely start like a function', () => {
    expect(() => assertNoDangerousCalls('select lo_price, loan_id, pg_size_pretty(pg_database_size(current_database())) from t')).not.toThrow();
    expect(() => assertNoDangerousCalls('select pg_sleep(0.01), now()')).not.toThrow();
  });
});

describe('sameDatabase', () => {
  const own = { database: 'app', systemId: '7714590223004903554', started: '1764657008.67453' };
  it('matches the same cluster and database by system identifier or, without it, by start time', () => {
    expect(sameDatabase({ ...own, started: 'other' }, own)).toBe(true); // a physical replica: same data
    expect(sameDatabase({ ...own, systemId: null }, own)).toBe(true); // a role that may not read pg_control_system
    expect(sameDatabase({ ...own, database: 'other' }, own)).toBe(false);
    expect(sameDatabase({ database: 'app', systemId: '1', started: 'other' }, own)).toBe(false);
  });
});

describe('ownDatabaseMatcher', () => {
  // The product's own database as its reader sees it; `started` changes when Postgres restarts.
  function reader(start: string) {
    const state = { started: start, reads: 0 };
    const read = async (): Promise<DatabaseIdentity> => ((state.reads += 1), { database: 'app', systemId: '7714590223004903554', started: state.started });
    return { state, isOwn: ownDatabaseMatcher(read) };
  }
  // A tool role that may not read pg_control_system: only the start time tells the server apart.
  const seenByTool = (started: string, database = 'app'): DatabaseIdentity => ({ database, systemId: null, started });

  it('still recognises its own database by start time after Postgres restarted', async () => {
    const { state, isOwn } = reader('1000.5');
    expect(await isOwn(seenByTool('1000.5'))).toBe(true);
    state.started = '2000.25'; // restart: the cached start time is stale
    expect(await isOwn(seenByTool('2000.25'))).toBe(true);
    expect(state.reads).toBe(2);
    expect(await isOwn(seenByTool('2000.25'))).toBe(true);
    expect(state.reads).toBe(2); // the fresh identity is cached again
  });

  it('reads its own identity again only when a match would rest on a start time it may have missed', async () => {
    const { state, isOwn } = reader('1000.5');
    expect(await isOwn(seenByTool('3000', 'other'))).toBe(false); // another name: never the same database
    expect(await isOwn({ database: 'app', systemId: '42', started: '3000' })).toBe(false); // both system ids known
    expect(state.reads).toBe(1);
    expect(await isOwn(seenByTool('3000'))).toBe(false); // same name, other start time: look again, still not ours
    expect(state.reads).toBe(2);
  });

  it('shares one read between concurrent calls and retries after a failed read', async () => {
    let reads = 0;
    let fail = true;
    const isOwn = ownDatabaseMatcher(async () => {
      reads += 1;
      if (fail) throw new Error('connection refused');
      return { database: 'app', systemId: null, started: '1' };
    });
    await expect(isOwn(seenByTool('1'))).rejects.toMatchObject({ kind: 'network' });
    fail = false;
    expect(await Promise.all([isOwn(seenByTool('1')), isOwn(seenByTool('1'))])).toEqual([true, true]);
    expect(reads).toBe(2);
  });
});

describe('NetGuard.check', () => {
  it('applies the HTTP address policy to a host and port of another protocol', async () => {
    const guard = createNetGuard({ allow: ['127.0.0.1:5432'], resolve: async () => [{ address: '10.1.2.3', family: 4 }] });
    await expect(guard.check('127.0.0.1', '5432')).resolves.toEqual([{ address: '127.0.0.1', family: 4 }]);
    await expect(guard.check('127.0.0.1', '5433')).rejects.toMatchObject({ kind: 'forbidden' });
    await expect(guard.check('[::1]', '5432')).rejects.toMatchObject({ kind: 'forbidden' });
    await expect(guard.check('db.internal', '5432')).rejects.toMatchObject({ kind: 'forbidden' });
    await expect(guard.check('169.254.169.254', '80')).rejects.toMatchObject({ kind: 'forbidden' });
  });

  it("reaches a database tool as a ToolError, so the runner keeps the guard's kind (not retried)", async () => {
    const guard = createNetGuard({ allow: [] });
    const target = parseConnectionString('postgres://reader:pw@127.0.0.1:5432/app');
    const error = await checkTarget(guard, target, AbortSignal.timeout(5_000)).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ToolError);
    expect(error).toMatchObject({ kind: 'forbidden', message: expect.stringMatching(/not allow-listed/) });
  });
});
