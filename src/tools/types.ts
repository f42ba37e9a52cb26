/**
 * The contract between the tool-call activity and the five tool runners (api, webhook, javascript,
 * database, mcp). Runners do one attempt; retries, timeouts and logging belong to the activity and
 * Temporal's retry policy.
 */
import { toolFailures } from '../../workflows/contracts/index.js';

/** Decrypted credentials of a tool; they exist only inside the activity, never in workflow history. */
export type ToolCredentials =
  | { type: 'api_key'; value: string; in?: 'header' | 'query'; name?: string }
  | { type: 'bearer'; token: string }
  | { type: 'basic'; username: string; password: string }
  | { type: 'oauth2'; tokenUrl: string; clientId: string; clientSecret: string; scope?: string }
  | { type: 'connection_string'; url: string };

export interface ResolvedTool {
  id: string;
  /** The owning project; with `id` and `credentialVersion` part of every key a runner caches under. */
  projectId?: string;
  name: string;
  toolType: 'api' | 'webhook' | 'javascript' | 'database' | 'mcp';
  /** The tool's config with the assignment's `tool_config_override` merged over it. */
  config: Record<string, unknown>;
  credentials?: ToolCredentials;
  /**
   * Origins the credentials were sealed for (see `toolDestinations`). A runner sends `credentials` to no
   * other origin, whatever the config says after overrides or templating; missing means nowhere.
   */
  credentialOrigins?: string[];
  /** Changes whenever the credentials are saved again (a hash of the sealed blob). */
  credentialVersion?: string;
  timeoutMs: number;
}

export interface ToolCallContext {
  /** Aborted when the attempt times out or Temporal cancels the activity. */
  signal: AbortSignal;
  /** Stable across retries of one call: derived from the turn's workflow id and the model's tool call id. */
  idempotencyKey: string;
  attempt: number;
  /** Told when the runner fetched a new oauth2 token (recorded as an integration `refreshed` event). */
  onTokenRefreshed?: () => void;
  /**
   * Told about secrets the runner obtained or derived while calling (e.g. a fetched oauth2 access token),
   * so they are redacted from the result like the tool's own credentials.
   */
  addSecret?: (value: string) => void;
}

/** Why one attempt failed; the activity maps each kind to retryable or not. */
export type ToolErrorKind =
  | 'invalid_input' // arguments or config the tool cannot use: not retried
  | 'client_error' // the remote side refused (4xx): not retried
  | 'forbidden' // blocked by policy (SSRF guard, read-only SQL, sandbox): not retried
  | 'rate_limited' // 429/503 with Retry-After: retried after `retryAfterMs`
  | 'server_error' // 5xx: retried
  | 'timeout' // the attempt ran out of time: retried
  | 'network'; // connection failed: retried

export class ToolError extends Error {
  constructor(
    readonly kind: ToolErrorKind,
    message: string,
    readonly details: { status?: number; retryAfterMs?: number } = {},
  ) {
    super(message);
    this.name = 'ToolError';
  }
}

/** Kinds another attempt can help with; defined once with their failure types in the workflow contracts. */
export const retryableKinds: ReadonlySet<ToolErrorKind> = new Set(
  (Object.keys(toolFailures) as ToolErrorKind[]).filter((kind) => toolFailures[kind].retryable),
);

/** One attempt of one tool call; returns a JSON-serialisable result. */
export type ToolRunner = (tool: ResolvedTool, args: Record<string, unknown>, ctx: ToolCallContext) => Promise<unknown>;
