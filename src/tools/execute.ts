import type { Db } from '../db/client.js';
import type { ToolMetrics } from '../prometheus/worker-metrics.js';
import { recordMetrics } from '../metrics/store.js';
import { findAssignment } from './assignment-store.js';
import { closeAbandonedAttempts, reserveRateLimitedCall, writeAttemptLog } from './attempt-log.js';
import { openBoundCredentials } from './bound-credentials.js';
import type { CredentialKeyring } from './credentials.js';
import { recordIntegrationEvent } from './integrations-store.js';
import { redactSecrets, redactText } from './redact-secrets.js';
import { validateArguments } from './schema-check.js';
import { findTool, type ToolRow } from './store.js';
import { ToolError, type ResolvedTool, type ToolRunner } from './types.js';

export interface ToolExecutionDeps {
  db: Db;
  runners: Partial<Record<ResolvedTool['toolType'], ToolRunner>>;
  keyring: CredentialKeyring | null;
  /** Each attempt by tool type and outcome, for Prometheus; absent: not counted. */
  metrics?: ToolMetrics;
}

export interface ToolCallParams {
  projectId: string;
  toolId: string;
  agentId?: string;
  conversationId?: string;
  workflowId?: string;
  toolCallId: string;
  /** JSON text as the model wrote it, or an object (API test calls). */
  arguments: string | Record<string, unknown>;
  attempt: number;
  executionType: 'agent_runtime' | 'test' | 'manual';
  signal: AbortSignal;
}

export interface ToolCallOutcome {
  logId: string;
  output: unknown;
  executionTimeMs: number;
}

/** How much of a tool's output is kept in the log row (and handed back to the model). */
export const MAX_OUTPUT_CHARS = 16_000;

export function trimOutput(output: unknown): unknown {
  const text = JSON.stringify(output ?? null);
  return text.length <= MAX_OUTPUT_CHARS ? output : { truncated: true, preview: text.slice(0, MAX_OUTPUT_CHARS) };
}

