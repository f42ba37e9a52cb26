import { ApplicationFailure } from '@temporalio/activity';
import type { Db } from '../src/db/client.js';
import { buildModelRequest } from '../src/conversations/model-request.js';
import { finishTask, markTaskRunning, type TaskOutcome } from '../src/tasks/store.js';
import type { TurnPlan } from './turn.js';

export interface TaskActivityDeps {
  db: Db;
  defaultModel: string;
}

export type FinishTaskInput = TaskOutcome;

export function createTaskActivities(deps: TaskActivityDeps) {
  return {
    /** Marks the task running and builds the model request from its input (no conversation history). */
    async startAgentTask(taskId: string): Promise<TurnPlan> {
      const task = await markTaskRunning(deps.db, taskId);
      if (!task) throw ApplicationFailure.create({ type: 'TaskNotRunnable', message: 'the task is gone or already finished', nonRetryable: true });
      const input = String(task.payload.input ?? '');
      const plan = await buildModelRequest(deps.db, { agentId: task.agentId, turnIndex: 0, content: input }, deps.defaultModel);
      if (!plan) throw ApplicationFailure.create({ type: 'TaskNotRunnable', message: 'the agent no longer exists', nonRetryable: true });
      return plan;
    },

    /** Records the outcome once; a retry after success changes nothing. */
    async finishAgentTask(p: FinishTaskInput): Promise<void> {
      await finishTask(deps.db, p);
    },
  };
}
