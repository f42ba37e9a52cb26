import { createHash, randomBytes } from 'node:crypto';

/**
 * What a key may be granted; `admin` implies every other permission of its project. `operator` is not a
 * project's: it decrypts Temporal payloads (the codec endpoint), and those are every project's histories, so
 * no `admin` implies it and only an operator key grants it (the first comes from `npm run operator-key`).
 */
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
  'webhooks:read',
  'webhooks:write',
  'operator',
] as const;
export type Permission = (typeof permissions)[number];

export const KEY_PREFIX = 'sao_';
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

/** Who is calling: the key, its project and what it may do. */
export interface AuthContext {
  keyId: string;
  projectId: string;
  permissions: string[];
}

export type KeyCheck = { ok: true; auth: AuthContext } | { ok: false; reason: 'unknown' | 'revoked' | 'expired' };

export function hasPermission(auth: AuthContext, needed: Permission): boolean {
  if (needed === 'operator') return auth.permissions.includes('operator');
  return auth.permissions.includes('admin') || auth.permissions.includes(needed);
}
