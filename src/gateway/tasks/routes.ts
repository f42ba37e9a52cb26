import { WorkflowNotFoundError } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';
import { agentTask } from '../../db/schema/index.js';
import { findAgent } from '../../agents/store.js';
import type { AgentTaskInput } from '../../../workflows/contracts/index.js';
import { searchAttributes } from '../../../workflows/contracts/index.js';
import { idParams, jsonObject, keyset, pageQuery, pageSchema, toPage } from '../common.js';
import type { RouteContext } from '../deps.js';
import { ConflictError, NotFoundError } from '../../errors.js';
import { z } from '../../zod.js';
import { defineRoute } from '../route.js';
import { toIso } from '../serialize.js';

/** Temporal priority keys: lower runs first when workers are busy. */
const priorityKeys = { high: 1, normal: 3, low: 5 } as const;

const taskBody = z
  .object({
    input: z.string().trim().min(1).max(32_000),
    priority: z.enum(['low', 'normal', 'high']).default('normal'),
    metadata: jsonObject.optional(),
  })
  .strict()
  .openapi('CreateTask');

type TaskRow = typeof agentTask.$inferSelect;
const taskView = (t: TaskRow) => toIso(t);

export function registerTaskRoutes({ router, registry, deps }: RouteContext): void {
  const { db } = deps;
  const tag = 'Tasks';
  const loadTask = async (projectId: string, id: string) => {
    const [task] = await db.select().from(agentTask).where(and(eq(agentTask.id, id), eq(agentTask.projectId, projectId)));
    if (!task) throw new NotFoundError('task');
    return task;
  };

  defineRoute(router, registry, {
    method: 'post', path: '/v1/agents/:id/tasks', tag, summary: 'Run the agent once on an input, as a workflow (no conversation)',
    permission: 'conversations:write', params: idParams, body: taskBody,
    responses: { 202: { description: 'Accepted; poll GET /v1/tasks/:id' }, 409: { description: 'Agent not active' } },
    handler: async ({ params, body, auth }) => {
      const agent = await findAgent(db, auth.projectId, params.id);
      if (!agent) throw new NotFoundError('agent');
      if (agent.status !== 'active') throw new ConflictError(agent.status === 'paused' ? 'agent_paused' : 'agent_not_active', `the agent is ${agent.status}`);
      const [task] = await db.insert(agentTask).values({
        projectId: auth.projectId, agentId: agent.id, priority: body.priority, payload: { input: body.input }, metadata: body.metadata ?? {},
        workflowId: null,
      }).returning();
      const workflowId = `task:${task!.id}`;
      const input: AgentTaskInput = { taskId: task!.id, projectId: auth.projectId, agentId: agent.id, input: body.input };
      await deps.temporal.workflow.start('runAgentTask', {
        taskQueue: deps.settings.taskQueue, workflowId, args: [input],
        priority: { priorityKey: priorityKeys[body.priority] },
        typedSearchAttributes: [
          { key: searchAttributes.projectId, value: auth.projectId },
          { key: searchAttributes.agentId, value: agent.id },
        ],
        staticSummary: `Task for agent "${agent.name}" (${body.priority} priority)`,
      });
      const [started] = await db.update(agentTask).set({ workflowId }).where(eq(agentTask.id, task!.id)).returning();
      return { status: 202, body: taskView(started!), headers: { Location: `/v1/tasks/${task!.id}` } };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/tasks/:id', tag, summary: 'A task: status, result or error, timestamps', permission: 'conversations:read',
    params: idParams, responses: { 200: { description: 'The task' } },
    handler: async ({ params, auth }) => ({ status: 200, body: taskView(await loadTask(auth.projectId, params.id)) }),
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/agents/:id/tasks', tag, summary: "An agent's tasks, newest first", permission: 'conversations:read',
    params: idParams, query: pageQuery, responses: { 200: { description: 'A page of tasks', schema: pageSchema(z.record(z.string(), z.unknown())) } },
    handler: async ({ params, query, auth }) => {
      if (!(await findAgent(db, auth.projectId, params.id))) throw new NotFoundError('agent');
      const page = keyset(agentTask, query.cursor);
      const rows = await db.select().from(agentTask).where(and(eq(agentTask.agentId, params.id), page.where)).orderBy(...page.orderBy).limit(query.limit + 1);
      return { status: 200, body: toPage(rows, query.limit, taskView) };
    },
  });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/tasks/:id/cancel', tag, summary: 'Cancel a pending or running task', permission: 'conversations:write',
    params: idParams, responses: { 202: { description: 'Cancellation requested' }, 409: { description: 'Already finished' } },
    handler: async ({ params, auth }) => {
      const task = await loadTask(auth.projectId, params.id);
      if (!['pending', 'running'].includes(task.status)) throw new ConflictError('task_finished', `the task is ${task.status}`);
      try {
        await deps.temporal.workflow.getHandle(task.workflowId ?? `task:${task.id}`).cancel();
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
      return { status: 202, body: taskView(task) };
    },
  });
}
