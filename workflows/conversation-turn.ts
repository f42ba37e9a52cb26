import { ApplicationFailure, CancellationScope, isCancellation, log, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { runAgentLoop, type LoopResult, type ToolUseRecord } from './agent-loop.js';
import { withKnowledge } from './contracts/knowledge-prompt.js';
import { turnCompletion } from './contracts/turn-outcome.js';
import { cancellableLlm, llm, retrieval, store } from './proxies.js';
import { startEscalations } from './escalation-start.js';
import { failureTypes, rootCauseMessage, turnStopSignal, type TurnCancelReason, type TurnInput, type TurnResult } from './contracts/index.js';

/** Waiting for the previous turn of the conversation (enqueue policy): as long as that turn takes. */
const queue = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { maximumInterval: '10 seconds' },
});

/** Histories from before every failure marked the turn failed: those failures did not, and replay must agree. */
const ALWAYS_TERMINAL_PATCH = 'turn-failure-always-marks-the-row';

/**
 * Histories from before turns could be canceled: their model and tool calls did not wait for a cancellation
 * to complete and a cancellation marked the turn failed. Marked once, at the start, so a run decides once.
 */
const CANCEL_PATCH = 'turn-cancel-marks-the-row-canceled';

/**
 * Turns whose first step is one activity (`answerTurn`: start, request, retrieval, model call and, when that
 * answer is final, its record), instead of the `startTurn` local activity, `callModel` and a `completeTurn`
 * local activity in a second workflow task. Implies the two patches above, so a new turn records one marker.
 */
const ONE_STEP_PATCH = 'turn-first-step-in-one-activity';

interface TurnState {
  failureRecorded: boolean;
  /** This run answers its first step in one activity ({@link ONE_STEP_PATCH}). */
  oneStep: boolean;
  /** This run records a cancellation as such ({@link CANCEL_PATCH}). */
  cancellable: boolean;
  /** Past the wait for the previous turn. */
  started: boolean;
  /** Set by {@link turnStopSignal}, which the gateway sends before it cancels for a newer message. */
  cancelReason: TurnCancelReason;
}

/**
 * One conversation turn: record the user message, run the model's tool-calling loop, record the answer. Every write is an
 * idempotent activity keyed on (conversation, turn), so retries and worker restarts never duplicate rows.
 * When the model cannot answer, the turn row is marked failed and the workflow fails with the reason. Any other failure
 * (an activity that fails for good, before or after the row exists) marks it failed too: a turn never stays pending.
 */
export async function runConversationTurn(input: TurnInput): Promise<TurnResult> {
  const startedAtMs = workflowInfo().runStartTime.getTime();
  const oneStep = patched(ONE_STEP_PATCH);
  const state: TurnState = { failureRecorded: false, oneStep, cancellable: oneStep || patched(CANCEL_PATCH), started: false, cancelReason: 'canceled' };
  setHandler(turnStopSignal, ({ reason }) => {
    state.cancelReason = reason;
  });
  try {
    return await runTurn(input, startedAtMs, state);
  } catch (err) {
    if (state.cancellable && isCancellation(err)) {
      await recordCancellation(input, startedAtMs, state);
      throw err; // the workflow ends canceled
    }
    if (!state.failureRecorded && (state.oneStep || patched(ALWAYS_TERMINAL_PATCH))) await recordFailure(input, startedAtMs, err);
    throw err;
  }
}

/**
 * Marks the turn canceled (with the text streamed so far and `turn.canceled`), writing its row first if the
 * turn had not started. A turn canceled while queued then still waits for the turn before it: the next turn
 * waits only for this one, and must find the conversation's history settled.
 */
async function recordCancellation(input: TurnInput, startedAtMs: number, state: TurnState): Promise<void> {
  try {
    await CancellationScope.nonCancellable(async () => {
      await store.cancelTurn({ turn: input, reason: state.cancelReason, startedAtMs });
      if (!state.started && input.previousTurnWorkflowId) await queue.awaitPreviousTurn(input.previousTurnWorkflowId);
    });
  } catch (recordErr) {
    log.warn('could not mark the canceled turn', { error: rootCauseMessage(recordErr) });
  }
}

/** Marks the turn failed, writing its row first if the failure came before it; even when the turn was cancelled. */
async function recordFailure(input: TurnInput, startedAtMs: number, err: unknown): Promise<void> {
  const params = { conversationId: input.conversationId, turnIndex: input.turnIndex, error: rootCauseMessage(err), startedAtMs, turn: input };
  try {
    await CancellationScope.nonCancellable(() => store.failTurn(params));
  } catch (recordErr) {
    // The original failure is what the workflow reports; this one only explains a row left unmarked.
    log.warn('could not mark the failed turn', { error: rootCauseMessage(recordErr) });
  }
}

