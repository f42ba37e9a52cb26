// Project-scoped queries on knowledge bases and the agents that search them; tenant scoping lives here.
import { and, asc, eq } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { selectPage, type PageRequest } from '../db/pagination.js';
import { agentKnowledgeAssignment, knowledgeBase } from '../db/schema/index.js';

export type KnowledgeBaseRow = typeof knowledgeBase.$inferSelect;
export type KnowledgeBaseFields = { name: string; description?: string | null | undefined };
export type KnowledgeAssignmentRow = typeof agentKnowledgeAssignment.$inferSelect;

/** The knowledge base if it belongs to the project. */
export async function findKnowledgeBase(db: DbOrTx, projectId: string, id: string): Promise<KnowledgeBaseRow | undefined> {
  const [row] = await db.select().from(knowledgeBase).where(and(eq(knowledgeBase.id, id), eq(knowledgeBase.projectId, projectId)));
  return row;
}

/** A page (`limit + 1` rows, newest first) of the project's knowledge bases. */
export function listKnowledgeBases(db: DbOrTx, projectId: string, page: PageRequest): Promise<KnowledgeBaseRow[]> {
  return selectPage(db, knowledgeBase, eq(knowledgeBase.projectId, projectId), [], page);
}

export async function createKnowledgeBase(db: DbOrTx, projectId: string, values: KnowledgeBaseFields): Promise<KnowledgeBaseRow> {
  const [row] = await db.insert(knowledgeBase).values({ ...values, projectId }).returning();
  return row!;
}

export async function updateKnowledgeBase(db: DbOrTx, projectId: string, id: string, values: Partial<KnowledgeBaseFields>): Promise<KnowledgeBaseRow> {
  const [row] = await db.update(knowledgeBase).set(values).where(and(eq(knowledgeBase.id, id), eq(knowledgeBase.projectId, projectId))).returning();
  return row!;
}

/** Deletes the base; its documents and chunks go with it (foreign keys cascade). */
export async function deleteKnowledgeBase(db: DbOrTx, projectId: string, id: string): Promise<void> {
  await db.delete(knowledgeBase).where(and(eq(knowledgeBase.id, id), eq(knowledgeBase.projectId, projectId)));
}

/** Ids of the knowledge bases an agent may search, highest priority (lowest number) first. */
export async function loadAgentKnowledgeBases(db: DbOrTx, agentId: string): Promise<string[]> {
  const rows = await db
    .select({ id: agentKnowledgeAssignment.knowledgeBaseId })
    .from(agentKnowledgeAssignment)
    .where(eq(agentKnowledgeAssignment.agentId, agentId))
    .orderBy(asc(agentKnowledgeAssignment.priority), asc(agentKnowledgeAssignment.createdAt));
  return rows.map((r) => r.id);
}

// Assignments have no project column: the caller has checked the agent and the base belong to the project.

/** The new assignment, or undefined when the agent already searches the base. */
export async function assignKnowledgeBase(
  db: DbOrTx,
  agentId: string,
  values: { knowledgeBaseId: string; accessLevel?: string | undefined; priority?: number | undefined },
): Promise<KnowledgeAssignmentRow | undefined> {
  const [row] = await db.insert(agentKnowledgeAssignment).values({ ...values, agentId }).onConflictDoNothing().returning();
  return row;
}

/** An agent's assignments, searched first first. */
export function listKnowledgeAssignments(db: DbOrTx, agentId: string): Promise<KnowledgeAssignmentRow[]> {
  return db.select().from(agentKnowledgeAssignment).where(eq(agentKnowledgeAssignment.agentId, agentId)).orderBy(asc(agentKnowledgeAssignment.priority));
}

/** True when there was an assignment to remove. */
export async function unassignKnowledgeBase(db: DbOrTx, agentId: string, knowledgeBaseId: string): Promise<boolean> {
  const rows = await db
    .delete(agentKnowledgeAssignment)
    .where(and(eq(agentKnowledgeAssignment.agentId, agentId), eq(agentKnowledgeAssignment.knowledgeBaseId, knowledgeBaseId)))
    .returning();
  return rows.length > 0;
}
