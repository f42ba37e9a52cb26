import { activityInfo, ApplicationFailure, Context } from '@temporalio/activity';
import type { Db } from '../src/db/client.js';
import type { ChatRequest, ChatResponse, LlmClient } from '../src/llm/client.js';
import { buildModelRequest } from '../src/conversations/model-request.js';
import type { TurnTool } from '../src/tools/turn-tools.js';
import * as store from '../src/conversations/turn-store.js';
import { DeltaBatcher } from '../src/conversations/delta-batcher.js';
import { findTurnWithAnswer } from '../src/conversations/message-store.js';
import { appendTurnEvents, workflowTurnRef, type NewTurnEvent, type TurnRef } from '../src/conversations/turn-events.js';
import type { ChunkHit } from '../src/knowledge/search.js';
import { timeModelCall, type TurnMetrics } from '../src/prometheus/worker-metrics.js';
import { failureTypes, type TurnInput, type TurnResult } from '../workflows/contracts/index.js';
import { withKnowledge } from '../workflows/contracts/knowledge-prompt.js';
import { loopEnd, stepLimits, turnCompletion } from '../workflows/contracts/turn-outcome.js';
import { toLlmFailure } from './llm-failure.js';
import { activeTraceId } from '../src/telemetry/trace-id.js';

export interface TurnActivityDeps {
  db: Db;
  llm: LlmClient;
  defaultModel: string;
  /** Waits until another workflow has closed (used by the `enqueue` double-texting policy). */
  awaitWorkflowClosed: (workflowId: string) => Promise<void>;
  /** Expands registered tools into the ones the model sees (MCP servers into their tools). */
  expandTools?: (tools: TurnTool[]) => Promise<TurnTool[]>;
  /** Knowledge retrieval of a turn's first step (the `retrieveKnowledge` activity's code); absent: none. */
  retrieveKnowledge?: (p: { agentId: string; query: string; bases?: string[] }) => Promise<Retrieved>;
  /** Turn ends and model calls for Prometheus; absent: not measured (tests with fake deps). */
  metrics?: TurnMetrics;
}

type Retrieved = { bases: string[]; hits: ChunkHit[] };
type ModelAnswer = ChatResponse & { llmTimeMs: number };

/**
 * What `answerTurn` did: `result` when the first answer ended the turn (recorded); otherwise the plan (with the
 * retrieved knowledge in its prompt), the retrieval and the first answer, for the workflow's tool loop.
 */
export type AnsweredTurn =
  | { plan: TurnPlan; result: TurnResult }
  | { plan: TurnPlan; retrieved: Retrieved; first: { answer: ModelAnswer; limits: { lastStep: boolean; overBudget: boolean } } };

export interface TurnPlan {
  request: ChatRequest;
  tools: TurnTool[];
  maxSteps: number;
  /** Knowledge bases the agent searches, in priority order; empty means no retrieval step. */
  knowledgeBases: string[];
  /** Agent config `response_time_budget_ms`: past it the tool loop stops and the model must answer. */
  responseTimeBudgetMs?: number;
  /** Active deviation rules exist: evaluate them after the answer (absent in results recorded before escalations). */
  deviationRules?: boolean;
}

/** What the workflow hands to `completeTurn`; the response time is measured there, on the real clock. */
export type CompleteTurnInput = Omit<store.CompleteTurnParams, 'responseTimeMs'> & { startedAtMs: number };

/**
 * The model call's input: the request, plus optionally the turn it belongs to. Without `turn` the activity finds
 * the turn by its workflow id (`turn:<conversation>:<n>`), so turn workflows need not pass it and histories that
 * schedule the bare request stream too; agent tasks belong to no turn and write no events.
 */
export type CallModelInput = ChatRequest & { turn?: TurnRef };

/** How often the LLM activity heartbeats while it waits for the model. */
const HEARTBEAT_MS = 2_000;

