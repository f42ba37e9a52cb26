import { activityInfo, ApplicationFailure, Context } from '@temporalio/activity';
import { executeToolCall, type ToolCallParams, type ToolExecutionDeps } from '../src/tools/execute.js';
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
     */
    async runTool(input: RunToolInput): Promise<RunToolResult> {
      const info = activityInfo();
      const signal = AbortSignal.any([Context.current().cancellationSignal, AbortSignal.timeout(input.timeoutMs)]);
      try {
        return await executeToolCall(deps, { ...input, attempt: info.attempt, workflowId: info.workflowExecution?.workflowId, signal });
      } catch (err) {
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
