// How a turn's tool-calling loop ends and what the finished turn records. Pure functions with type-only imports:
// the workflow's loop and the activity that answers a turn in one step (`answerTurn`) decide with the same code.
import type { Activities } from '../../activities/index.js';
import { collectArtifacts } from './artifacts.js';
import { knowledgeSources } from './knowledge-prompt.js';
import type { TurnInput } from './index.js';

type Plan = Awaited<ReturnType<Activities['startTurn']>>;
type ModelAnswer = Awaited<ReturnType<Activities['callModel']>>;
type Retrieved = Awaited<ReturnType<Activities['retrieveKnowledge']>>;
type CompleteTurnInput = Parameters<Activities['completeTurn']>[0];

/** What a turn records about each tool call the model made. */
export interface ToolUseRecord {
  toolId: string;
  toolName: string;
  callId: string;
  status: 'success' | 'failure';
  inputParams?: Record<string, unknown>;
  outputResult?: unknown;
  executionTimeMs?: number;
  error?: string;
}

/**
 * Why the loop ended: `stop` the model answered; `max_steps` / `budget` the last step (offered no tools because
 * of the step limit / the response-time budget) still got tool calls or no text from the model.
 */
export type LoopStopReason = 'stop' | 'max_steps' | 'budget';

export interface LoopResult {
  answer: ModelAnswer;
  stopReason: LoopStopReason;
  usage: { promptTokens: number; completionTokens: number; totalTokens: number };
  llmTimeMs: number;
  toolsUsed: ToolUseRecord[];
}

/** Whether a step is the loop's last: the step limit, or a step that starts past the response-time budget. */
export function stepLimits(plan: Pick<Plan, 'maxSteps' | 'responseTimeBudgetMs'>, step: number, elapsedMs: number) {
  const overBudget = plan.responseTimeBudgetMs !== undefined && elapsedMs >= plan.responseTimeBudgetMs;
  return { overBudget, lastStep: step >= plan.maxSteps || overBudget };
}

/**
 * The loop's end after this answer, or undefined when the model asked for tools and the loop goes on. A loop cut
 * short keeps whatever text the model gave; with none, it answers with a sentence saying why, so a turn never
 * ends with an empty answer nobody explained.
 */
export function loopEnd(
  plan: Pick<Plan, 'maxSteps' | 'request'>,
  answer: ModelAnswer,
  limits: { lastStep: boolean; overBudget: boolean },
): { answer: ModelAnswer; stopReason: LoopStopReason } | undefined {
  // Results recorded before tools existed have no toolCalls field; replay must treat them as answers.
  const toolCalls = answer.toolCalls ?? [];
  if (toolCalls.length > 0 && !limits.lastStep) return undefined;
  const cutShort = limits.lastStep && (plan.request.tools?.length ?? 0) > 0 && (toolCalls.length > 0 || !answer.content.trim());
  const stopReason: LoopStopReason = !cutShort ? 'stop' : limits.overBudget ? 'budget' : 'max_steps';
  if (stopReason === 'stop' || answer.content.trim()) return { answer, stopReason };
  const limit = stopReason === 'max_steps' ? `its limit of ${plan.maxSteps} steps` : 'its response time budget';
  return { answer: { ...answer, content: `(No answer: the agent reached ${limit} while the model still wanted to use tools.)` }, stopReason };
}

/** What `completeTurn` records for a finished loop: the answer, usage, tools, cited knowledge and artifacts. */
export function turnCompletion(input: TurnInput, startedAtMs: number, plan: Pick<Plan, 'tools'>, retrieved: Retrieved, loop: LoopResult): CompleteTurnInput {
  return {
    conversationId: input.conversationId,
    turnIndex: input.turnIndex,
    response: loop.answer.content,
    stopReason: loop.stopReason,
    model: loop.answer.model,
    usage: loop.usage,
    llmTimeMs: loop.llmTimeMs,
    toolsUsed: loop.toolsUsed,
    knowledgeSources: knowledgeSources(retrieved, input.content, loop.answer.content),
    artifacts: collectArtifacts(loop.answer.content, loop.toolsUsed, Object.fromEntries((plan.tools ?? []).map((t) => [t.name, t.artifactType]))),
    startedAtMs,
  };
}
