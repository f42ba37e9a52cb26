import { findAgent } from '../../agents/store.js';
import { createTaskBody, taskSchema } from '../../tasks/contracts.js';
import { listAgentTasks, type TaskRow } from '../../tasks/store.js';
import { cancelAgentTaskWorkflow, loadTask, startAgentTaskWorkflow, type TaskWorkflowDeps } from '../../tasks/task-workflow.js';
import { idParams, pageQuery } from '../common.js';
import type { RouteContext } from '../deps.js';
import { NotFoundError } from '../../errors.js';
import { defineListRoute } from '../list-route.js';
import { defineRoute } from '../route.js';
import { toIso } from '../serialize.js';

const taskView = (t: TaskRow) => toIso(t);

export function registerTaskRoutes({ router, registry, deps }: RouteContext): void {
  const { db } = deps;
  const tag = 'Tasks';
  const workflows: TaskWorkflowDeps = { db, temporal: deps.temporal, taskQueue: deps.settings.taskQueue };

  defineRoute(router, registry, {
    method: 'post', path: '/v1/agents/:id/tasks', tag, summary: 'Run the agent once on an input, as a workflow (no conversation)',
    permission: 'conversations:write', params: idParams, body: createTaskBody,
    responses: { 202: { description: 'Accepted; poll GET /v1/tasks/:id' }, 409: { description: 'Agent not active' } },
    handler: async ({ params, body, auth }) => {
      const task = await startAgentTaskWorkflow(workflows, auth.projectId, params.id, body);
      return { status: 202, body: taskView(task), headers: { Location: `/v1/tasks/${task.id}` } };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/tasks/:id', tag, summary: 'A task: status, result or error, timestamps', permission: 'conversations:read',
    params: idParams, responses: { 200: { description: 'The task' } },
    handler: async ({ params, auth }) => ({ status: 200, body: taskView(await loadTask(db, auth.projectId, params.id)) }),
  });

  defineListRoute(router, registry, {
    path: '/v1/agents/:id/tasks', tag, summary: "An agent's tasks, newest first", permission: 'conversations:read',
    params: idParams, query: pageQuery, description: 'A page of tasks', item: taskSchema, view: taskView,
    rows: async ({ params, query, auth }) => {
      if (!(await findAgent(db, auth.projectId, params.id))) throw new NotFoundError('agent');
      return listAgentTasks(db, auth.projectId, params.id, query);
    },
  });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/tasks/:id/cancel', tag, summary: 'Cancel a pending or running task', permission: 'conversations:write',
    params: idParams, responses: { 202: { description: 'Cancellation requested' }, 409: { description: 'Already finished' } },
    handler: async ({ params, auth }) => ({ status: 202, body: taskView(await cancelAgentTaskWorkflow(workflows, auth.projectId, params.id)) }),
  });
}