async function runTurn(input: TurnInput, startedAtMs: number, state: TurnState): Promise<TurnResult> {
  if (input.previousTurnWorkflowId) await queue.awaitPreviousTurn(input.previousTurnWorkflowId);
  state.started = true;
  if (state.oneStep) return runOneStepTurn(input, startedAtMs, state);

  let plan = await store.startTurn(input);
  // Results recorded before knowledge existed have no knowledgeBases field: no retrieval for them.
  const retrieved = plan.knowledgeBases?.length
    ? await retrieval.retrieveKnowledge({ agentId: input.agentId, query: input.content })
    : { bases: [], hits: [] };
  plan = withKnowledge(plan, retrieved);
  let loop: LoopResult;
  try {
    const callModel = state.cancellable ? cancellableLlm.callModel : llm.callModel;
    loop = await runAgentLoop(plan, callModel, input, startedAtMs, { cancellable: state.cancellable });
  } catch (err) {
    throw await loopFailed(input, startedAtMs, state, err);
  }
  // The answer is final: a cancellation from here on is too late, and the turn completes (and escalates).
  const finish = () => finishTurn(input, startedAtMs, plan, retrieved, loop);
  return state.cancellable ? CancellationScope.nonCancellable(finish) : finish();
}

/**
 * The turn's first step as one activity (see {@link ONE_STEP_PATCH}). An answer without tool calls comes back
 * recorded; otherwise the loop goes on from the first answer, and the turn completes as before.
 */
async function runOneStepTurn(input: TurnInput, startedAtMs: number, state: TurnState): Promise<TurnResult> {
  const turn = { projectId: input.projectId, conversationId: input.conversationId, turnIndex: input.turnIndex };
  let loop: LoopResult;
  let answered: Awaited<ReturnType<typeof cancellableLlm.answerTurn>>;
  try {
    answered = await cancellableLlm.answerTurn({ ...input, startedAtMs });
    if ('result' in answered) {
      const { plan, result } = answered;
      return await CancellationScope.nonCancellable(() => afterAnswer(input, plan, [], result));
    }
    const callModel = (request: Parameters<typeof cancellableLlm.callModel>[0]) => cancellableLlm.callModel({ ...request, turn });
    loop = await runAgentLoop(answered.plan, callModel, input, startedAtMs, { cancellable: true, first: answered.first });
  } catch (err) {
    // The first activity may have failed before it wrote the row: the failure writes it then.
    throw await loopFailed(input, startedAtMs, state, err, { turn: input });
  }
  const { plan, retrieved } = answered;
  return CancellationScope.nonCancellable(() => finishTurn(input, startedAtMs, plan, retrieved, loop));
}

/** The model could not answer (or a cancellation ends the turn): marks the row failed and says why. */
async function loopFailed(input: TurnInput, startedAtMs: number, state: TurnState, err: unknown, row: { turn?: TurnInput } = {}): Promise<unknown> {
  if (isCancellation(err)) return err;
  const reason = rootCauseMessage(err);
  await store.failTurn({ conversationId: input.conversationId, turnIndex: input.turnIndex, error: reason, startedAtMs, ...row });
  state.failureRecorded = true;
  return ApplicationFailure.create({ type: failureTypes.turnFailed, message: reason, nonRetryable: true });
}

type Plan = ReturnType<typeof withKnowledge>;

async function finishTurn(input: TurnInput, startedAtMs: number, plan: Plan, retrieved: Parameters<typeof withKnowledge>[1], loop: LoopResult): Promise<TurnResult> {
  const result = await store.completeTurn(turnCompletion(input, startedAtMs, plan, retrieved, loop));
  return afterAnswer(input, plan, loop.toolsUsed, result);
}

/** Deviation rules see the finished turn; escalations start as their own workflows and do not hold the answer. */
async function afterAnswer(input: TurnInput, plan: Pick<Plan, 'deviationRules'>, toolsUsed: ToolUseRecord[], result: TurnResult): Promise<TurnResult> {
  if (plan.deviationRules) {
    const opened = await store.escalateTurn({
      conversationId: input.conversationId,
      agentId: input.agentId,
      turnIndex: input.turnIndex,
      userMessage: input.content,
      toolFailures: toolsUsed.filter((t) => t.status === 'failure').length,
      escalateToolReasons: toolsUsed.filter((t) => t.toolName === 'escalate_to_human' && t.status === 'success').map((t) => String(t.inputParams?.reason ?? '')),
      responseTimeMs: result.responseTimeMs,
    });
    await startEscalations(opened);
  }
  return result;
}
