import { activityInfo, ApplicationFailure, Context } from '@temporalio/activity';
import { appendTurnEvents, turnOfWorkflow, type NewTurnEvent } from '../src/conversations/turn-events.js';
import { executeToolCall, type ToolCallParams, type ToolExecutionDeps } from '../src/tools/execute.js';
import { findTool } from '../src/tools/store.js';
import { ToolError } from '../src/tools/types.js';
import { toolFailures } from '../workflows/contracts/index.js';

export type RunToolInput = Omit<ToolCallParams, 'attempt' | 'signal' | 'workflowId'> & { timeoutMs: number };

export interface RunToolResult {
  output: unknown;
  executionTimeMs: number;
  logId: string;
}

export function createToolActivities(deps: ToolExecutionDeps) {
  return {
    /**
     * One attempt of one tool call, aborted at the tool's own timeout or when Temporal cancels it. Errors
     * a retry cannot fix (bad arguments, 4xx, policy) are non-retryable; 429/503 wait for Retry-After.
     * In a turn, the attempt is told in the turn's event log (`tool.started`, then `tool.completed` or
     * `tool.failed`): name, call id, attempt and time only, never the arguments or credentials.
     */
    async runTool(input: RunToolInput): Promise<RunToolResult> {
      const info = activityInfo();
      const signal = AbortSignal.any([Context.current().cancellationSignal, AbortSignal.timeout(input.timeoutMs)]);
      const log = await toolEventLog(deps, input, info);
      await log('started');
      const started = Date.now();
      try {
        const result = await executeToolCall(deps, { ...input, attempt: info.attempt, workflowId: info.workflowExecution?.workflowId, signal });
        await log('completed', { ms: result.executionTimeMs });
        return result;
      } catch (err) {
        // A ToolError's message is already redacted (it is what the tool log and the model see); others say nothing.
        await log('failed', { ms: Date.now() - started, ...(err instanceof ToolError ? { error: err.message.slice(0, 2000) } : {}) });
        if (!(err instanceof ToolError)) throw err;
        throw ApplicationFailure.create({
          type: toolFailures[err.kind].type,
          message: err.message,
          nonRetryable: !toolFailures[err.kind].retryable,
          ...(err.details.retryAfterMs ? { nextRetryDelay: err.details.retryAfterMs } : {}),
        });
      }
    },
  };
}

type Phase = 'started' | 'completed' | 'failed';

/**
 * Writes this attempt's tool events to the turn the workflow id names; a no-op outside turns (agent tasks,
 * tool tests). Keys name (run, activity, attempt, phase), so a repeated write is stored once.
 */
async function toolEventLog(deps: ToolExecutionDeps, input: RunToolInput, info: ReturnType<typeof activityInfo>) {
  const turn = turnOfWorkflow(info.workflowExecution?.workflowId);
  if (!turn || input.executionType !== 'agent_runtime') return async () => {};
  const name = (await findTool(deps.db, input.projectId, input.toolId))?.name ?? 'unknown';
  const ref = { projectId: input.projectId, ...turn };
  const base = { name, callId: input.toolCallId, attempt: info.attempt };
  const key = `tool:${info.workflowExecution?.runId ?? ''}:${info.activityId}:${info.attempt}`;
  return async (phase: Phase, extra: Record<string, unknown> = {}) => {
    const event: NewTurnEvent = { key: `${key}:${phase}`, type: `tool.${phase}`, data: { ...base, ...extra } };
    await appendTurnEvents(deps.db, ref, [event]);
  };
}
