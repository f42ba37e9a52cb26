/**
 * A database for database tools to point at that is NOT the product's own: a second database on the same
 * server as the test run's database, with a LOGIN role that can only read it (trust auth, no password),
 * the way the README tells users to set up a tool. Created by the superuser, dropped at the end.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

export interface ToolDatabase {
  /** `postgres://<reader>@127.0.0.1:5432/<db>`: the dedicated read-only role on the second database. */
  readerUrl: string;
  /** The same database as the superuser, for setup in tests and for the "superuser is refused" case. */
  superuserUrl: string;
  reader: string;
  database: string;
  /** Superuser connection to the second database. */
  admin: postgres.Sql;
  drop: () => Promise<void>;
}

/** `productUrl` is the run's database (its server is where the second database is created). */
export async function createToolDatabase(productUrl: string, setupSql: string[] = []): Promise<ToolDatabase> {
  const suffix = randomBytes(4).toString('hex');
  const database = `sao_tooldb_${suffix}`;
  const reader = `sao_tool_reader_${suffix}`;
  const server = postgres(withDatabase(productUrl, 'postgres'), { max: 1, onnotice: () => {} });
  await server.unsafe(`create database "${database}"`);
  await server.unsafe(`create role "${reader}" login`);
  const superuserUrl = withDatabase(productUrl, database);
  const admin = postgres(superuserUrl, { max: 1, onnotice: () => {} });
  for (const statement of setupSql) await admin.unsafe(statement);
  await admin.unsafe(`grant usage on schema public to "${reader}"`);
  await admin.unsafe(`grant select on all tables in schema public to "${reader}"`);
  const readerUrl = new URL(superuserUrl);
  readerUrl.username = reader;
  readerUrl.password = '';
  return {
    readerUrl: readerUrl.toString(),
    superuserUrl,
    reader,
    database,
    admin,
    drop: async () => {
      await admin.end({ timeout: 5 });
      await server.unsafe(`drop database if exists "${database}" with (force)`);
      // Objects the role may own elsewhere (a large object an attack left behind) would block the drop.
      const product = postgres(productUrl, { max: 1, onnotice: () => {} });
      await product.unsafe(`drop owned by "${reader}"`).finally(() => product.end({ timeout: 5 }));
      await server.unsafe(`drop owned by "${reader}"`);
      await server.unsafe(`drop role if exists "${reader}"`);
      await server.end({ timeout: 5 });
    },
  };
}

function withDatabase(url: string, database: string): string {
  const next = new URL(url);
  next.pathname = `/${database}`;
  return next.toString();
}
