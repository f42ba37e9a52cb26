import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { agentToolAssignment, tool, toolExecutionLog } from '../db/schema/index.js';
import { recordIntegrationEvent } from './integrations-store.js';
import { recordMetrics } from '../metrics/store.js';
import { closeAbandonedAttempts, reserveRateLimitedCall } from './attempt-log.js';
import { openBoundCredentials } from './bound-credentials.js';
import type { CredentialKeyring } from './credentials.js';
import { redactSecrets, redactText } from './redact-secrets.js';
import { validateArguments } from './schema-check.js';
import { ToolError, type ResolvedTool, type ToolRunner } from './types.js';

export interface ToolExecutionDeps {
  db: Db;
  runners: Partial<Record<ResolvedTool['toolType'], ToolRunner>>;
  keyring: CredentialKeyring | null;
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
  let input: Record<string, unknown> | undefined;
  const secrets = new Set<string>();
  const [row] = await deps.db.select().from(tool).where(and(eq(tool.id, p.toolId), eq(tool.projectId, p.projectId)));
  if (!row) throw new ToolError('invalid_input', 'the tool no longer exists');
  // The log row, its integration event and its metrics are one transaction: an attempt is counted whole or not at all.
  const log = (status: string, output: unknown, error: string | null) => deps.db.transaction(async (tx) => {
    const [logged] = await tx
      .insert(toolExecutionLog)
      .values({
        toolId: p.toolId, agentId: p.agentId ?? null, conversationId: p.conversationId ?? null, workflowId: p.workflowId ?? null,
        toolCallId: p.toolCallId, attempt: p.attempt, status, inputParams: input ?? null, outputResult: output ?? null,
        errorMessage: error, executionTimeMs: Date.now() - started, executionType: p.executionType,
      })
      .onConflictDoUpdate({
        target: [toolExecutionLog.workflowId, toolExecutionLog.toolCallId, toolExecutionLog.attempt],
        set: { status, outputResult: output ?? null, errorMessage: error, executionTimeMs: Date.now() - started },
      })
      .returning({ id: toolExecutionLog.id });
    if (row.integrationId) {
      await recordIntegrationEvent(tx, {
        projectId: p.projectId, integrationId: row.integrationId, eventType: status === 'success' ? 'tool_used' : 'error',
        toolName: row.name, toolParameters: input, toolResult: status === 'success' ? output : undefined, errorMessage: error ?? undefined,
      });
    }
    if (p.executionType === 'agent_runtime') {
      await recordMetrics(tx, [
        { projectId: p.projectId, agentId: p.agentId, name: 'tool_call_ms', value: Date.now() - started, tags: { toolId: p.toolId } },
        { projectId: p.projectId, agentId: p.agentId, name: 'tool_failure', value: status === 'success' ? 0 : 1, tags: { toolId: p.toolId } },
      ]);
    }
    return logged!.id;
  });

  await closeAbandonedAttempts(deps.db, p);
  try {
    input = parseArguments(p.arguments);
    let config = row.config;
    if (p.agentId && p.executionType === 'agent_runtime') {
      const [assignment] = await deps.db
        .select()
        .from(agentToolAssignment)
        .where(and(eq(agentToolAssignment.agentId, p.agentId), eq(agentToolAssignment.toolId, p.toolId)));
      if (!assignment) throw new ToolError('forbidden', 'the tool is not assigned to this agent');
      config = { ...config, ...(assignment.toolConfigOverride ?? {}) };
      if (assignment.rateLimit !== null) await reserveRateLimitedCall(deps.db, p, assignment.rateLimit);
    }
    const problem = validateArguments(row.inputSchema, input);
    if (problem) throw new ToolError('invalid_input', `invalid arguments: ${problem}`);
    const runner = deps.runners[row.toolType as ResolvedTool['toolType']];
    if (!runner) throw new ToolError('invalid_input', `tool type ${row.toolType} is not available on this worker`);
    const bound = openBoundCredentials(deps.keyring, row, config);
    for (const secret of bound.secrets) secrets.add(secret);
    const resolved: ResolvedTool = {
      id: row.id, projectId: row.projectId, name: row.name, toolType: row.toolType as ResolvedTool['toolType'], config, timeoutMs: row.timeoutMs,
      credentials: bound.credentials, credentialOrigins: bound.credentialOrigins, credentialVersion: bound.credentialVersion,
    };
    let refreshed = false;
    const raw = await runner(resolved, input, {
      signal: p.signal, attempt: p.attempt, idempotencyKey: `${p.workflowId ?? 'test'}:${p.toolCallId}`,
      onTokenRefreshed: () => (refreshed = true), addSecret: (secret) => secrets.add(secret),
    });
    // Redacted before trimming, so a cut can never leave part of a secret behind.
    const output = trimOutput(redactSecrets(raw, secrets));
    if (refreshed && row.integrationId) {
      await recordIntegrationEvent(deps.db, { projectId: p.projectId, integrationId: row.integrationId, eventType: 'refreshed', toolName: row.name });
    }
    const logId = await log('success', output, null);
    return { logId, output, executionTimeMs: Date.now() - started };
  } catch (err) {
    const caught = err instanceof ToolError ? err : p.signal.aborted ? new ToolError('timeout', `timed out after ${row.timeoutMs} ms`) : new ToolError('network', err instanceof Error ? err.message : String(err));
    const toolError = new ToolError(caught.kind, redactText(caught.message, secrets), caught.details);
    await log(logStatus(toolError), null, toolError.message.slice(0, 2000));
    throw toolError;
  }
}
