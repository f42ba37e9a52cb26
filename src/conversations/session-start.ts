import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';
import { agentConfig } from '../db/schema/index.js';
import { knownConfigKeys } from '../agents/settings.js';
import type { SessionInput } from '../../workflows/contracts/index.js';
import { searchAttributes } from '../../workflows/contracts/index.js';
import type { GatewayDeps } from '../gateway/deps.js';

/** Idle conversations close after a day unless the agent's `idle_timeout_seconds` says otherwise. */
export const DEFAULT_IDLE_TIMEOUT_SECONDS = 86_400;

/** Starts the conversation's session workflow, whose durable timer closes it when it goes idle. */
export async function startSession(deps: GatewayDeps, ids: { projectId: string; conversationId: string; agentId: string }): Promise<void> {
  const { conversationId, agentId } = ids;
  const [row] = await deps.db
    .select({ value: agentConfig.configValue })
    .from(agentConfig)
    .where(and(eq(agentConfig.agentId, agentId), eq(agentConfig.configKey, 'idle_timeout_seconds'), eq(agentConfig.isActive, true)));
  const parsed = knownConfigKeys.idle_timeout_seconds.safeParse(row?.value);
  const input: SessionInput = { conversationId, idleTimeoutMs: (parsed.success ? parsed.data : DEFAULT_IDLE_TIMEOUT_SECONDS) * 1000 };
  try {
    await deps.temporal.workflow.start('conversationSession', {
      taskQueue: deps.settings.taskQueue,
      workflowId: `session:${conversationId}`,
      args: [input],
      typedSearchAttributes: [
        { key: searchAttributes.projectId, value: ids.projectId },
        { key: searchAttributes.agentId, value: agentId },
        { key: searchAttributes.conversationId, value: conversationId },
      ],
      staticSummary: `Idle timer of conversation ${conversationId} (${input.idleTimeoutMs / 1000} s)`,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}
