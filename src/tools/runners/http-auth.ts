import { createHmac, randomBytes } from 'node:crypto';
import type { NetGuard } from '../../net/net-guard.js';
import { guardedFetch } from '../outbound.js';
import { ToolError, type ResolvedTool, type ToolCredentials } from '../types.js';
import { toToolResult } from './http-response.js';

/** Early refresh margin: a token this close to expiry could lapse while the request is in flight. */
const refreshMarginMs = 30_000;
/** RFC 6749 makes `expires_in` optional; without it a token is reused only briefly. */
const defaultTokenLifetimeMs = 60_000;
/** Tokens kept per worker before expired ones are swept and, past that, the oldest dropped. */
const maxCachedTokens = 1000;
const oauth2Credentials = (c: ToolCredentials | undefined) => (c?.type === 'oauth2' ? c : undefined);

/** Whose credentials are being applied: everything that authorises a cached token is part of its key. */
export type CredentialOwner = Pick<ResolvedTool, 'id' | 'projectId' | 'credentialVersion'>;

/** What applying credentials added, so the caller can protect it. */
export interface AppliedAuth {
  /** Header names to drop if a redirect leaves the origin. */
  sensitiveHeaders: string[];
  /** Values to blank out of error messages. */
  secrets: string[];
}

export interface CredentialApplier {
  /**
   * Adds the credentials to `headers` or `url` in place; for oauth2 fetches (or reuses) a client-credentials
   * token through the same guard.
   * @throws ToolError `invalid_input` for credential types HTTP tools cannot use.
   */
  apply(
    owner: CredentialOwner,
    credentials: ToolCredentials | undefined,
    headers: Record<string, string>,
    url: URL,
    signal: AbortSignal,
    /** Told when an oauth2 token had to be fetched (first use, expiry or after a 401). */
    onRefreshed?: () => void,
  ): Promise<AppliedAuth>;
  /** Forgets the cached oauth2 token after the API refused it (401), so the next attempt fetches a new one. */
  invalidate(owner: CredentialOwner, credentials: ToolCredentials | undefined): void;
}

interface CachedToken {
  accessToken: string;
  expiresAt: number;
}

/**
 * Builds the credential step of the HTTP runners. The oauth2 token cache lives here, per worker. A token is
 * cached under an HMAC (with a key of this process) of everything that authorises it: project, tool,
 * credential version, token URL, client id, scope and the client secret. So a tool that knows another
 * tool's token URL and client id but not its secret asks the token endpoint itself, and the secret is
 * never a map key in clear.
 */
export function createCredentialApplier(deps: { guard: NetGuard; now: () => number }): CredentialApplier {
  const tokens = new Map<string, CachedToken>();
  const keyOfThisProcess = randomBytes(32);
  const cacheKey = (owner: CredentialOwner, c: Extract<ToolCredentials, { type: 'oauth2' }>) =>
    createHmac('sha256', keyOfThisProcess)
      .update(JSON.stringify([owner.projectId ?? '', owner.id, owner.credentialVersion ?? '', c.tokenUrl, c.clientId, c.scope ?? '', c.clientSecret]))
      .digest('base64url');

  function remember(key: string, token: CachedToken): void {
    if (tokens.size >= maxCachedTokens) {
      for (const [k, t] of tokens) if (t.expiresAt <= deps.now()) tokens.delete(k);
      // Maps iterate in insertion order: the first key is the oldest.
      if (tokens.size >= maxCachedTokens) tokens.delete(tokens.keys().next().value!);
    }
    tokens.set(key, token);
  }

  async function accessToken(
    owner: CredentialOwner,
    c: Extract<ToolCredentials, { type: 'oauth2' }>,
    signal: AbortSignal,
    onRefreshed?: () => void,
  ): Promise<string> {
    const key = cacheKey(owner, c);
    const cached = tokens.get(key);
    if (cached && cached.expiresAt - refreshMarginMs > deps.now()) return cached.accessToken;
    const token = await fetchToken(deps.guard, c, signal, deps.now);
    remember(key, token);
    onRefreshed?.();
    return token.accessToken;
  }

  return {
    async apply(owner, credentials, headers, url, signal, onRefreshed) {
      if (!credentials) return { sensitiveHeaders: [], secrets: [] };
      switch (credentials.type) {
        case 'api_key':
          if (credentials.in === 'query') {
            url.searchParams.set(credentials.name ?? 'api_key', credentials.value);
            return { sensitiveHeaders: [], secrets: [credentials.value] };
          }
          headers[credentials.name ?? 'X-API-Key'] = credentials.value;
          return { sensitiveHeaders: [credentials.name ?? 'X-API-Key'], secrets: [credentials.value] };
        case 'bearer':
          headers.Authorization = `Bearer ${credentials.token}`;
          return { sensitiveHeaders: [], secrets: [credentials.token] };
        case 'basic': {
          const encoded = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
          headers.Authorization = `Basic ${encoded}`;
          return { sensitiveHeaders: [], secrets: [credentials.password, encoded] };
        }
        case 'oauth2': {
          const token = await accessToken(owner, credentials, signal, onRefreshed);
          headers.Authorization = `Bearer ${token}`;
          return { sensitiveHeaders: [], secrets: [token, credentials.clientSecret] };
        }
        default:
          throw new ToolError('invalid_input', `credentials of type ${credentials.type} do not apply to HTTP tools`);
      }
    },
    invalidate(owner, credentials) {
      const c = oauth2Credentials(credentials);
      if (c) tokens.delete(cacheKey(owner, c));
    },
  };
}

/** Client-credentials grant (RFC 6749 §4.4), authenticating with HTTP Basic as §2.3.1 requires servers to accept. */
async function fetchToken(
  guard: NetGuard,
  c: Extract<ToolCredentials, { type: 'oauth2' }>,
  signal: AbortSignal,
  now: () => number,
): Promise<CachedToken> {
  // §2.3.1: id and secret are form-encoded before being joined, so a ':' in either survives.
  const basic = Buffer.from(`${formEncode(c.clientId)}:${formEncode(c.clientSecret)}`).toString('base64');
  const form = new URLSearchParams({ grant_type: 'client_credentials', ...(c.scope ? { scope: c.scope } : {}) });
  const res = await guardedFetch(guard, c.tokenUrl, {
    method: 'POST',
    headers: { Authorization: `Basic ${basic}`, 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: form.toString(),
    signal,
    maxResponseBytes: 64_000,
  });
  const { body } = toToolResult(res, 'the OAuth2 token endpoint', [c.clientSecret, basic]);
  const fields = (body && typeof body === 'object' ? body : {}) as { access_token?: unknown; expires_in?: unknown };
  if (typeof fields.access_token !== 'string' || !fields.access_token) {
    throw new ToolError('client_error', 'the OAuth2 token endpoint returned no access_token');
  }
  const lifetimeS = Number(fields.expires_in);
  const lifetimeMs = Number.isFinite(lifetimeS) && lifetimeS > 0 ? lifetimeS * 1000 : defaultTokenLifetimeMs;
  return { accessToken: fields.access_token, expiresAt: now() + lifetimeMs };
}

function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}
