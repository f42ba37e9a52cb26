import { ActivityCancellationType, ActivityFailure, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { failureMessage, permanentToolFailureTypes } from './contracts/index.js';
import { store } from './proxies.js';
import { loopEnd, stepLimits, type LoopResult, type ToolUseRecord } from './contracts/turn-outcome.js';

export type { LoopResult, LoopStopReason, ToolUseRecord } from './contracts/turn-outcome.js';

type Plan = Awaited<ReturnType<Activities['startTurn']>>;
type TurnTool = Plan['tools'][number];
type Message = Plan['request']['messages'][number];
type ModelAnswer = Awaited<ReturnType<Activities['callModel']>>;

/** The built-in variables tool: checked here, written by a local activity. */
async function setVariable(base: Omit<ToolUseRecord, 'status'>, conversationId: string | undefined): Promise<ToolUseRecord> {
  const args = base.inputParams;
  if (!conversationId || !args || typeof args.name !== 'string' || !/^[a-zA-Z][a-zA-Z0-9_]{0,63}$/.test(args.name) || !('value' in args)) {
    return { ...base, status: 'failure', error: 'set_conversation_variable needs {"name": identifier, "value": any}' };
  }
  await store.setConversationVariable({ conversationId, name: args.name, value: args.value });
  return { ...base, status: 'success', outputResult: { ok: true } };
}

/** The built-in hand-over tool: nothing to run now; the turn's deviation rules see the call and escalate. */
function escalateToHuman(base: Omit<ToolUseRecord, 'status'>): ToolUseRecord {
  const reason = typeof base.inputParams?.reason === 'string' ? base.inputParams.reason.slice(0, 500) : 'no reason given';
  return { ...base, inputParams: { reason }, status: 'success', outputResult: { ok: true, message: 'A human colleague will be notified after this reply and will follow up.' } };
}

/**
 * One activity proxy per tool: its own timeout and retry policy, and a summary naming it in the UI. `runTool`
 * heartbeats every second, so a cancellation reaches it promptly; a cancellable turn waits until the call
 * has really stopped.
 */
function toolActivity(tool: TurnTool, cancellable: boolean) {
  return proxyActivities<Activities>({
    startToCloseTimeout: tool.timeoutMs + 2_000, // the activity aborts the call at timeoutMs itself
    heartbeatTimeout: '5 seconds',
    ...(cancellable ? { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED } : {}),
    summary: `tool ${tool.name}`,
    retry: {
      maximumAttempts: tool.retry.maximumAttempts,
      initialInterval: tool.retry.initialIntervalMs,
      backoffCoefficient: tool.retry.backoffCoefficient,
      maximumInterval: tool.retry.maximumIntervalMs,
      nonRetryableErrorTypes: permanentToolFailureTypes,
    },
  }).runTool;
}

function parseArgs(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The model's tool-calling loop: call the model; run every tool call it asks for at once, each as its own
 * activity; feed the results back; stop when it answers in text or the step limit is reached (the last
 * step offers no tools, so the model must answer; so does a step that starts past the agent's response time
 * budget; see {@link LoopStopReason}). A failed tool is reported to the model, never fatal.
 */
export async function runAgentLoop(
  plan: Plan,
  callModel: (request: Plan['request']) => Promise<ModelAnswer>,
  ids: { projectId: string; agentId: string; conversationId?: string },
  startedAtMs: number = Date.now(),
  options: {
    /** Tool calls wait for their cancellation to complete (turns that record a cancellation). */
    cancellable?: boolean;
    /** The first step's answer, already got (with the limits it was asked under) by the activity that answers a turn. */
    first?: { answer: ModelAnswer; limits: { lastStep: boolean; overBudget: boolean } };
  } = {},
): Promise<LoopResult> {
  const messages: Message[] = [...plan.request.messages];
  const usage = { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
  const toolsUsed: ToolUseRecord[] = [];
  let llmTimeMs = 0;
  for (let step = 1; ; step++) {
    // Workflow time is deterministic, so the budget check replays the same way.
    const first = step === 1 ? options.first : undefined;
    const limits = first?.limits ?? stepLimits(plan, step, Date.now() - startedAtMs);
    const answer = first?.answer ?? (await callModel({ ...plan.request, messages, ...(limits.lastStep ? { tools: undefined } : {}) }));
    llmTimeMs += answer.llmTimeMs;
    usage.promptTokens += answer.usage?.promptTokens ?? 0;
    usage.completionTokens += answer.usage?.completionTokens ?? 0;
    usage.totalTokens += answer.usage?.totalTokens ?? 0;
    const end = loopEnd(plan, answer, limits);
    if (end) return { ...end, usage, llmTimeMs, toolsUsed };
    const toolCalls = answer.toolCalls ?? [];
    messages.push({ role: 'assistant', content: answer.content, toolCalls });
    const results = await Promise.all(
      toolCalls.map(async (call): Promise<ToolUseRecord> => {
        const tool = plan.tools.find((t) => t.name === call.name);
        const base = { toolId: tool?.toolId ?? '', toolName: call.name, callId: call.id, inputParams: parseArgs(call.arguments) };
        if (!tool) return { ...base, status: 'failure', error: `there is no tool named "${call.name}"` };
        if (tool.builtin === 'set_conversation_variable') return setVariable(base, ids.conversationId);
        if (tool.builtin === 'escalate_to_human') return escalateToHuman(base);
        try {
          // A tool of an MCP server travels as its registered tool plus the server-side name.
          const args = tool.mcpTool ? JSON.stringify({ ...(parseArgs(call.arguments) ?? {}), __tool: tool.mcpTool }) : call.arguments;
          const result = await toolActivity(tool, options.cancellable ?? false)({ ...ids, toolId: tool.toolId, toolCallId: call.id, arguments: args, executionType: 'agent_runtime', timeoutMs: tool.timeoutMs });
          return { ...base, status: 'success', outputResult: result.output, executionTimeMs: result.executionTimeMs };
        } catch (err) {
          // A canceled call ends the turn; it is not a tool failure to tell the model about.
          if (!(err instanceof ActivityFailure) || isCancellation(err)) throw err;
          return { ...base, status: 'failure', error: failureMessage(err) };
        }
      }),
    );
    for (const r of results) {
      toolsUsed.push(r);
      const content = r.status === 'success' ? JSON.stringify(r.outputResult ?? null) : JSON.stringify({ error: `the tool failed: ${r.error}` });
      messages.push({ role: 'tool', toolCallId: r.callId, content });
    }
  }
}

