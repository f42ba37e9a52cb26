import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Db, DbOrTx } from '../db/client.js';
import { activeConfigValue, findAgent } from '../agents/store.js';
import { knownConfigKeys } from '../agents/settings.js';
import { renderPrompt } from '../agents/prompt-template.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { searchAttributes, sessionWorkflowId, type SessionInput, type Workflows } from '../../workflows/contracts/index.js';
import type { CreateConversationBody } from './contracts.js';
import { addFirstMessage, createConversation, type ConversationRow } from './store.js';

/**
 * Opens a conversation with an active agent of the project: the row, the agent's rendered first message
 * as turn 0, and the session workflow, all before the transaction commits. 404 for an unknown agent, 409
 * for one that is not active.
 */
export async function startConversation(
  db: Db,
  temporal: Client,
  taskQueue: string,
  projectId: string,
  body: CreateConversationBody,
): Promise<ConversationRow> {
  const agent = await findAgent(db, projectId, body.agentId);
  if (!agent) throw new NotFoundError('agent');
  if (agent.status !== 'active') {
    throw new ConflictError(agent.status === 'paused' ? 'agent_paused' : 'agent_not_active', `the agent is ${agent.status}`);
  }
  return db.transaction(async (tx) => {
    const conv = await createConversation(tx, { ...body, projectId });
    const first = agent.firstMessage?.trim() ? await renderPrompt(agent.firstMessage, { agent, conversation: conv }) : null;
    const withFirst = first ? await addFirstMessage(tx, conv.id, first) : conv;
    // Started before the commit: if the commit fails, the session finds no conversation and ends.
    await startSession(tx, temporal, taskQueue, { projectId, conversationId: conv.id, agentId: agent.id });
    return withFirst;
  });
}

/** Idle conversations close after a day unless the agent's `idle_timeout_seconds` says otherwise. */
export const DEFAULT_IDLE_TIMEOUT_SECONDS = 86_400;

/**
 * Starts the conversation's session workflow, whose durable timer closes it when it goes idle. Started by
 * its registered name, typed by the contracts; a second start for the same conversation is a no-op.
 */
export async function startSession(
  db: DbOrTx,
  temporal: Client,
  taskQueue: string,
  ids: { projectId: string; conversationId: string; agentId: string },
): Promise<void> {
  const { conversationId, agentId } = ids;
  const parsed = knownConfigKeys.idle_timeout_seconds.safeParse(await activeConfigValue(db, agentId, 'idle_timeout_seconds'));
  const input: SessionInput = { conversationId, idleTimeoutMs: (parsed.success ? parsed.data : DEFAULT_IDLE_TIMEOUT_SECONDS) * 1000 };
  try {
    await temporal.workflow.start<Workflows['conversationSession']>('conversationSession', {
      taskQueue,
      workflowId: sessionWorkflowId(conversationId),
      args: [input],
      typedSearchAttributes: [
        { key: searchAttributes.projectId, value: ids.projectId },
        { key: searchAttributes.agentId, value: agentId },
        { key: searchAttributes.conversationId, value: conversationId },
      ],
      staticSummary: `Idle timer of conversation ${conversationId} (${input.idleTimeoutMs / 1000} s)`,
      staticDetails: `conversation ${conversationId} · agent ${agentId} · project ${ids.projectId}`,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}
