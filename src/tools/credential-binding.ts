import type { ToolRow } from './store.js';
import { sealCredentials, type CredentialKeyring } from './credentials.js';
import type { ToolCredentials } from './types.js';
import { toolDestinations, withinOrigins } from './destinations.js';
import { AppError, ValidationError } from '../errors.js';

/**
 * Save-time half of binding credentials to a destination (the worker checks again at every call, see
 * `openBoundCredentials`): whoever can change where a credentialed tool sends requests without being able
 * to read the credential must not be able to receive it.
 */

/** The origins new credentials of a tool are sealed with. @throws ValidationError when it has no fixed one. */
export function bindingFor(toolType: string, config: Record<string, unknown>): string[] {
  const found = toolDestinations(toolType, config);
  if ('problem' in found) throw new ValidationError(`invalid request: body.config.url: ${found.problem}`, [{ field: 'body.config.url', message: found.problem }]);
  return found.origins;
}

/**
 * A change that sends a credentialed tool's requests to an origin it was not bound to must bring the
 * credentials again (or clear them with `credentials: null`); otherwise the next call would send them to
 * the new destination, chosen by someone who never saw them.
 * @throws AppError 400 `credentials_required`.
 */
export function checkDestinationChange(current: Pick<ToolRow, 'toolType' | 'config' | 'credentialsEncrypted'>, next: { toolType: string; config: Record<string, unknown> }): void {
  if (!current.credentialsEncrypted) return;
  const before = toolDestinations(current.toolType, current.config);
  const after = toolDestinations(next.toolType, next.config);
  if ('origins' in before && 'origins' in after && withinOrigins(after.origins, before.origins)) return;
  throw new AppError(
    400,
    'credentials_required',
    'this change sends the tool\'s requests to another destination: send its credentials again (or "credentials": null to drop them)',
    [{ field: 'body.credentials', message: 'required when the destination changes' }],
  );
}

/**
 * An assignment may tune a tool's config but not move a credentialed tool's requests to another
 * destination (the key that sets it needs no permission to read the tool's credentials).
 * @throws ValidationError naming `body.toolConfigOverride`.
 */
export function checkOverride(t: Pick<ToolRow, 'toolType' | 'config' | 'credentialsEncrypted'>, override: Record<string, unknown> | null | undefined): void {
  if (!t.credentialsEncrypted || !override) return;
  const before = toolDestinations(t.toolType, t.config);
  const after = toolDestinations(t.toolType, { ...t.config, ...override });
  if ('origins' in before && 'origins' in after && withinOrigins(after.origins, before.origins)) return;
  const message = 'the tool has credentials, so an override may not change where its requests go';
  throw new ValidationError(`invalid request: body.toolConfigOverride: ${message}`, [{ field: 'body.toolConfigOverride', message }]);
}

/**
 * Seals credentials bound to where the tool with `toolType` and `config` sends them; returns the columns to store.
 * @throws AppError 503 `credentials_unavailable` when the server has no credential key; ValidationError when the tool has no fixed destination.
 */
export function sealBoundCredentials(keyring: CredentialKeyring | null, credentials: ToolCredentials, toolType: string, config: Record<string, unknown>) {
  const origins = bindingFor(toolType, config);
  if (!keyring) {
    throw new AppError(503, 'credentials_unavailable', 'this server has no TOOL_CREDENTIALS_KEYS configured, so it cannot store credentials');
  }
  const sealed = sealCredentials(keyring, credentials, origins);
  return { credentialsEncrypted: sealed.ciphertext, credentialsKeyId: sealed.keyId };
}
