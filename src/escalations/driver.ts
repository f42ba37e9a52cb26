import type postgres from 'postgres';
import type { Db, Tx } from '../db/client.js';

// Hand-written SQL for the statements on every escalation's path (its first step, each level, each change):
// Drizzle's query building was a quarter of the worker's CPU per escalation (SCALING.md). These reach the
// postgres-js driver under a Drizzle handle, so a Drizzle query (the webhook outbox) can share the transaction.

/** The postgres-js pool under a Drizzle database (Drizzle keeps it as `$client`). */
export function poolOf(db: Db): postgres.Sql {
  return (db as Db & { $client: postgres.Sql }).$client;
}

/** The driver's transaction under a Drizzle one (Drizzle's postgres-js session keeps it as `client`). */
export function driverOf(tx: Tx): postgres.TransactionSql {
  const client = (tx as unknown as { session?: { client?: postgres.TransactionSql } }).session?.client;
  if (typeof client !== 'function') throw new Error('the Drizzle transaction has no postgres-js client');
  return client;
}
