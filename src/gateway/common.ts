import { and, desc, lt, or, eq, type SQL } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import { ValidationError } from '../errors.js';
import { z } from '../zod.js';

export const idParams = z.object({ id: z.string().uuid().openapi({ description: 'Resource id' }) });

export const jsonObject = z.record(z.string(), z.unknown());

export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional().openapi({ description: 'nextCursor of the previous page' }),
});

export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

/** The instants Postgres `timestamptz` and an ISO string both hold: years 1 to 9999 (Postgres has no year 0). */
const EARLIEST = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');

/** True for a date the database can compare against; JavaScript dates reach years ±275760. */
export function isStorableDate(date: Date): boolean {
  const t = date.getTime();
  return t >= EARLIEST && t <= LATEST;
}

/** An ISO 8601 date-time with offset, within the years the database holds. */
export const isoDateTime = () =>
  z.string().datetime({ offset: true }).refine((v) => isStorableDate(new Date(v)), 'must be between the years 0001 and 9999 (UTC)');

interface Cursor {
  createdAt: Date;
  id: string;
}

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

/** Turns `limit + 1` fetched rows into a page. */
export function toPage<T extends { createdAt: Date; id: string }, V>(rows: T[], limit: number, view: (row: T) => V) {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  const last = items[items.length - 1];
  return { items: items.map(view), nextCursor: more && last ? encodeCursor(last) : null };
}