export function createTurnActivities(deps: TurnActivityDeps) {
  /**
   * Writes the turn row (`running`) and the user message under this workflow's id; idempotent, so a retry
   * or a later `failTurn` may call it again.
   */
  async function recordTurnStart(input: TurnInput, activity: string): Promise<void> {
    const execution = activityInfo().workflowExecution;
    if (!execution) throw new Error(`${activity} runs only inside a turn workflow`);
    // The activity's span (tracing on) is in the trace of the request that started the turn.
    await store.beginTurn(deps.db, { ...input, workflowId: execution.workflowId, runId: execution.runId, traceId: activeTraceId() });
  }

  /** The delta writer of this model attempt; a retried attempt first tells clients to drop what came before. */
  async function openDeltaLog(turn: TurnRef): Promise<DeltaBatcher> {
    const info = activityInfo();
    const keyPrefix = `model:${info.workflowExecution?.runId ?? ''}:${info.activityId}:${info.attempt}`;
    if (info.attempt > 1) {
      await appendTurnEvents(deps.db, turn, [{ key: `${keyPrefix}:reset`, type: 'message.reset', data: { attempt: info.attempt } }]);
    }
    return new DeltaBatcher({ keyPrefix, write: (events) => appendTurnEvents(deps.db, turn, events) });
  }

  /**
   * One streamed LLM call. For a turn the answer's text goes to the turn's event log as it comes
   * (`message.delta`, see {@link DeltaBatcher}); a retried attempt first writes `message.reset` so clients drop
   * the text of the attempt that failed. Event keys name (run, activity, attempt, chunk), so nothing is written
   * twice. Heartbeats every 2 s while it runs, so a dead worker is noticed quickly (not per written batch: a turn
   * shorter than that costs no heartbeat RPC; a cancellation reaches the activity on a heartbeat's answer), and aborts
   * the HTTP request when Temporal cancels the activity. Requests the model rejects (4xx other than 408/409/429)
   * fail without retry; 429 retries after the server's Retry-After.
   */
  async function streamedChat(turn: TurnRef | undefined, request: ChatRequest): Promise<{ answer: ModelAnswer; rest: NewTurnEvent[] }> {
    const ctx = Context.current();
    const started = Date.now();
    const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_MS);
    let deltas: DeltaBatcher | undefined;
    const timer = timeModelCall(deps.metrics);
    try {
      if (turn) deltas = await openDeltaLog(turn);
      const response = await deps.llm.chat(request, ctx.cancellationSignal, timer.watch(deltas && ((text) => deltas!.push(text))));
      timer.end('ok', response.usage);
      // The last delta is left to the caller: written with the turn's completion when this answer ends it.
      const rest = (await deltas?.takeRest()) ?? [];
      return { answer: { ...response, llmTimeMs: Date.now() - started }, rest };
    } catch (err) {
      // Canceled by the workflow: what arrived is the turn's partial answer, so it is written. Failed, timed out
      // or lost (another attempt may already be writing): the rest is dropped, and a retry writes its own.
      const canceled = ctx.cancellationDetails?.cancelRequested === true;
      timer.end(canceled ? 'canceled' : 'error');
      if (canceled) await deltas?.finish().catch(() => undefined);
      else await deltas?.abandon();
      throw toLlmFailure(err);
    } finally {
      clearInterval(beat);
    }
  }

  /** Records a finished turn; the response time is measured here, on the real clock. */
  async function complete({ startedAtMs, ...p }: CompleteTurnInput, leadingEvents: NewTurnEvent[] = []): Promise<TurnResult> {
    const responseTimeMs = Math.max(0, Date.now() - startedAtMs);
    const { assistantMessageId } = await store.completeTurn(deps.db, { ...p, responseTimeMs }, leadingEvents);
    deps.metrics?.turnEnded('completed', responseTimeMs / 1000);
    return { turnIndex: p.turnIndex, status: 'completed', assistantMessageId, responseTimeMs };
  }

  /** The result an earlier attempt recorded, when the turn is already completed. */
  async function recordedResult(p: { conversationId: string; turnIndex: number }): Promise<TurnResult | undefined> {
    const found = await findTurnWithAnswer(deps.db, p.conversationId, p.turnIndex);
    if (found?.row.status !== 'completed' || !found.answer) return undefined;
    return { turnIndex: p.turnIndex, status: 'completed', assistantMessageId: found.answer.id, responseTimeMs: found.row.responseTimeMs ?? 0 };
  }

  return {
    /**
     * Records the turn start and user message, then builds the model request (prompt, history, tools) from
     * the agent and the conversation. It does both; the activity keeps the name `startTurn` because
     * committed workflow histories schedule it by that name.
     */
    async startTurn(input: TurnInput): Promise<TurnPlan> {
      await recordTurnStart(input, 'startTurn');
      const plan = await buildModelRequest(deps.db, input, deps.defaultModel, deps.expandTools);
      if (!plan) {
        throw ApplicationFailure.create({ type: failureTypes.turnNotFound, message: 'agent not found', nonRetryable: true });
      }
      return plan;
    },

    /** One LLM call, streamed to the turn's event log when it belongs to a turn (see `streamedChat`). */
    async callModel({ turn, ...request }: CallModelInput): Promise<ModelAnswer> {
      const ref = turn ?? (await workflowTurnRef(deps.db, activityInfo().workflowExecution?.workflowId));
      const { answer, rest } = await streamedChat(ref, request);
      if (ref) await appendTurnEvents(deps.db, ref, rest);
      return answer;
    },

    /**
     * A turn's first step in one activity, so the common turn (no tools) costs one workflow task to start it and
     * one activity: records the start and user message, builds the request, retrieves knowledge, calls the model
     * (streaming, as `callModel`) and, when that answer ends the loop, records it (`completeTurn`'s transaction).
     * The answer is then final the moment this commits, and waiting clients are woken by its event. When the model
     * asks for tools, the workflow goes on with the returned plan and first answer. A retry of an attempt that
     * already recorded the answer returns it without calling the model again.
     */
    async answerTurn(input: TurnInput & { startedAtMs: number }): Promise<AnsweredTurn> {
      // The start's writes and the request's reads at once, on two connections: the request reads the history
      // before this turn and conversation fields the start does not write, so neither waits for the other.
      const [, base] = await Promise.all([
        recordTurnStart(input, 'answerTurn'),
        buildModelRequest(deps.db, input, deps.defaultModel, deps.expandTools),
      ]);
      if (!base) throw ApplicationFailure.create({ type: failureTypes.turnNotFound, message: 'agent not found', nonRetryable: true });
      if (activityInfo().attempt > 1) {
        const recorded = await recordedResult(input);
        if (recorded) return { plan: base, result: recorded };
      }
      const retrieved = base.knowledgeBases.length && deps.retrieveKnowledge
        ? await deps.retrieveKnowledge({ agentId: input.agentId, query: input.content, bases: base.knowledgeBases })
        : { bases: [], hits: [] };
      const plan = withKnowledge(base, retrieved);
      const limits = stepLimits(plan, 1, Date.now() - input.startedAtMs);
      const turn: TurnRef = { projectId: input.projectId, conversationId: input.conversationId, turnIndex: input.turnIndex };
      const { answer, rest } = await streamedChat(turn, { ...plan.request, ...(limits.lastStep ? { tools: undefined } : {}) });
      const end = loopEnd(plan, answer, limits);
      if (!end) {
        await appendTurnEvents(deps.db, turn, rest);
        return { plan, retrieved, first: { answer, limits } };
      }
      const usage = { promptTokens: answer.usage?.promptTokens ?? 0, completionTokens: answer.usage?.completionTokens ?? 0, totalTokens: answer.usage?.totalTokens ?? 0 };
      const loop = { ...end, usage, llmTimeMs: answer.llmTimeMs, toolsUsed: [] };
      return { plan, result: await complete(turnCompletion(input, input.startedAtMs, plan, retrieved, loop), rest) };
    },

    completeTurn: complete,

    /**
     * Marks the turn failed. Given the turn's input (a failure that may have come before `startTurn` wrote the
     * row), it first records the turn and user message as `startTurn` would, with text the database can store,
     * so the failed turn shows as failed rather than pending.
     */
    async failTurn({ turn, ...p }: { conversationId: string; turnIndex: number; error: string; startedAtMs: number; turn?: TurnInput }): Promise<void> {
      if (turn) await recordTurnStart({ ...turn, content: storableText(turn.content) }, 'failTurn');
      const responseTimeMs = Math.max(0, Date.now() - p.startedAtMs);
      await store.failTurn(deps.db, { ...p, responseTimeMs });
      deps.metrics?.turnEnded('failed', responseTimeMs / 1000);
    },

    async awaitPreviousTurn(workflowId: string): Promise<void> {
      const ctx = Context.current();
      const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_MS);
      try {
        await Promise.race([deps.awaitWorkflowClosed(workflowId), ctx.cancelled]);
      } finally {
        clearInterval(beat);
      }
    },
  };
}

/** Postgres refuses NUL, and lone surrogates cannot be encoded: both become U+FFFD. */
function storableText(text: string): string {
  return text.replace(/\u0000|\p{Cs}/gu, '\uFFFD');
}

export { toLlmFailure } from './llm-failure.js';
