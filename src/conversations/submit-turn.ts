import { createHash } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { Db, DbOrTx } from '../db/client.js';
import { and, eq } from 'drizzle-orm';
import { activeConfigValue, type AgentRow } from '../agents/store.js';
import { agentExecutionHistory, conversation, smartAgent, subscription } from '../db/schema/index.js';
import { AppError, ConflictError, NotFoundError } from '../errors.js';
import { enforcePlanLimit } from '../tenancy/plan-limits.js';
import { searchAttributes, turnWorkflowId, type TurnCancelReason, type TurnInput, type TurnOverrides, type Workflows } from '../../workflows/contracts/index.js';
import { findTurnRequest, recordTurnRequest, type TurnRequestRow } from './message-store.js';
import { setLastTurnIndex, type ConversationRow } from './store.js';
import { requestTurnCancel } from './turn-control.js';

export interface SubmittedTurn {
  turnIndex: number;
  workflowId: string;
  /** True when an Idempotency-Key matched an earlier request: no new turn was started. */
  replayed: boolean;
}

interface SubmitParams {
  projectId: string;
  conversationId: string;
  content: string;
  idempotencyKey?: string;
  /** Per-turn settings (OpenAI-compatible API); part of what an Idempotency-Key must match. */
  overrides?: TurnOverrides;
}

/**
 * Hands out the next turn index and starts its workflow. The conversation row is locked for the duration,
 * so two requests for one conversation are serialised by Postgres, not by gateway memory, and any number
 * of gateways can run side by side.
 */
export async function submitTurn(db: Db, temporal: Client, taskQueue: string, p: SubmitParams): Promise<SubmittedTurn> {
  const hashed = p.overrides ? JSON.stringify([p.content, p.overrides]) : p.content;
  const requestHash = createHash('sha256').update(hashed).digest('hex');
  return db.transaction(async (tx) => {
    // The locked conversation with what the checks below need, its last turn's status and the Idempotency-Key's
    // earlier request, in one round trip (pipelined: the reads behind the lock start once it is granted, so they see
    // what its previous holder committed). Ignored when the conversation is not found.
    const [context, lastTurnStatus, seen] = await Promise.all([
      lockTurnContext(tx, p.projectId, p.conversationId),
      lastTurnStatusOf(tx, p.conversationId),
      p.idempotencyKey ? findTurnRequest(tx, p.conversationId, p.idempotencyKey) : undefined,
    ]);
    if (!context) throw new NotFoundError('conversation');
    const { conv } = context;
    const earlier = seen ? earlierSubmission(seen, requestHash) : undefined;
    if (earlier) return earlier;
    // After the idempotency lookup: a retry of a turn that was accepted is answered even at the limit.
    if (context.monthlyTurnLimit !== null) await enforcePlanLimit(tx, p.projectId, 'monthly_turns');
    const agent = agentTakingTurns(conv, context.agent);
    const previousTurnWorkflowId = await turnToWaitFor(tx, temporal, conv, agent.id, lastTurnStatus);

    const turnIndex = conv.lastTurnIndex + 1;
    const input: TurnInput = {
      projectId: conv.projectId,
      agentId: agent.id,
      conversationId: conv.id,
      turnIndex,
      content: p.content,
      ...(previousTurnWorkflowId ? { previousTurnWorkflowId } : {}),
      ...(p.overrides ? { overrides: p.overrides } : {}),
    };
    const workflowId = await startTurnWorkflow(tx, temporal, taskQueue, input, agent.name);
    await setLastTurnIndex(tx, conv.id, turnIndex, true);
    if (p.idempotencyKey) {
      await recordTurnRequest(tx, { conversationId: conv.id, idempotencyKey: p.idempotencyKey, requestHash, turnIndex, workflowId });
    }
    return { turnIndex, workflowId, replayed: false };
  });
}

/**
 * The conversation, locked `FOR UPDATE` until the transaction ends (turn submissions for one conversation are
 * serialised by Postgres, not by gateway memory), with its agent and the project's monthly turn limit: one statement
 * on the submit path, which runs before the workflow starts.
 */
async function lockTurnContext(tx: DbOrTx, projectId: string, conversationId: string) {
  const [row] = await tx
    .select({ conv: conversation, agent: smartAgent, monthlyTurnLimit: subscription.monthlyTurnLimit })
    .from(conversation)
    .leftJoin(smartAgent, and(eq(smartAgent.id, conversation.agentId), eq(smartAgent.projectId, conversation.projectId)))
    .leftJoin(subscription, eq(subscription.projectId, conversation.projectId))
    .where(and(eq(conversation.id, conversationId), eq(conversation.projectId, projectId)))
    .for('update', { of: conversation });
  return row;
}

/**
 * The status of the conversation's last turn row; null when it has none yet (its workflow has not written it). A
 * statement of its own, sent behind the lock: joined into the locking statement it would be read as that statement's
 * snapshot saw it before waiting for the lock (Postgres rechecks only the locked row), so a submit that waited for
 * the previous turn's completion to commit would find that turn `running` and refuse or queue behind it.
 */
