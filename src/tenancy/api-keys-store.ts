// Tenant isolation for API keys lives here: every query but the lookup by hash is filtered by project.
import { and, eq, isNull, lt, or, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { selectPage, type PageRequest } from '../db/pagination.js';
import { apiKey } from '../db/schema/index.js';
import { generateApiKey, hashApiKey, KEY_PREFIX, type KeyCheck } from './api-keys.js';

export type ApiKeyRow = typeof apiKey.$inferSelect;

/** Stores a new key's hash and returns the row with the plaintext, which is not kept anywhere. */
export async function createApiKey(
  db: DbOrTx,
  projectId: string,
  p: { name: string; permissions: string[]; expiresAt?: Date | null },
) {
  const key = generateApiKey();
  const [row] = await db
    .insert(apiKey)
    .values({ projectId, name: p.name, prefix: key.prefix, keyHash: key.hash, permissions: p.permissions, expiresAt: p.expiresAt ?? null })
    .returning();
  return { row: row!, plaintext: key.plaintext };
}

/** The project's keys, newest first: `limit + 1` rows so the caller can tell whether there is more. */
export function listApiKeys(db: DbOrTx, projectId: string, page: PageRequest): Promise<ApiKeyRow[]> {
  return selectPage(db, apiKey, eq(apiKey.projectId, projectId), [], page);
}

/** Deactivates the key now; undefined when the project has no such key. */
export async function revokeApiKey(db: DbOrTx, projectId: string, id: string): Promise<ApiKeyRow | undefined> {
  const [row] = await db
    .update(apiKey)
    .set({ isActive: false, revokedAt: new Date() })
    .where(and(eq(apiKey.id, id), eq(apiKey.projectId, projectId)))
    .returning();
  return row;
}

/** Looks a presented key up by its hash (any project: the key says which) and says whether it may be used now. */
export async function checkApiKey(db: DbOrTx, plaintext: string, now = new Date()): Promise<KeyCheck> {
  if (!plaintext.startsWith(KEY_PREFIX) || plaintext.length > 200) return { ok: false, reason: 'unknown' };
  const [row] = await db.select().from(apiKey).where(eq(apiKey.keyHash, hashApiKey(plaintext)));
  if (!row) return { ok: false, reason: 'unknown' };
  if (!row.isActive || row.revokedAt) return { ok: false, reason: 'revoked' };
  if (row.expiresAt && row.expiresAt <= now) return { ok: false, reason: 'expired' };
  return { ok: true, auth: { keyId: row.id, projectId: row.projectId, permissions: row.permissions } };
}

/** Keys this process stamped, with when: a key seen again within the minute needs no statement at all. */
const stamped = new Map<string, number>();
/** Bounds the memo: past this many keys it starts over (a few statements more, never unbounded memory). */
const STAMPED_MAX = 10_000;
const STAMP_EVERY_MS = 60_000;

/**
 * Moves `last_used_at` at most once a minute per key, so authentication adds no write to most requests. Each
 * process also remembers the keys it stamped in the last minute and sends nothing for them (a key id is the whole
 * key of the memo, so no tenant's request changes what another's does); another process's stamp is still caught by
 * the statement's own once-a-minute condition.
 */
export async function touchApiKey(db: DbOrTx, keyId: string, nowMs = Date.now()): Promise<void> {
  const last = stamped.get(keyId);
  if (last !== undefined && nowMs - last < STAMP_EVERY_MS) return;
  if (stamped.size >= STAMPED_MAX) stamped.clear();
  stamped.set(keyId, nowMs);
  try {
    await db
      .update(apiKey)
      .set({ lastUsedAt: sql`now()` })
      .where(and(eq(apiKey.id, keyId), or(isNull(apiKey.lastUsedAt), lt(apiKey.lastUsedAt, sql`now() - interval '1 minute'`))));
  } catch (err) {
    stamped.delete(keyId); // the next request tries again
    throw err;
  }
}
