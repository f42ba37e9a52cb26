import { and, eq, ne, type SQL } from 'drizzle-orm';
import type { Db, DbOrTx } from '../db/client.js';
import { agentConfig, smartAgent } from '../db/schema/index.js';

export type AgentRow = typeof smartAgent.$inferSelect;
export type AgentInsert = Omit<typeof smartAgent.$inferInsert, 'id' | 'projectId' | 'createdAt' | 'updatedAt'>;

export async function createAgent(db: DbOrTx, projectId: string, values: AgentInsert): Promise<AgentRow> {
  const [row] = await db.insert(smartAgent).values({ ...values, projectId }).returning();
  return row!;
}

/** The agent if it belongs to the project; another project's agent is indistinguishable from none. */
export async function findAgent(db: DbOrTx, projectId: string, id: string): Promise<AgentRow | undefined> {
  const [row] = await db
    .select()
    .from(smartAgent)
    .where(and(eq(smartAgent.id, id), eq(smartAgent.projectId, projectId)));
  return row;
}

export async function listAgents(
  db: DbOrTx,
  projectId: string,
  filter: { status?: string; isTemplate?: boolean },
  page: { where?: SQL; orderBy: SQL[]; limit: number },
): Promise<AgentRow[]> {
  const conditions = [
    eq(smartAgent.projectId, projectId),
    filter.status ? eq(smartAgent.status, filter.status) : ne(smartAgent.status, 'archived'),
    filter.isTemplate === undefined ? undefined : eq(smartAgent.isTemplate, filter.isTemplate),
    page.where,
  ];
  return db
    .select()
    .from(smartAgent)
    .where(and(...conditions))
    .orderBy(...page.orderBy)
    .limit(page.limit + 1);
}

export async function updateAgent(
  db: DbOrTx,
  projectId: string,
  id: string,
  values: Partial<AgentInsert>,
): Promise<AgentRow | undefined> {
  const [row] = await db
    .update(smartAgent)
    .set(values)
    .where(and(eq(smartAgent.id, id), eq(smartAgent.projectId, projectId)))
    .returning();
  return row;
}

/** Copies an agent and its config; the copy points back at its source through `template_parent_id`. */
export async function cloneAgent(
  db: Db,
  source: AgentRow,
  overrides: { name?: string; isTemplate?: boolean },
): Promise<AgentRow> {
  return db.transaction(async (tx) => {
    const { id: _id, createdAt: _c, updatedAt: _u, archivedAt: _a, ...fields } = source;
    const [copy] = await tx
      .insert(smartAgent)
      .values({
        ...fields,
        name: overrides.name ?? `${source.name} (copy)`,
        isTemplate: overrides.isTemplate ?? false,
        status: 'active',
        templateParentId: source.id,
      })
      .returning();
    const config = await tx.select().from(agentConfig).where(eq(agentConfig.agentId, source.id));
    if (config.length > 0) {
      await tx.insert(agentConfig).values(
        config.map((c) => ({ agentId: copy!.id, configKey: c.configKey, configValue: c.configValue, isActive: c.isActive })),
      );
    }
    return copy!;
  });
}

export function listAgentConfig(db: DbOrTx, agentId: string) {
  return db.select().from(agentConfig).where(eq(agentConfig.agentId, agentId)).orderBy(agentConfig.configKey);
}

export async function setAgentConfig(db: DbOrTx, agentId: string, key: string, value: unknown) {
  const [row] = await db
    .insert(agentConfig)
    .values({ agentId, configKey: key, configValue: value })
    .onConflictDoUpdate({
      target: [agentConfig.agentId, agentConfig.configKey],
      set: { configValue: value, isActive: true, updatedAt: new Date() },
    })
    .returning();
  return row!;
}

export async function deleteAgentConfig(db: DbOrTx, agentId: string, key: string): Promise<boolean> {
  const rows = await db
    .delete(agentConfig)
    .where(and(eq(agentConfig.agentId, agentId), eq(agentConfig.configKey, key)))
    .returning({ id: agentConfig.id });
  return rows.length > 0;
}
