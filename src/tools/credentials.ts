import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { ToolCredentials } from './types.js';

/**
 * AES-256-GCM sealing of tool credentials. Each ciphertext names the key that sealed it
 * (`v1.<keyId>.<iv>.<tag>.<data>`), so keys can rotate: new writes use the active key, old rows still open
 * with theirs until re-saved.
 */
export interface CredentialKeyring {
  activeKeyId: string;
  keys: Map<string, Buffer>;
}

/**
 * Parses `id:base64key,id2:base64key` (each key 32 bytes) and the active key id (the last key when unset).
 * `names` are the settings errors name: the same format serves TEMPORAL_PAYLOAD_KEYS.
 */
export function parseKeyring(
  spec: string | undefined,
  activeKeyId: string | undefined,
  names: { keys: string; keyId: string } = { keys: 'TOOL_CREDENTIALS_KEYS', keyId: 'TOOL_CREDENTIALS_KEY_ID' },
): CredentialKeyring | null {
  if (!spec) return null;
  const keys = new Map<string, Buffer>();
  for (const entry of spec.split(',').map((e) => e.trim()).filter(Boolean)) {
    const [id, b64] = entry.split(':');
    const key = Buffer.from(b64 ?? '', 'base64');
    if (!id || !/^[A-Za-z0-9_-]{1,32}$/.test(id) || key.length !== 32) {
      throw new Error(`${names.keys} entries must be <id>:<base64 of 32 bytes>`);
    }
    keys.set(id, key);
  }
  const active = activeKeyId ?? [...keys.keys()].at(-1);
  if (!active || !keys.has(active)) throw new Error(`${names.keyId} names no key of ${names.keys}`);
  return { activeKeyId: active, keys };
}

/** What a sealed blob holds: the credentials and the origins they may be sent to (see `toolDestinations`). */
export interface SealedCredentials {
  credentials: ToolCredentials;
  /** `null` for blobs sealed before credentials were bound to a destination. */
  origins: string[] | null;
}

/**
 * Seals `credentials` together with the origins they are bound to, so the binding cannot be changed
 * without the key: moving a credential to another destination means sealing it again.
 */
export function sealCredentials(ring: CredentialKeyring, credentials: ToolCredentials, origins: string[]): { ciphertext: string; keyId: string } {
  return sealJson(ring, { v: 2, credentials, origins });
}

/** Opens a blob of either form: `{ v: 2, credentials, origins }`, or the bare credentials of before. */
export function openSealedCredentials(ring: CredentialKeyring, ciphertext: string): SealedCredentials {
  const parsed = openJson(ring, ciphertext) as ToolCredentials | { v: 2; credentials: ToolCredentials; origins: string[] };
  return 'v' in parsed ? { credentials: parsed.credentials, origins: parsed.origins } : { credentials: parsed, origins: null };
}

/** Seals any JSON value with the active key (tool credentials, webhook signing secrets). */
export function sealJson(ring: CredentialKeyring, value: unknown): { ciphertext: string; keyId: string } {
  const key = ring.keys.get(ring.activeKeyId)!;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const data = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  const parts = ['v1', ring.activeKeyId, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), data.toString('base64url')];
  return { ciphertext: parts.join('.'), keyId: ring.activeKeyId };
}

/** Opens what {@link sealJson} sealed, with the key its ciphertext names. */
export function openJson(ring: CredentialKeyring, ciphertext: string): unknown {
  const [version, keyId, iv, tag, data] = ciphertext.split('.');
  const key = keyId ? ring.keys.get(keyId) : undefined;
  if (version !== 'v1' || !key || !iv || !tag || data === undefined) {
    throw new Error(`cannot open a secret sealed with key "${keyId ?? '?'}"`);
  }
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  const plain = Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]);
  return JSON.parse(plain.toString('utf8')) as unknown;
}

export function openCredentials(ring: CredentialKeyring, ciphertext: string): ToolCredentials {
  return openSealedCredentials(ring, ciphertext).credentials;
}

/** A short, stable fingerprint of one sealed blob: it changes whenever the credentials are saved again. */
export function credentialVersion(ciphertext: string): string {
  return createHash('sha256').update(ciphertext).digest('base64url').slice(0, 22);
}
