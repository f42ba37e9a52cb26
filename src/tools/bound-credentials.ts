import type { ToolRow } from './store.js';
import { credentialVersion, openSealedCredentials, type CredentialKeyring } from './credentials.js';
import { toolDestinations, withinOrigins } from './destinations.js';
import { credentialSecrets } from './redact-secrets.js';
import { ToolError, type ResolvedTool } from './types.js';

type CredentialFields = Pick<ResolvedTool, 'credentials' | 'credentialOrigins' | 'credentialVersion'>;

/**
 * Opens a tool's credentials for one call and checks that `config` (the tool's config with the
 * assignment's override merged over it) sends them nowhere they were not sealed for. Blobs sealed before
 * credentials were bound are bound to the destination of the tool's own stored config, so an override
 * cannot redirect them either.
 * @throws ToolError `forbidden` when the destination moved, or no key is configured to open them.
 */
export function openBoundCredentials(
  keyring: CredentialKeyring | null,
  row: Pick<ToolRow, 'name' | 'toolType' | 'config' | 'credentialsEncrypted'>,
  config: Record<string, unknown>,
): CredentialFields & { secrets: string[] } {
  const signingSecret = typeof config.signingSecret === 'string' ? [config.signingSecret] : [];
  if (!row.credentialsEncrypted) return { secrets: signingSecret };
  if (!keyring) throw new ToolError('forbidden', 'no credential key is configured on this worker');
  const sealed = openSealedCredentials(keyring, row.credentialsEncrypted);
  const stored = toolDestinations(row.toolType, row.config);
  const origins = sealed.origins ?? ('origins' in stored ? stored.origins : []);
  const target = toolDestinations(row.toolType, config);
  if (!('origins' in target) || !withinOrigins(target.origins, origins)) {
    const where = 'origins' in target ? target.origins.join(', ') : 'a destination taken from the arguments';
    throw new ToolError('forbidden', `${row.name}: the credentials are bound to ${origins.join(', ') || 'no destination'}, not ${where}; enter them again to send them there`);
  }
  return {
    credentials: sealed.credentials,
    credentialOrigins: origins,
    credentialVersion: credentialVersion(row.credentialsEncrypted),
    secrets: [...credentialSecrets(sealed.credentials), ...signingSecret],
  };
}
