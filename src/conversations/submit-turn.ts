import { createHash } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { agentConfig, conversation, smartAgent, turnRequest } from '../db/schema/index.js';
import { findTurn } from './store.js';
import { searchAttributes, turnWorkflowId, type TurnInput } from '../../workflows/contracts/index.js';
import { AppError, ConflictError, NotFoundError } from '../errors.js';
import { enforcePlanLimit } from '../tenancy/plan-limits.js';

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
}

/** The turn workflow's registered name; the gateway starts it by name so it never loads workflow code. */
const TURN_WORKFLOW = 'runConversationTurn';

/**
 * Hands out the next turn index and starts its workflow. The conversation row is locked for the duration,
 * so two requests for one conversation are serialised by Postgres, not by gateway memory, and any number
 * of gateways can run side by side.
 */
export async function submitTurn(db: Db, temporal: Client, taskQueue: string, p: SubmitParams): Promise<SubmittedTurn> {
  const requestHash = createHash('sha256').update(p.content).digest('hex');
  return db.transaction(async (tx) => {
    const [conv] = await tx
      .select()
      .from(conversation)
      .where(and(eq(conversation.id, p.conversationId), eq(conversation.projectId, p.projectId)))
      .for('update');
    if (!conv) throw new NotFoundError('conversation');

    if (p.idempotencyKey) {
      const [seen] = await tx
        .select()
        .from(turnRequest)
        .where(and(eq(turnRequest.conversationId, conv.id), eq(turnRequest.idempotencyKey, p.idempotencyKey)));
      if (seen) {
        if (seen.requestHash !== requestHash) {
          throw new AppError(422, 'idempotency_key_reused', 'this Idempotency-Key was already used for a different message');
        }
        return { turnIndex: seen.turnIndex, workflowId: seen.workflowId, replayed: true };
      }
    }

    // After the idempotency lookup: a retry of a turn that was accepted is answered even at the limit.
    await enforcePlanLimit(tx, p.projectId, 'monthly_turns');

    if (conv.status === 'paused') {
      throw new ConflictError('conversation_paused', 'the conversation is paused; PATCH its status to active to continue');
    }
    if (conv.status !== 'active') {
      throw new ConflictError('conversation_ended', `the conversation is ${conv.status}; start a new one`);
    }
    const [agent] = await tx.select().from(smartAgent).where(eq(smartAgent.id, conv.agentId));
    if (!agent || agent.status !== 'active') {
      const code = agent?.status === 'paused' ? 'agent_paused' : 'agent_not_active';
      throw new ConflictError(code, `the agent is ${agent?.status ?? 'gone'} and takes no new turns`);
    }

    let previousTurnWorkflowId: string | undefined;
    if (conv.lastTurnIndex > 0 && (await turnIsRunning(tx, temporal, conv.id, conv.lastTurnIndex))) {
      const [policy] = await tx
        .select({ value: agentConfig.configValue })
        .from(agentConfig)
        .where(and(eq(agentConfig.agentId, agent.id), eq(agentConfig.configKey, 'double_texting'), eq(agentConfig.isActive, true)));
      previousTurnWorkflowId = turnWorkflowId(conv.id, conv.lastTurnIndex);
      if (policy?.value !== 'enqueue') {
        throw new ConflictError('turn_in_progress', 'a turn of this conversation is still running; retry when it ends', {
          turnIndex: conv.lastTurnIndex,
          workflowId: previousTurnWorkflowId,
        });
      }
    }

    const turnIndex = conv.lastTurnIndex + 1;
    const workflowId = turnWorkflowId(conv.id, turnIndex);
    const input: TurnInput = {
      projectId: conv.projectId,
      agentId: agent.id,
      conversationId: conv.id,
      turnIndex,
      content: p.content,
      ...(previousTurnWorkflowId ? { previousTurnWorkflowId } : {}),
    };
    try {
      await temporal.workflow.start(TURN_WORKFLOW, {
        taskQueue,
        workflowId,
        args: [input],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: [
          { key: searchAttributes.projectId, value: conv.projectId },
          { key: searchAttributes.agentId, value: agent.id },
          { key: searchAttributes.conversationId, value: conv.id },
        ],
        staticSummary: `Turn ${turnIndex} of conversation ${conv.id} with agent "${agent.name}"`,
        staticDetails: `agent ${agent.id} · project ${conv.projectId}`,
      });
    } catch (err) {
      // Only possible if an earlier request started this index and then failed to commit.
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        await tx.update(conversation).set({ lastTurnIndex: turnIndex }).where(eq(conversation.id, conv.id));
        throw new ConflictError('turn_in_progress', 'a turn of this conversation is still running; retry when it ends');
      }
      throw err;
    }
    await tx.update(conversation).set({ lastTurnIndex: turnIndex, lastActivityAt: new Date() }).where(eq(conversation.id, conv.id));
    if (p.idempotencyKey) {
      await tx.insert(turnRequest).values({ conversationId: conv.id, idempotencyKey: p.idempotencyKey, requestHash, turnIndex, workflowId });
    }
    return { turnIndex, workflowId, replayed: false };
  });
}

/** A finished turn row answers without asking Temporal; otherwise the workflow's own status decides. */
async function turnIsRunning(db: Parameters<typeof findTurn>[0], temporal: Client, conversationId: string, index: number) {
  const row = await findTurn(db, conversationId, index);
  if (row && row.status !== 'running') return false;
  try {
    const description = await temporal.workflow.getHandle(turnWorkflowId(conversationId, index)).describe();
    return description.status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}