async function lastTurnStatusOf(tx: DbOrTx, conversationId: string): Promise<string | null> {
  const [row] = await tx
    .select({ status: agentExecutionHistory.status })
    .from(conversation)
    .innerJoin(
      agentExecutionHistory,
      and(eq(agentExecutionHistory.conversationId, conversation.id), eq(agentExecutionHistory.messageIndex, conversation.lastTurnIndex)),
    )
    .where(eq(conversation.id, conversationId));
  return row?.status ?? null;
}

/** The turn an earlier request with this Idempotency-Key started; a 422 when that request sent other text. */
function earlierSubmission(seen: TurnRequestRow, requestHash: string): SubmittedTurn {
  if (seen.requestHash !== requestHash) {
    throw new AppError(422, 'idempotency_key_reused', 'this Idempotency-Key was already used for a different message');
  }
  return { turnIndex: seen.turnIndex, workflowId: seen.workflowId, replayed: true };
}

/** The conversation's agent, when both take turns: 409 for a paused or ended conversation or an inactive agent. */
function agentTakingTurns(conv: ConversationRow, agent: AgentRow | null): AgentRow {
  if (conv.status === 'paused') {
    throw new ConflictError('conversation_paused', 'the conversation is paused; PATCH its status to active to continue');
  }
  if (conv.status !== 'active') {
    throw new ConflictError('conversation_ended', `the conversation is ${conv.status}; start a new one`);
  }
  if (!agent || agent.status !== 'active') {
    const code = agent?.status === 'paused' ? 'agent_paused' : 'agent_not_active';
    throw new ConflictError(code, `the agent is ${agent?.status ?? 'gone'} and takes no new turns`);
  }
  return agent;
}

/** What a canceled turn records as its stop reason, per double-texting policy that cancels. */
const cancelingPolicies = new Map<unknown, TurnCancelReason>([['interrupt', 'interrupted'], ['rollback', 'rolled_back']]);

/**
 * Double texting: while the previous turn runs, a new one is refused (409) unless the agent's
 * `double_texting` is `enqueue`, `interrupt` or `rollback`; then it returns the running turn's workflow id for
 * the new turn to await. `interrupt` and `rollback` cancel that turn first (with the reason it records): the
 * new turn still waits for it, so the history it reads already has the canceled turn settled.
 */
async function turnToWaitFor(
  tx: DbOrTx,
  temporal: Client,
  conv: ConversationRow,
  agentId: string,
  /** The status of the conversation's last turn row; null when it has none yet (its workflow has not written it). */
  lastTurnStatus: string | null,
): Promise<string | undefined> {
  if (conv.lastTurnIndex <= 0 || !(await turnIsRunning(temporal, conv.id, conv.lastTurnIndex, lastTurnStatus))) return undefined;
  const policy = await activeConfigValue(tx, agentId, 'double_texting');
  const previousTurnWorkflowId = turnWorkflowId(conv.id, conv.lastTurnIndex);
  const cancelReason = cancelingPolicies.get(policy);
  if (cancelReason) await requestTurnCancel(temporal, previousTurnWorkflowId, cancelReason);
  else if (policy !== 'enqueue') {
    throw new ConflictError('turn_in_progress', 'a turn of this conversation is still running; retry when it ends', {
      turnIndex: conv.lastTurnIndex,
      workflowId: previousTurnWorkflowId,
    });
  }
  return previousTurnWorkflowId;
}

/**
 * Starts the turn workflow by its registered name (the gateway never loads workflow code), typed by the
 * contracts so the compiler checks the input. Returns the workflow id.
 */
async function startTurnWorkflow(tx: DbOrTx, temporal: Client, taskQueue: string, input: TurnInput, agentName: string): Promise<string> {
  const workflowId = turnWorkflowId(input.conversationId, input.turnIndex);
  try {
    await temporal.workflow.start<Workflows['runConversationTurn']>('runConversationTurn', {
      taskQueue,
      workflowId,
      args: [input],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [
        { key: searchAttributes.projectId, value: input.projectId },
        { key: searchAttributes.agentId, value: input.agentId },
        { key: searchAttributes.conversationId, value: input.conversationId },
      ],
      staticSummary: `Turn ${input.turnIndex} of conversation ${input.conversationId} with agent "${agentName}"`,
      staticDetails: `agent ${input.agentId} · project ${input.projectId}`,
    });
  } catch (err) {
    // Only possible if an earlier request started this index and then failed to commit.
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      await setLastTurnIndex(tx, input.conversationId, input.turnIndex, false);
      throw new ConflictError('turn_in_progress', 'a turn of this conversation is still running; retry when it ends');
    }
    throw err;
  }
  return workflowId;
}

/**
 * A completed or failed turn row answers without asking Temporal; otherwise the workflow's own status decides
 * (a canceled turn may still be finishing: a queued one waits for the turn before it).
 */
async function turnIsRunning(temporal: Client, conversationId: string, index: number, status: string | null): Promise<boolean> {
  if (status !== null && status !== 'running' && status !== 'canceled') return false;
  try {
    const description = await temporal.workflow.getHandle(turnWorkflowId(conversationId, index)).describe();
    return description.status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}
