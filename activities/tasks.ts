import { ApplicationFailure } from '@temporalio/activity';
import { and, eq, inArray } from 'drizzle-orm';
import type { Db } from '../src/db/client.js';
import { agentTask } from '../src/db/schema/index.js';
import { buildModelRequest } from '../src/conversations/model-request.js';
import type { TurnPlan } from './turn.js';

export interface TaskActivityDeps {
  db: Db;
  defaultModel: string;
}

export interface FinishTaskInput {
  taskId: string;
  status: 'completed' | 'failed' | 'canceled';
  result?: unknown;
  error?: string;
  steps?: Array<Record<string, unknown>>;
}

export function createTaskActivities(deps: TaskActivityDeps) {
  return {
    /** Marks the task running and builds the model request from its input (no conversation history). */
    async startAgentTask(taskId: string): Promise<TurnPlan> {
      const [task] = await deps.db
        .update(agentTask)
        .set({ status: 'running', startedAt: new Date() })
        .where(and(eq(agentTask.id, taskId), inArray(agentTask.status, ['pending', 'running'])))
        .returning();
      if (!task) throw ApplicationFailure.create({ type: 'TaskNotRunnable', message: 'the task is gone or already finished', nonRetryable: true });
      const input = String(task.payload.input ?? '');
      const plan = await buildModelRequest(deps.db, { agentId: task.agentId, turnIndex: 0, content: input }, deps.defaultModel);
      if (!plan) throw ApplicationFailure.create({ type: 'TaskNotRunnable', message: 'the agent no longer exists', nonRetryable: true });
      return plan;
    },

    /** Records the outcome once; a retry after success changes nothing. */
    async finishAgentTask(p: FinishTaskInput): Promise<void> {
      await deps.db
        .update(agentTask)
        .set({ status: p.status, result: p.result ?? null, error: p.error?.slice(0, 2000) ?? null, steps: p.steps ?? [], completedAt: new Date() })
        .where(and(eq(agentTask.id, p.taskId), inArray(agentTask.status, ['pending', 'running'])));
    },
  };
}
