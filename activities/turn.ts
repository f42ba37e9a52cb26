import { activityInfo, ApplicationFailure, Context } from '@temporalio/activity';
import { OpenAI } from 'openai';
import type { Db } from '../src/db/client.js';
import type { ChatRequest, ChatResponse, LlmClient } from '../src/llm/client.js';
import { buildModelRequest } from '../src/conversations/model-request.js';
import type { TurnTool } from '../src/tools/turn-tools.js';
import * as store from '../src/conversations/turn-store.js';
import { DeltaBatcher } from '../src/conversations/delta-batcher.js';
import { appendTurnEvents, workflowTurnRef, type TurnRef } from '../src/conversations/turn-events.js';
import { failureTypes, type TurnInput, type TurnResult } from '../workflows/contracts/index.js';

export interface TurnActivityDeps {
  db: Db;
  llm: LlmClient;
  defaultModel: string;
  /** Waits until another workflow has closed (used by the `enqueue` double-texting policy). */
  awaitWorkflowClosed: (workflowId: string) => Promise<void>;
  /** Expands registered tools into the ones the model sees (MCP servers into their tools). */
  expandTools?: (tools: TurnTool[]) => Promise<TurnTool[]>;
}

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
    await store.beginTurn(deps.db, { ...input, workflowId: execution.workflowId, runId: execution.runId });
  }

  /** The delta writer of this model attempt; a retried attempt first tells clients to drop what came before. */
  async function openDeltaLog(turn: TurnRef, onWritten: () => void): Promise<DeltaBatcher> {
    const info = activityInfo();
    const keyPrefix = `model:${info.workflowExecution?.runId ?? ''}:${info.activityId}:${info.attempt}`;
    if (info.attempt > 1) {
      await appendTurnEvents(deps.db, turn, [{ key: `${keyPrefix}:reset`, type: 'message.reset', data: { attempt: info.attempt } }]);
    }
    return new DeltaBatcher({ keyPrefix, onWritten, write: (events) => appendTurnEvents(deps.db, turn, events) });
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

    /**
     * One LLM call. For a turn the call streams and the answer's text goes to the turn's event log as it comes
     * (`message.delta`, see {@link DeltaBatcher}); a retried attempt first writes `message.reset` so clients drop
     * the text of the attempt that failed. Event keys name (run, activity, attempt, chunk), so nothing is written
     * twice. Heartbeats while waiting and on every written batch, so a dead worker is noticed quickly, and aborts
     * the HTTP request when Temporal cancels the activity. Requests the model rejects (4xx other than 408/409/429)
     * fail without retry; 429 retries after the server's Retry-After.
     */
    async callModel({ turn, ...request }: CallModelInput): Promise<ChatResponse & { llmTimeMs: number }> {
      const ctx = Context.current();
      const started = Date.now();
      const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_MS);
      let deltas: DeltaBatcher | undefined;
      try {
        const turnRef = turn ?? (await workflowTurnRef(deps.db, activityInfo().workflowExecution?.workflowId));
        if (turnRef) deltas = await openDeltaLog(turnRef, () => ctx.heartbeat());
        const response = await deps.llm.chat(request, ctx.cancellationSignal, deltas && ((text) => deltas!.push(text)));
        await deltas?.finish();
        return { ...response, llmTimeMs: Date.now() - started };
      } catch (err) {
        // Canceled by the workflow: what arrived is the turn's partial answer, so it is written. Failed, timed out
        // or lost (another attempt may already be writing): the rest is dropped, and a retry writes its own.
        if (ctx.cancellationDetails?.cancelRequested) await deltas?.finish().catch(() => undefined);
        else await deltas?.abandon();
        throw toLlmFailure(err);
      } finally {
        clearInterval(beat);
      }
    },

    async completeTurn({ startedAtMs, ...p }: CompleteTurnInput): Promise<TurnResult> {
      const responseTimeMs = Math.max(0, Date.now() - startedAtMs);
      const { assistantMessageId } = await store.completeTurn(deps.db, { ...p, responseTimeMs });
      return { turnIndex: p.turnIndex, status: 'completed', assistantMessageId, responseTimeMs };
    },

    /**
     * Marks the turn failed. Given the turn's input (a failure that may have come before `startTurn` wrote the
     * row), it first records the turn and user message as `startTurn` would, with text the database can store,
     * so the failed turn shows as failed rather than pending.
     */
    async failTurn({ turn, ...p }: { conversationId: string; turnIndex: number; error: string; startedAtMs: number; turn?: TurnInput }): Promise<void> {
      if (turn) await recordTurnStart({ ...turn, content: storableText(turn.content) }, 'failTurn');
      await store.failTurn(deps.db, { ...p, responseTimeMs: Math.max(0, Date.now() - p.startedAtMs) });
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

/** Maps an error of the `openai` client to a Temporal failure with the right retry behaviour. */
export function toLlmFailure(err: unknown): unknown {
  if (err instanceof OpenAI.APIError && typeof err.status === 'number') {
    const status = err.status;
    if (status === 429) {
      const seconds = Number(err.headers?.get?.('retry-after'));
      return ApplicationFailure.create({
        type: failureTypes.llmUnavailable,
        message: `model rate limited (429)`,
        nextRetryDelay: Number.isFinite(seconds) && seconds > 0 ? `${seconds}s` : undefined,
      });
    }
    if (status >= 400 && status < 500 && status !== 408 && status !== 409) {
      return ApplicationFailure.create({
        type: failureTypes.llmRejected,
        message: `model rejected the request (${status}): ${err.message}`.slice(0, 500),
        nonRetryable: true,
      });
    }
  }
  return err;
}
