// Tenant isolation for plans lives here: each project has one plan row, and every query names the project.
import { and, count, eq, isNull, ne } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { smartAgent, subscription, tool } from '../db/schema/index.js';
import { turnsThisMonth } from './turn-usage.js';

export type Limited = 'agents' | 'tools' | 'monthly_turns';
export type PlanRow = typeof subscription.$inferSelect;
export type PlanChanges = Partial<Pick<PlanRow, 'plan' | 'agentLimit' | 'toolLimit' | 'monthlyTurnLimit'>>;

export interface LimitCheck {
  ok: boolean;
  limit: number | null;
  used: number;
}

/**
 * Whether the project's plan allows one more agent, tool or turn this month. A missing plan or a null
 * limit means unlimited.
 */
export async function checkPlanLimit(db: DbOrTx, projectId: string, what: Limited): Promise<LimitCheck> {
  const [plan] = await db.select().from(subscription).where(eq(subscription.projectId, projectId));
  const limit = plan ? { agents: plan.agentLimit, tools: plan.toolLimit, monthly_turns: plan.monthlyTurnLimit }[what] : null;
  if (limit === null || limit === undefined) return { ok: true, limit: null, used: 0 };
  const used = await usedOf(db, projectId, what);
  return { ok: used < limit, limit, used };
}

/** How many agents or tools the project has, or turns it started this month. */
async function usedOf(db: DbOrTx, projectId: string, what: Limited): Promise<number> {
  if (what === 'monthly_turns') return turnsThisMonth(db, projectId);
  const [row] =
    what === 'agents'
      ? await db.select({ n: count() }).from(smartAgent).where(and(eq(smartAgent.projectId, projectId), ne(smartAgent.status, 'archived')))
      : await db.select({ n: count() }).from(tool).where(and(eq(tool.projectId, projectId), isNull(tool.archivedAt)));
  return row?.n ?? 0;
}

/** The project's plan, created with the defaults (unlimited) when the project has none yet. */
export async function ensurePlan(db: DbOrTx, projectId: string): Promise<PlanRow> {
  const [row] = await db.insert(subscription).values({ projectId }).onConflictDoNothing().returning();
  return row ?? (await db.select().from(subscription).where(eq(subscription.projectId, projectId)))[0]!;
}

/** Changes the project's plan or limits, creating the plan first if needed. */
export async function updatePlan(db: DbOrTx, projectId: string, changes: PlanChanges): Promise<PlanRow> {
  await ensurePlan(db, projectId);
  const [row] = await db.update(subscription).set(changes).where(eq(subscription.projectId, projectId)).returning();
  return row!;
}
