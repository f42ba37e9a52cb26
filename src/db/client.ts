import { sql } from 'drizzle-orm';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema/index.js';

export type Db = PostgresJsDatabase<typeof schema>;
/** A Drizzle transaction handle; queries accept either this or {@link Db}. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type DbOrTx = Db | Tx;

export interface DbHandle {
  db: Db;
  sql: postgres.Sql;
  close: () => Promise<void>;
}

/** One pool per process; the entry point creates it and closes it on shutdown. */
export function createDb(url: string, options: { max?: number; appName?: string } = {}): DbHandle {
  const sql = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    // An unreachable database fails a request within seconds (answered 503), not after the driver's 30 s default.
    connect_timeout: 10,
    connection: {
      application_name: options.appName ?? 'smart-agents',
      // A transaction left waiting on its client (a code path that needs a second connection while the pool is
      // exhausted, a hung RPC inside it) is ended by the server, so its connection comes back instead of the pool
      // stalling for good. Longer than any transaction of ours takes (they hold at most a Temporal start).
      idle_in_transaction_session_timeout: 30_000,
    },
  });
  const db = drizzle(sql, { schema });
  return { db, sql, close: () => sql.end({ timeout: 5 }) };
}

/** One round trip to the database, for readiness checks. */
export async function pingDatabase(db: Db): Promise<void> {
  await db.execute(sql`select 1`);
}
