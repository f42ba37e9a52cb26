// A project's turns per calendar month (UTC), for the plan's monthly turn limit (see `projectTurnUsage`).
import { and, eq, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { projectTurnUsage } from '../db/schema/index.js';

/** The first day of this month in UTC, on the database's clock (the same clock as the turn rows' `started_at`). */
const thisMonth = sql`date_trunc('month', now() at time zone 'UTC')::date`;

/**
 * One more turn this month for the project of each row of `insertedTurns` (a CTE of the turn row insert returning
 * `project_id`: empty when the row already existed, so a retried start counts nothing). A statement to send in the
 * turn row's transaction.
 */
export function countTurn(insertedTurns: SQL): SQL {
  return sql`insert into ${projectTurnUsage} (project_id, month, turns)
    select project_id, ${thisMonth}, 1 from ${insertedTurns}
    on conflict (project_id, month) do update set turns = ${projectTurnUsage}.turns + 1`;
}

/** How many turns the project started this month: one row read, whatever its history. */
export async function turnsThisMonth(db: DbOrTx, projectId: string): Promise<number> {
  const [row] = await db
    .select({ turns: projectTurnUsage.turns })
    .from(projectTurnUsage)
    .where(and(eq(projectTurnUsage.projectId, projectId), eq(projectTurnUsage.month, thisMonth)));
  return row?.turns ?? 0;
}
