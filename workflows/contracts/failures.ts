/**
 * `ApplicationFailure` types that activities raise and workflows match on (retry policies name them as
 * non-retryable). One definition each, so a renamed type cannot leave a retry policy behind.
 */

/** Raised by turn activities and workflows. */
export const failureTypes = {
  llmRejected: 'LlmRequestRejected',
  llmUnavailable: 'LlmUnavailable',
  turnNotFound: 'TurnNotFound',
  turnFailed: 'TurnFailed',
  /** An agent task that failed for good (its row is marked failed first). */
  taskFailed: 'TaskFailed',
  /** A knowledge document that cannot be read (unsupported, corrupt, too large): retrying cannot help. */
  documentUnreadable: 'DocumentUnreadable',
} as const;

/** Raised by escalation activities; the workflows' retry policies name them too. */
export const escalationFailureTypes = {
  eventMissing: 'EscalationEventMissing',
  notificationRejected: 'NotificationRejected',
  notificationFailed: 'NotificationFailed',
} as const;

/**
 * The failure type of each kind of tool error (`src/tools/types.ts` `ToolErrorKind`), and whether another
 * attempt can help. The tool activity raises these; the agent loop does not retry the permanent ones.
 */
export const toolFailures = {
  invalid_input: { type: 'ToolInvalidInput', retryable: false },
  client_error: { type: 'ToolClientError', retryable: false },
  forbidden: { type: 'ToolForbidden', retryable: false },
  rate_limited: { type: 'ToolRateLimited', retryable: true },
  server_error: { type: 'ToolServerError', retryable: true },
  timeout: { type: 'ToolTimeout', retryable: true },
  network: { type: 'ToolNetwork', retryable: true },
} as const satisfies Record<string, { type: `Tool${string}`; retryable: boolean }>;
export type ToolFailureKind = keyof typeof toolFailures;

/** Tool failure types no retry can fix: the model gets the message at once. */
export const permanentToolFailureTypes: string[] = Object.values(toolFailures)
  .filter((f) => !f.retryable)
  .map((f) => f.type);
