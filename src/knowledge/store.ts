import { asc, eq } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { agentKnowledgeAssignment } from '../db/schema/index.js';

/** Ids of the knowledge bases an agent may search, highest priority (lowest number) first. */
export async function loadAgentKnowledgeBases(db: DbOrTx, agentId: string): Promise<string[]> {
  const rows = await db
    .select({ id: agentKnowledgeAssignment.knowledgeBaseId })
    .from(agentKnowledgeAssignment)
    .where(eq(agentKnowledgeAssignment.agentId, agentId))
    .orderBy(asc(agentKnowledgeAssignment.priority), asc(agentKnowledgeAssignment.createdAt));
  return rows.map((r) => r.id);
}
