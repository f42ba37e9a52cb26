import type { DbOrTx } from '../db/client.js';
import { AppError } from '../errors.js';
import { checkPlanLimit, type Limited } from './plans-store.js';

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
