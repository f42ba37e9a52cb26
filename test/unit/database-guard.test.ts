import { describe, expect, it } from 'vitest';
import { createNetGuard } from '../../src/tools/net-guard';
import { parseConnectionString, withoutPassword } from '../../src/tools/runners/database-connect';
import { sameDatabase } from '../../src/tools/runners/database-identity';
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

describe('NetGuard.check', () => {
  it('applies the HTTP address policy to a host and port of another protocol', async () => {
    const guard = createNetGuard({ allow: ['127.0.0.1:5432'], resolve: async () => [{ address: '10.1.2.3', family: 4 }] });
    await expect(guard.check('127.0.0.1', '5432')).resolves.toEqual([{ address: '127.0.0.1', family: 4 }]);
    await expect(guard.check('127.0.0.1', '5433')).rejects.toMatchObject({ kind: 'forbidden' });
    await expect(guard.check('[::1]', '5432')).rejects.toMatchObject({ kind: 'forbidden' });
    await expect(guard.check('db.internal', '5432')).rejects.toMatchObject({ kind: 'forbidden' });
    await expect(guard.check('169.254.169.254', '80')).rejects.toMatchObject({ kind: 'forbidden' });
  });
});
