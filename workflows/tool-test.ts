import { ActivityFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';

export interface ToolTestInput {
  projectId: string;
  toolId: string;
  toolName: string;
  toolCallId: string;
  arguments: Record<string, unknown>;
  timeoutMs: number;
}

export type ToolTestResult = { ok: true; output: unknown; executionTimeMs: number } | { ok: false; error: string };

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
    return { ok: false, error: err.cause?.message ?? err.message };
  }
}
