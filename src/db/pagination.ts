import { and, desc, lt, or, eq, type InferSelectModel, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { DbOrTx } from './client.js';
import { ValidationError } from '../errors.js';
import { isStorableDate, z } from '../zod.js';

/*
 * Keyset pagination shared by every domain store and the gateway: stores turn a cursor into a condition,
 * routes turn the `limit + 1` rows a store returns into a page.
 */

interface Cursor {
  createdAt: Date;
  id: string;
}

/** The opaque `nextCursor` of a page: the last row's (created_at, id), base64url JSON. */
export function encodeCursor(row: { createdAt: Date; id: string }): string {
  return Buffer.from(JSON.stringify([row.createdAt.toISOString(), row.id])).toString('base64url');
}

function decodeCursor(cursor: string): Cursor {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const createdAt = new Date(at);
    if (!isStorableDate(createdAt) || !z.string().uuid().safeParse(id).success) throw new Error('bad cursor');
    return { createdAt, id };
  } catch {
    throw new ValidationError('invalid request: query.cursor: not a cursor returned by this API', [
      { field: 'query.cursor', message: 'not a cursor returned by this API' },
    ]);
  }
}

/**
 * Keyset pagination, newest first, on (created_at, id): stable under inserts, and served by the
 * (project, created_at, id) indexes. Returns the condition to add and the ordering to use.
 */
export function keyset(columns: { createdAt: PgColumn; id: PgColumn }, cursor: string | undefined) {
  let where: SQL | undefined;
  if (cursor) {
    const c = decodeCursor(cursor);
    where = or(lt(columns.createdAt, c.createdAt), and(eq(columns.createdAt, c.createdAt), lt(columns.id, c.id)));
  }
  return { where, orderBy: [desc(columns.createdAt), desc(columns.id)] };
}

/** What a store's list function takes: the previous page's cursor and the page size. */
export interface PageRequest {
  cursor?: string | undefined;
  limit: number;
}

/**
 * One page of a table's rows, newest first: the rows matching `scope` (the project, or the parent row the
 * caller has loaded from the project) and every given filter (undefined ones are skipped), after the cursor.
 * Returns `limit + 1` rows so the caller can tell whether there is more (see {@link toPage}).
 */
export function selectPage<T extends PgTable & { createdAt: PgColumn; id: PgColumn }>(
  db: DbOrTx,
  table: T,
  scope: SQL,
  filters: ReadonlyArray<SQL | undefined>,
  page: PageRequest,
): Promise<InferSelectModel<T>[]> {
  const { where, orderBy } = keyset(table, page.cursor);
  // Drizzle cannot type a select from a generic table; the rows are the table's, hence the cast below.
  const query = db
    .select()
    .from(table as PgTable)
    .where(and(scope, ...filters, where))
    .orderBy(...orderBy)
    .limit(page.limit + 1);
  return query as unknown as Promise<InferSelectModel<T>[]>;
}

/** Turns `limit + 1` fetched rows into a page. */
export function toPage<T extends { createdAt: Date; id: string }, V>(rows: T[], limit: number, view: (row: T) => V) {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  const last = items[items.length - 1];
  return { items: items.map(view), nextCursor: more && last ? encodeCursor(last) : null };
}
