import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { subscription } from '../../db/schema/index.js';
import { checkPlanLimit, type Limited } from '../../tenancy/plans-store.js';
import type { RouteContext } from '../deps.js';
import { AppError } from '../../errors.js';
import { z } from '../../zod.js';
import { defineRoute } from '../route.js';
import { toIso } from '../serialize.js';

const names: Record<Limited, string> = { agents: 'agents', tools: 'tools', monthly_turns: 'turns this month' };

/** Throws 402 plan_limit_reached before anything is written when the plan allows no more. */
export async function enforcePlanLimit(db: DbOrTx, projectId: string, what: Limited): Promise<void> {
  const check = await checkPlanLimit(db, projectId, what);
  if (!check.ok) {
    throw new AppError(402, 'plan_limit_reached', `the project's plan allows ${check.limit} ${names[what]}; upgrade the plan to add more`, {
      limit: check.limit, used: check.used, resource: what,
    });
  }
}

// Postgres `integer` columns: a larger limit would be refused there.
const limit = z.number().int().min(0).max(2 ** 31 - 1).nullable();
const planBody = z
  .object({ plan: z.enum(['free', 'pro', 'enterprise']), agentLimit: limit, toolLimit: limit, monthlyTurnLimit: limit })
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'at least one field to change is required' })
  .openapi('UpdatePlan');

export function registerPlanRoutes({ router, registry, deps }: RouteContext): void {
  const load = async (projectId: string) => {
    const [row] = await deps.db.insert(subscription).values({ projectId }).onConflictDoNothing().returning();
    return row ?? (await deps.db.select().from(subscription).where(eq(subscription.projectId, projectId)))[0]!;
  };
  defineRoute(router, registry, {
    method: 'get', path: '/v1/plan', tag: 'Plan', summary: "The project's plan and limits (null = unlimited)", permission: 'admin',
    responses: { 200: { description: 'The plan' } },
    handler: async ({ auth }) => ({ status: 200, body: toIso(await load(auth.projectId)) }),
  });
  defineRoute(router, registry, {
    method: 'patch', path: '/v1/plan', tag: 'Plan', summary: "Change the project's plan and limits", permission: 'admin', body: planBody,
    responses: { 200: { description: 'The plan' } },
    handler: async ({ body, auth }) => {
      await load(auth.projectId);
      const [row] = await deps.db.update(subscription).set(body).where(eq(subscription.projectId, auth.projectId)).returning();
      return { status: 200, body: toIso(row!) };
    },
  });
}
