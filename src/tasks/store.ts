// Tenant isolation for agent tasks lives here: API reads and writes are filtered by project; the worker's
// writes go by task id, which only a workflow the gateway started for that project holds.
import { and, eq, inArray } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { selectPage, type PageRequest } from '../db/pagination.js';
import { agentTask } from '../db/schema/index.js';
import { enqueueWebhookEvents } from '../webhooks/outbox.js';

export type TaskRow = typeof agentTask.$inferSelect;
export type TaskPriority = 'low' | 'normal' | 'high';

/** The states a task can still leave; a finished task is never changed again. */
const UNFINISHED = ['pending', 'running'];

/** A pending task with no workflow yet; {@link setTaskWorkflowId} records it once started. */
export async function createTask(
  db: DbOrTx,
  projectId: string,
  p: { agentId: string; priority: TaskPriority; input: string; metadata?: Record<string, unknown> },
): Promise<TaskRow> {
  const [row] = await db
    .insert(agentTask)
    .values({ projectId, agentId: p.agentId, priority: p.priority, payload: { input: p.input }, metadata: p.metadata ?? {}, workflowId: null })
    .returning();
  return row!;
}

export async function setTaskWorkflowId(db: DbOrTx, projectId: string, id: string, workflowId: string): Promise<TaskRow | undefined> {
  const [row] = await db
    .update(agentTask)
    .set({ workflowId })
    .where(and(eq(agentTask.id, id), eq(agentTask.projectId, projectId)))
    .returning();
  return row;
}

/** The task if it belongs to the project; another project's task is indistinguishable from none. */
export async function findTask(db: DbOrTx, projectId: string, id: string): Promise<TaskRow | undefined> {
  const [row] = await db.select().from(agentTask).where(and(eq(agentTask.id, id), eq(agentTask.projectId, projectId)));
  return row;
}

/** An agent's tasks, newest first: `limit + 1` rows so the caller can tell whether there is more. */
export function listAgentTasks(db: DbOrTx, projectId: string, agentId: string, page: PageRequest): Promise<TaskRow[]> {
  return selectPage(db, agentTask, eq(agentTask.projectId, projectId), [eq(agentTask.agentId, agentId)], page);
}

/** Marks an unfinished task running (again, on a retry); undefined when it is gone or already finished. */
export async function markTaskRunning(db: DbOrTx, id: string): Promise<TaskRow | undefined> {
  const [row] = await db
    .update(agentTask)
    .set({ status: 'running', startedAt: new Date() })
    .where(and(eq(agentTask.id, id), inArray(agentTask.status, UNFINISHED)))
    .returning();
  return row;
}

export interface TaskOutcome {
  taskId: string;
  status: 'completed' | 'failed' | 'canceled';
  result?: unknown;
  error?: string;
  steps?: Array<Record<string, unknown>>;
}

/**
 * Records the outcome of an unfinished task, and for a completed one its `task.completed` webhook
 * deliveries in the same transaction; a second call after it finished changes nothing.
 */
export async function finishTask(db: DbOrTx, p: TaskOutcome): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx
      .update(agentTask)
      .set({ status: p.status, result: p.result ?? null, error: p.error?.slice(0, 2000) ?? null, steps: p.steps ?? [], completedAt: new Date() })
      .where(and(eq(agentTask.id, p.taskId), inArray(agentTask.status, UNFINISHED)))
      .returning();
    if (row?.status !== 'completed') return;
    const data = { taskId: row.id, agentId: row.agentId, status: row.status, result: row.result, metadata: row.metadata, completedAt: row.completedAt?.toISOString() };
    await enqueueWebhookEvents(tx, row.projectId, [{ type: 'task.completed', key: `task.completed:${row.id}`, at: row.completedAt ?? undefined, data }]);
  });
}
