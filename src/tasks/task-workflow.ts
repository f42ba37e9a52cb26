import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { DbOrTx } from '../db/client.js';
import { findAgent } from '../agents/store.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { agentTaskWorkflowId, searchAttributes, type AgentTaskInput, type Workflows } from '../../workflows/contracts/index.js';
import type { CreateTaskBody } from './contracts.js';
import { createTask, findTask, setTaskWorkflowId, type TaskRow } from './store.js';

/** What starting and cancelling a task needs: the database, the Temporal client and the worker's queue. */
export interface TaskWorkflowDeps {
  db: DbOrTx;
  temporal: Client;
  taskQueue: string;
}

/** Temporal priority keys: lower runs first when workers are busy. */
const priorityKeys = { high: 1, normal: 3, low: 5 } as const;

/** The task if the project has it; 404 otherwise. */
export async function loadTask(db: DbOrTx, projectId: string, id: string): Promise<TaskRow> {
  const task = await findTask(db, projectId, id);
  if (!task) throw new NotFoundError('task');
  return task;
}

/**
 * Runs an active agent once on an input: the task's row first (so it can be polled at once), then its
 * `runAgentTask` workflow, whose id is then recorded on the row. 404 for an unknown agent, 409 for an
 * inactive one.
 */
export async function startAgentTaskWorkflow(deps: TaskWorkflowDeps, projectId: string, agentId: string, body: CreateTaskBody): Promise<TaskRow> {
  const agent = await findAgent(deps.db, projectId, agentId);
  if (!agent) throw new NotFoundError('agent');
  if (agent.status !== 'active') throw new ConflictError(agent.status === 'paused' ? 'agent_paused' : 'agent_not_active', `the agent is ${agent.status}`);
  const task = await createTask(deps.db, projectId, { agentId: agent.id, priority: body.priority, input: body.input, metadata: body.metadata });
  const workflowId = agentTaskWorkflowId(task.id);
  const input: AgentTaskInput = { taskId: task.id, projectId, agentId: agent.id, input: body.input };
  // Started by name with the contract's signature: the compiler checks the input, the gateway loads no workflow code.
  await deps.temporal.workflow.start<Workflows['runAgentTask']>('runAgentTask', {
    taskQueue: deps.taskQueue, workflowId, args: [input],
    priority: { priorityKey: priorityKeys[body.priority] },
    typedSearchAttributes: [
      { key: searchAttributes.projectId, value: projectId },
      { key: searchAttributes.agentId, value: agent.id },
    ],
    staticSummary: `Task for agent "${agent.name}" (${body.priority} priority)`,
    staticDetails: `task ${task.id} · agent ${agent.id} · project ${projectId}`,
  });
  return (await setTaskWorkflowId(deps.db, projectId, task.id, workflowId))!;
}

/** Asks a pending or running task's workflow to cancel (the workflow marks the row); 409 once it finished. */
export async function cancelAgentTaskWorkflow(deps: TaskWorkflowDeps, projectId: string, id: string): Promise<TaskRow> {
  const task = await loadTask(deps.db, projectId, id);
  if (!['pending', 'running'].includes(task.status)) throw new ConflictError('task_finished', `the task is ${task.status}`);
  try {
    await deps.temporal.workflow.getHandle(task.workflowId ?? agentTaskWorkflowId(task.id)).cancel();
  } catch (err) {
    // A task whose start never reached Temporal has no workflow to cancel.
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  return task;
}
