import { createHash, randomBytes } from 'node:crypto';
import { and, eq, isNull, lt, or, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { apiKey } from '../db/schema/index.js';

export const permissions = [
  'admin',
  'agents:read',
  'agents:write',
  'conversations:read',
  'conversations:write',
  'tools:read',
  'tools:write',
  'knowledge:read',
  'knowledge:write',
  'escalations:read',
  'escalations:write',
  'escalations:ack',
  'users:read',
  'users:write',
] as const;
export type Permission = (typeof permissions)[number];

const KEY_PREFIX = 'sao_';
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A new key: `sao_` + 40 base62 characters (about 238 bits), so a fast hash (SHA-256) is enough to store
 * it; `prefix` (the first 12 characters) is kept in clear so people can tell keys apart.
 */
export function generateApiKey(): { plaintext: string; prefix: string; hash: string } {
  const bytes = randomBytes(40);
  let body = '';
  for (const b of bytes) body += ALPHABET[b % ALPHABET.length];
  const plaintext = KEY_PREFIX + body;
  return { plaintext, prefix: plaintext.slice(0, 12), hash: hashApiKey(plaintext) };
}

export function hashApiKey(plaintext: string): string {
  return createHash('sha256').update(plaintext).digest('hex');
}

export interface AuthContext {
  keyId: string;
  projectId: string;
  permissions: string[];
}

export type KeyCheck = { ok: true; auth: AuthContext } | { ok: false; reason: 'unknown' | 'revoked' | 'expired' };

/** Looks a presented key up by its hash and says whether it may be used now. */
export async function checkApiKey(db: DbOrTx, plaintext: string, now = new Date()): Promise<KeyCheck> {
  if (!plaintext.startsWith(KEY_PREFIX) || plaintext.length > 200) return { ok: false, reason: 'unknown' };
  const [row] = await db.select().from(apiKey).where(eq(apiKey.keyHash, hashApiKey(plaintext)));
  if (!row) return { ok: false, reason: 'unknown' };
  if (!row.isActive || row.revokedAt) return { ok: false, reason: 'revoked' };
  if (row.expiresAt && row.expiresAt <= now) return { ok: false, reason: 'expired' };
  return { ok: true, auth: { keyId: row.id, projectId: row.projectId, permissions: row.permissions } };
}

export function hasPermission(auth: AuthContext, needed: Permission): boolean {
  return auth.permissions.includes('admin') || auth.permissions.includes(needed);
}

/** Moves `last_used_at` at most once a minute per key, so authentication adds no write to most requests. */
export async function touchApiKey(db: DbOrTx, keyId: string): Promise<void> {
  await db
    .update(apiKey)
    .set({ lastUsedAt: sql`now()` })
    .where(and(eq(apiKey.id, keyId), or(isNull(apiKey.lastUsedAt), lt(apiKey.lastUsedAt, sql`now() - interval '1 minute'`))));
}
