// Queries on agents' tool assignments. The caller has checked that the agent belongs to the project
// (assignments have no project column of their own); the tool side is checked through `findTool`.
import { and, eq } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { agentToolAssignment } from '../db/schema/index.js';

export type AssignmentRow = typeof agentToolAssignment.$inferSelect;
/** What an assignment may set besides its agent and tool. */
export type AssignmentFields = Partial<Pick<AssignmentRow, 'accessLevel' | 'toolConfigOverride' | 'rateLimit'>>;

const ofPair = (agentId: string, toolId: string) => and(eq(agentToolAssignment.agentId, agentId), eq(agentToolAssignment.toolId, toolId));

export async function findAssignment(db: DbOrTx, agentId: string, toolId: string): Promise<AssignmentRow | undefined> {
  const [row] = await db.select().from(agentToolAssignment).where(ofPair(agentId, toolId));
  return row;
}

/** The new assignment, or undefined when the agent already has the tool. */
export async function createAssignment(db: DbOrTx, agentId: string, values: AssignmentFields & { toolId: string }): Promise<AssignmentRow | undefined> {
  const [row] = await db.insert(agentToolAssignment).values({ ...values, agentId }).onConflictDoNothing().returning();
  return row;
}

export function listAssignments(db: DbOrTx, agentId: string): Promise<AssignmentRow[]> {
  return db.select().from(agentToolAssignment).where(eq(agentToolAssignment.agentId, agentId));
}

export async function updateAssignment(db: DbOrTx, agentId: string, toolId: string, values: AssignmentFields): Promise<AssignmentRow | undefined> {
  const [row] = await db.update(agentToolAssignment).set(values).where(ofPair(agentId, toolId)).returning();
  return row;
}

/** True when there was an assignment to remove. */
export async function deleteAssignment(db: DbOrTx, agentId: string, toolId: string): Promise<boolean> {
  const rows = await db.delete(agentToolAssignment).where(ofPair(agentId, toolId)).returning();
  return rows.length > 0;
}