function parseArguments(raw: ToolCallParams['arguments']): Record<string, unknown> {
  if (typeof raw !== 'string') return raw;
  try {
    const parsed = JSON.parse(raw || '{}') as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new ToolError('invalid_input', 'the arguments are not a JSON object');
}

const logStatus = (err: ToolError) => (err.kind === 'timeout' ? 'timeout' : err.kind === 'invalid_input' || err.kind === 'forbidden' ? 'error' : 'failure');

/**
 * One attempt of one tool call: load the tool (and the agent's assignment), check the rate limit and the
 * arguments, open the credentials (refused if the config would send them elsewhere than they were sealed
 * for), run the tool, blank the tool's secrets out of what it returned, and write exactly one
 * `tool_execution_log` row for the attempt, success or not. Every tool result and error passes here on
 * its way to the log, the workflow and the model, so this is where redaction happens. Throws
 * {@link ToolError} on failure, after logging it.
 */
export async function executeToolCall(deps: ToolExecutionDeps, p: ToolCallParams): Promise<ToolCallOutcome> {
  const started = Date.now();
  const row = await findTool(deps.db, p.projectId, p.toolId);
  if (!row) throw new ToolError('invalid_input', 'the tool no longer exists');
  const attempt: Attempt = { started, input: undefined, secrets: new Set<string>() };
  await closeAbandonedAttempts(deps.db, p);
  try {
    attempt.input = parseArguments(p.arguments);
    const output = await runAttempt(deps, p, row, attempt);
    const logId = await logAttempt(deps.db, p, row, attempt, { status: 'success', output, error: null });
    deps.metrics?.toolCalled({ type: row.toolType, outcome: 'success', seconds: (Date.now() - started) / 1000 });
    return { logId, output, executionTimeMs: Date.now() - started };
  } catch (err) {
    const caught = err instanceof ToolError ? err : p.signal.aborted ? new ToolError('timeout', `timed out after ${row.timeoutMs} ms`) : new ToolError('network', err instanceof Error ? err.message : String(err));
    const toolError = new ToolError(caught.kind, redactText(caught.message, attempt.secrets), caught.details);
    await logAttempt(deps.db, p, row, attempt, { status: logStatus(toolError), output: null, error: toolError.message.slice(0, 2000) });
    deps.metrics?.toolCalled({ type: row.toolType, outcome: toolError.kind, seconds: (Date.now() - started) / 1000 });
    throw toolError;
  }
}

/** What one attempt has gathered by the time it is logged: its parsed input and every secret to blank out. */
interface Attempt {
  started: number;
  input: Record<string, unknown> | undefined;
  secrets: Set<string>;
}

/** Runs the tool with the assignment's config and the opened credentials; returns its redacted, trimmed output. */
async function runAttempt(deps: ToolExecutionDeps, p: ToolCallParams, row: ToolRow, attempt: Attempt): Promise<unknown> {
  const input = attempt.input!;
  const config = await assignedConfig(deps.db, p, row);
  // Opened before the arguments are checked, so even refused arguments are logged with the secrets blanked.
  const bound = openBoundCredentials(deps.keyring, row, config);
  for (const secret of bound.secrets) attempt.secrets.add(secret);
  const problem = validateArguments(row.inputSchema, input);
  if (problem) throw new ToolError('invalid_input', `invalid arguments: ${problem}`);
  const runner = deps.runners[row.toolType as ResolvedTool['toolType']];
  if (!runner) throw new ToolError('invalid_input', `tool type ${row.toolType} is not available on this worker`);
  const resolved: ResolvedTool = {
    id: row.id, projectId: row.projectId, name: row.name, toolType: row.toolType as ResolvedTool['toolType'], config, timeoutMs: row.timeoutMs,
    credentials: bound.credentials, credentialOrigins: bound.credentialOrigins, credentialVersion: bound.credentialVersion,
  };
  let refreshed = false;
  const raw = await runner(resolved, input, {
    signal: p.signal, attempt: p.attempt, idempotencyKey: `${p.workflowId ?? 'test'}:${p.toolCallId}`,
    onTokenRefreshed: () => (refreshed = true), addSecret: (secret) => attempt.secrets.add(secret),
  });
  // Redacted before trimming, so a cut can never leave part of a secret behind.
  const output = trimOutput(redactSecrets(raw, attempt.secrets));
  if (refreshed && row.integrationId) {
    await recordIntegrationEvent(deps.db, { projectId: p.projectId, integrationId: row.integrationId, eventType: 'refreshed', toolName: row.name });
  }
  return output;
}

/**
 * The tool's config with an agent's assignment override over it. An agent's call needs the assignment and
 * reserves its place under the assignment's rate limit; test and manual calls use the tool's own config.
 */
async function assignedConfig(db: Db, p: ToolCallParams, row: ToolRow): Promise<Record<string, unknown>> {
  if (!p.agentId || p.executionType !== 'agent_runtime') return row.config;
  const assignment = await findAssignment(db, p.agentId, p.toolId);
  if (!assignment) throw new ToolError('forbidden', 'the tool is not assigned to this agent');
  if (assignment.rateLimit !== null) await reserveRateLimitedCall(db, p, assignment.rateLimit);
  return { ...row.config, ...(assignment.toolConfigOverride ?? {}) };
}

/** The log row, its integration event and its metrics are one transaction: an attempt is counted whole or not at all. */
function logAttempt(db: Db, p: ToolCallParams, row: ToolRow, attempt: Attempt, o: { status: string; output: unknown; error: string | null }): Promise<string> {
  return db.transaction(async (tx) => {
    const elapsed = Date.now() - attempt.started;
    // The model may echo a credential back in its arguments: stored blanked, like every tool output.
    const input = attempt.input && redactSecrets(attempt.input, attempt.secrets);
    const logId = await writeAttemptLog(tx, p, { ...o, input, executionTimeMs: elapsed });
    if (row.integrationId) {
      await recordIntegrationEvent(tx, {
        projectId: p.projectId, integrationId: row.integrationId, eventType: o.status === 'success' ? 'tool_used' : 'error',
        toolName: row.name, toolParameters: input, toolResult: o.status === 'success' ? o.output : undefined, errorMessage: o.error ?? undefined,
      });
    }
    if (p.executionType === 'agent_runtime') {
      await recordMetrics(tx, [
        { projectId: p.projectId, agentId: p.agentId, name: 'tool_call_ms', value: elapsed, tags: { toolId: p.toolId } },
        { projectId: p.projectId, agentId: p.agentId, name: 'tool_failure', value: o.status === 'success' ? 0 : 1, tags: { toolId: p.toolId } },
      ]);
    }
    return logId;
  });
}
