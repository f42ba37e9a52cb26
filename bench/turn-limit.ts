/**
 * What a submit pays to check the plan's monthly turn limit, against how many turns the project already has.
 * For each history size (BENCH_TURN_ROWS, default 10000,100000,500000 turn rows of one project, spread over the
 * last twelve months, plus a tenth as many of another project), in a throwaway migrated database:
 * - `check`: `checkPlanLimit(..., 'monthly_turns')` as the gateway calls it (the plan row, then the project's
 *   usage row for this month);
 * - `count`: the check before `project_turn_usage` (the plan row, then counting this month's turn rows), for
 *   comparison.
 * 200 calls of each per size (BENCH_CALLS), p50 / p95 ms. Table on stdout, then one JSON line, last.
 *
 *   node scripts/bench.mjs bench/turn-limit.ts
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { and, count, eq, gte, sql } from 'drizzle-orm';
import { createDb } from '../src/db/client';
import { ensureDatabase, runMigrations } from '../src/db/migrate';
import { agentExecutionHistory, subscription } from '../src/db/schema/index';
import { checkPlanLimit, updatePlan } from '../src/tenancy/plans-store';
import { createProject } from '../src/tenancy/projects-store';
import { ADMIN_URL, dropDatabase, intEnv, percentiles, progress, runBench, runCleanup, type Cleanup } from './env';
import { formatTable } from './load';

const SIZES = (process.env.BENCH_TURN_ROWS?.trim() || '10000,100000,500000').split(',').map((s) => {
  const n = Number(s.trim());
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_TURN_ROWS must list integers >= 1, got ${JSON.stringify(s)}`);
  return n;
});
const CALLS = intEnv('BENCH_CALLS', 200, 10);

runBench(async (controller) => {
  const cleanup: Cleanup = [];
  try {
    const name = `sao_turn_limit_${process.pid}_${randomUUID().slice(0, 8)}`;
    const url = Object.assign(new URL(ADMIN_URL), { pathname: `/${name}` }).toString();
    await ensureDatabase(url);
    cleanup.push(['database', () => dropDatabase(name)]);
    await runMigrations(url);
    const handle = createDb(url, { max: 2 });
    cleanup.push(['pool', () => handle.close()]);
    const { db } = handle;

    const rows: Array<[string, string, string]> = [];
    const results: Record<string, { check: ReturnType<typeof percentiles>; count: ReturnType<typeof percentiles>; thisMonth: number }> = {};
    for (const size of SIZES) {
      controller.signal.throwIfAborted();
      progress(`${size} turn rows: writing`);
      const projectId = (await createProject(db, { name: 'limit', slug: `limit-${randomUUID()}` })).project.id;
      const other = (await createProject(db, { name: 'other', slug: `other-${randomUUID()}` })).project.id;
      await updatePlan(db, projectId, { monthlyTurnLimit: 1_000_000_000 });
      for (const [owner, n] of [[projectId, size], [other, Math.ceil(size / 10)]] as const) await writeTurns(db, owner, n);
      await db.execute(sql`analyze agent_execution_history`);
      await db.execute(sql`analyze project_turn_usage`);
      // The check as it was: the plan row, then this month's turn rows counted.
      const before = async () => {
        await db.select().from(subscription).where(eq(subscription.projectId, projectId));
        const [row] = await db
          .select({ n: count() })
          .from(agentExecutionHistory)
          .where(and(eq(agentExecutionHistory.projectId, projectId), gte(agentExecutionHistory.startedAt, sql`date_trunc('month', now())`)));
        return row?.n ?? 0;
      };
      const now = async () => (await checkPlanLimit(db, projectId, 'monthly_turns')).used;
      const thisMonth = await before();
      if ((await now()) !== thisMonth) throw new Error(`usage row ${await now()} != turn rows this month ${thisMonth}`);
      const timings = { check: [] as number[], count: [] as number[] };
      for (let i = 0; i < CALLS; i++) {
        for (const [label, fn] of [['check', now], ['count', before]] as const) {
          const t = performance.now();
          await fn();
          timings[label].push(performance.now() - t);
        }
      }
      const r = { check: percentiles(timings.check), count: percentiles(timings.count), thisMonth };
      results[String(size)] = r;
      rows.push([String(size), `${r.check.p50} / ${r.check.p95}`, `${r.count.p50} / ${r.count.p95}`]);
    }
    console.log(`Monthly turn limit check: ${CALLS} calls per size, one project's turn rows over twelve months`);
    console.log(formatTable(['turn rows of the project', 'usage row (now) p50 / p95 ms', 'counting turn rows (before) p50 / p95 ms'], rows));
    console.log(JSON.stringify({ benchmark: 'turn-limit', calls: CALLS, results }));
    return 0;
  } finally {
    await runCleanup(cleanup);
  }
});

/**
 * `n` turn rows of the project over the last twelve months (evenly, so about a twelfth in this month), in one
 * conversation of one agent, written in bulk; the usage rows as the migration's backfill computes them.
 */
async function writeTurns(db: ReturnType<typeof createDb>['db'], projectId: string, n: number): Promise<void> {
  await db.execute(sql`
    with agent as (
      insert into smart_agent (project_id, name, goal) values (${projectId}, 'a', 'g') returning id
    ), conv as (
      insert into conversation (project_id, agent_id) select ${projectId}, id from agent returning id, agent_id
    )
    insert into agent_execution_history (project_id, agent_id, conversation_id, message_index, workflow_id, run_id, user_input, status, started_at)
    select ${projectId}, conv.agent_id, conv.id, i, 'w' || i, 'r', 'q', 'completed', now() - (i % 365) * interval '1 day' * (360.0 / 365)
    from conv, generate_series(1, ${n}) as i`);
  await db.execute(sql`
    insert into project_turn_usage (project_id, month, turns)
    select project_id, date_trunc('month', started_at at time zone 'UTC')::date, count(*)
    from agent_execution_history where project_id = ${projectId} group by 1, 2`);
}
