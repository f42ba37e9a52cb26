/**
 * `ApplicationFailure` types that activities raise and workflows match on (retry policies name them as
 * non-retryable), one definition each so a renamed type cannot leave a retry policy behind; and the one
 * walk along a failure's cause chain that workflows, activities and the gateway use.
 */
import { ActivityFailure, ChildWorkflowFailure } from '@temporalio/common';

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

/** Longest cause chain walked: Temporal and Drizzle nest two or three levels; a cycle must still end. */
const MAX_CAUSES = 8;

/** `err` and the errors along its `cause` chain, outermost first (Errors only, at most 8, no repeats). */
export function causeChain(err: unknown): Error[] {
  const chain: Error[] = [];
  for (let e: unknown = err; e instanceof Error && chain.length < MAX_CAUSES && !chain.includes(e); e = e.cause) chain.push(e);
  return chain;
}

/**
 * The failure that says what went wrong: `err` without the `ActivityFailure` / `ChildWorkflowFailure`
 * wrappers that only say where (usually the `ApplicationFailure` an activity raised). `err` itself when
 * nothing but wrappers is there.
 */
export function unwrapFailure(err: unknown): unknown {
  return causeChain(err).find((e) => !(e instanceof ActivityFailure || e instanceof ChildWorkflowFailure)) ?? err;
}

/** The message of {@link unwrapFailure}: what a person or a model is told about a failed step. */
export function failureMessage(err: unknown): string {
  const failure = unwrapFailure(err);
  return failure instanceof Error ? failure.message : String(err);
}

/** The message of the innermost error of the chain (for a failure whose wrappers are not Temporal's). */
export function rootCauseMessage(err: unknown): string {
  const chain = causeChain(err);
  return chain.length ? chain[chain.length - 1]!.message : String(err);
}
