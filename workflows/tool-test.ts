import { ActivityFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { failureMessage, type ToolTestInput, type ToolTestResult } from './contracts/index.js';

/**
 * `POST /v1/tools/:id/test`: one attempt of a tool through the same activity the turn uses (execution
 * type `test`), so the gateway never calls a tool itself and the run is visible in the Temporal UI.
 */
export async function testTool(input: ToolTestInput): Promise<ToolTestResult> {
  const { runTool } = proxyActivities<Activities>({
    startToCloseTimeout: input.timeoutMs + 2_000,
    summary: `test of tool ${input.toolName}`,
    retry: { maximumAttempts: 1 },
  });
  try {
    const result = await runTool({
      projectId: input.projectId,
      toolId: input.toolId,
      toolCallId: input.toolCallId,
      arguments: input.arguments,
      executionType: 'test',
      timeoutMs: input.timeoutMs,
    });
    return { ok: true, output: result.output, executionTimeMs: result.executionTimeMs };
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    return { ok: false, error: failureMessage(err) };
  }
}
