// An OpenAI-style request as a conversation turn: open a conversation (with the client's earlier messages as
// its history) or continue one, then submit the turn exactly as our own messages endpoint does.
import type { Client } from '@temporalio/client';
import type { Db } from '../db/client.js';
import { findAgent } from '../agents/store.js';
import { AppError, ConflictError, NotFoundError } from '../errors.js';
import type { TurnOverrides } from '../../workflows/contracts/index.js';
import { findConversationByRequestKey, importHistory, lockRequestKey } from '../conversations/imported-history.js';
import type { HistoryMessage } from '../conversations/model-history.js';
import { startSession } from '../conversations/start-conversation.js';
import { createConversation, findConversation, type ConversationRow } from '../conversations/store.js';
import { submitTurn } from '../conversations/submit-turn.js';
import { enforcePlanLimit } from '../tenancy/plan-limits.js';

export interface CompatTurnRequest {
  projectId: string;
  agentId: string;
  /** Continue this conversation (only `content` is new); absent: open one with `history`. */
  conversationId?: string;
  history: HistoryMessage[];
  content: string;
  overrides?: TurnOverrides;
  idempotencyKey?: string;
  /** OpenAI's `user`: the conversation's external user when one is opened. */
  user?: string;
  /** Where the request came from, kept in the conversation's metadata (`chat.completions`, `responses`). */
  api: string;
}

export interface CompatTurn {
  conversationId: string;
  turnIndex: number;
  workflowId: string;
  replayed: boolean;
}

/** Thrown when `model` names no agent of the project. */
export class ModelNotFoundError extends NotFoundError {
  constructor(readonly model: string) {
    super('model');
  }
}

export async function submitCompatTurn(db: Db, temporal: Client, taskQueue: string, r: CompatTurnRequest): Promise<CompatTurn> {
  const conv = r.conversationId ? await continued(db, r) : await opened(db, temporal, taskQueue, r);
  const turn = await submitTurn(db, temporal, taskQueue, {
    projectId: r.projectId,
    conversationId: conv.id,
    content: r.content,
    ...(r.idempotencyKey ? { idempotencyKey: r.idempotencyKey } : {}),
    ...(r.overrides ? { overrides: r.overrides } : {}),
  });
  return { conversationId: conv.id, ...turn };
}

async function continued(db: Db, r: CompatTurnRequest): Promise<ConversationRow> {
  const conv = await findConversation(db, r.projectId, r.conversationId!);
  if (!conv) throw new NotFoundError('conversation');
  if (conv.agentId !== r.agentId) throw new ConflictError('model_mismatch', `the conversation is with agent-${conv.agentId}, not with the requested model`);
  return conv;
}

/**
 * Opens a conversation with the agent, without the agent's first message (the client owns the transcript),
 * with the client's earlier messages as its history. With an Idempotency-Key, a retry finds the conversation
 * its first try opened instead of opening another.
 */
async function opened(db: Db, temporal: Client, taskQueue: string, r: CompatTurnRequest): Promise<ConversationRow> {
  const agent = await findAgent(db, r.projectId, r.agentId);
  if (!agent || agent.isTemplate || agent.status === 'archived') throw new ModelNotFoundError(r.agentId);
  if (agent.status !== 'active') throw new ConflictError(agent.status === 'paused' ? 'agent_paused' : 'agent_not_active', `the agent is ${agent.status}`);
  return db.transaction(async (tx) => {
    if (r.idempotencyKey) {
      await lockRequestKey(tx, r.projectId, r.idempotencyKey);
      const earlier = await findConversationByRequestKey(tx, r.projectId, r.idempotencyKey);
      // A key names one request: reused for another model it must not run the turn on the first one's agent.
      if (earlier && earlier.agentId !== agent.id) {
        throw new AppError(422, 'idempotency_key_reused', 'this Idempotency-Key was already used for a request to another model');
      }
      if (earlier) return earlier;
    }
    // Checked again by submitTurn; here first, so a project at its limit gets no empty conversation either.
    await enforcePlanLimit(tx, r.projectId, 'monthly_turns');
    const conv = await createConversation(tx, {
      projectId: r.projectId,
      agentId: agent.id,
      ...(r.user ? { externalUserId: r.user } : {}),
      metadata: { openai: { api: r.api, ...(r.idempotencyKey ? { idempotencyKey: r.idempotencyKey } : {}) } },
    });
    await importHistory(tx, conv.id, r.history);
    await startSession(tx, temporal, taskQueue, { projectId: r.projectId, conversationId: conv.id, agentId: agent.id });
    return conv;
  });
}
