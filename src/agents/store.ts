// Agent and agent-config queries. Tenant isolation lives here: every agent lookup filters on the project.
import { and, eq, ne } from 'drizzle-orm';
import type { Db, DbOrTx } from '../db/client.js';
import { selectPage, type PageRequest } from '../db/pagination.js';
import { agentConfig, smartAgent } from '../db/schema/index.js';

export type AgentRow = typeof smartAgent.$inferSelect;
export type AgentInsert = Omit<typeof smartAgent.$inferInsert, 'id' | 'projectId' | 'createdAt' | 'updatedAt'>;
export type AgentConfigRow = typeof agentConfig.$inferSelect;

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

/** A page of the project's agents, newest first; archived ones only when asked for by status. */
export async function listAgents(
  db: DbOrTx,
  projectId: string,
  filter: { status?: string; isTemplate?: boolean },
  page: PageRequest,
): Promise<AgentRow[]> {
  return selectPage(db, smartAgent, eq(smartAgent.projectId, projectId), [
    filter.status ? eq(smartAgent.status, filter.status) : ne(smartAgent.status, 'archived'),
    filter.isTemplate === undefined ? undefined : eq(smartAgent.isTemplate, filter.isTemplate),
  ], page);
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

/**
 * Sets a paused agent active again. The status check and the change are one conditional UPDATE, so a
 * concurrent archive is never undone; undefined when the agent is missing or not paused.
 */
export async function resumePausedAgent(db: DbOrTx, projectId: string, id: string): Promise<AgentRow | undefined> {
  const [row] = await db
    .update(smartAgent)
    .set({ status: 'active' })
    .where(and(eq(smartAgent.id, id), eq(smartAgent.projectId, projectId), eq(smartAgent.status, 'paused')))
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

/*
 * Config functions take an agent id the caller has already resolved through `findAgent` (routes) or from
 * a workflow input the gateway built from a project-scoped row (worker), so they filter on the agent only.
 */

export function listAgentConfig(db: DbOrTx, agentId: string): Promise<AgentConfigRow[]> {
  return db.select().from(agentConfig).where(eq(agentConfig.agentId, agentId)).orderBy(agentConfig.configKey);
}

/** The stored value of one active config key, or undefined; callers parse it with its `knownConfigKeys` schema. */
export async function activeConfigValue(db: DbOrTx, agentId: string, key: string): Promise<unknown> {
  const [row] = await db
    .select({ value: agentConfig.configValue })
    .from(agentConfig)
    .where(and(eq(agentConfig.agentId, agentId), eq(agentConfig.configKey, key), eq(agentConfig.isActive, true)));
  return row?.value;
}

/** The agent with its active config entries, as a turn or task needs them; null when the agent is gone. */
export async function loadAgentWithActiveConfig(db: DbOrTx, agentId: string) {
  const [agent] = await db.select().from(smartAgent).where(eq(smartAgent.id, agentId));
  if (!agent) return null;
  const config = await db
    .select({ configKey: agentConfig.configKey, configValue: agentConfig.configValue })
    .from(agentConfig)
    .where(and(eq(agentConfig.agentId, agentId), eq(agentConfig.isActive, true)));
  return { agent, config };
}

export async function setAgentConfig(db: DbOrTx, agentId: string, key: string, value: unknown): Promise<AgentConfigRow> {
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
