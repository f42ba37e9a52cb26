import { openJson, sealJson, type CredentialKeyring } from '../tools/credentials.js';
import { AppError } from '../errors.js';

/**
 * Seals a webhook's signing secret with the tool-credential keyring (AES-256-GCM, key rotation by key id).
 * @throws AppError 503 `credentials_unavailable` when the server has no credential key.
 */
export function sealWebhookSecret(keyring: CredentialKeyring | null, secret: string): string {
  if (!keyring) {
    throw new AppError(503, 'credentials_unavailable', 'this server has no TOOL_CREDENTIALS_KEYS configured, so it cannot store webhook secrets');
  }
  return sealJson(keyring, { webhookSecret: secret }).ciphertext;
}

export function openWebhookSecret(keyring: CredentialKeyring, sealed: string): string {
  const opened = openJson(keyring, sealed) as { webhookSecret?: unknown };
  if (typeof opened.webhookSecret !== 'string') throw new Error('the sealed value is not a webhook secret');
  return opened.webhookSecret;
}
