// Tenant isolation for metrics lives here: every read is filtered by project; every point carries one.
import { and, eq, gte, lt, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { metric } from '../db/schema/index.js';

/** Metric names the runtime records; threshold rules and `GET /v1/metrics` read the same rows. */
export const metricNames = [
  'turn_response_time_ms',
  'turn_tokens',
  'turn_completed',
  'turn_failed',
  'tool_call_ms',
  'tool_failure',
  'satisfaction',
] as const;
export type MetricName = (typeof metricNames)[number];

export interface MetricPoint {
  projectId: string;
  agentId?: string | null;
  name: MetricName;
  value: number;
  tags?: Record<string, unknown>;
}

/** Stores points in one insert; the runtime calls it after turns and tool calls. */
export async function recordMetrics(db: DbOrTx, points: MetricPoint[]): Promise<void> {
  if (points.length === 0) return;
  await db.insert(metric).values(
    points.map((p) => ({ projectId: p.projectId, agentId: p.agentId ?? null, metricName: p.name, metricValue: p.value, tags: p.tags ?? {} })),
  );
}

export interface MetricQuery {
  projectId: string;
  name: string;
  agentId?: string;
  from: Date;
  to: Date;
  bucket: 'minute' | 'hour' | 'day';
}

/** Aggregates one metric into time buckets: count, sum, avg, min, max and p95 per bucket. */
export async function aggregateMetrics(db: DbOrTx, q: MetricQuery) {
  // The bucket is inlined (it is one of three literals): as a bind parameter, the select and the group by
  // would hold two different parameters and Postgres would refuse the grouping.
  const unit = { minute: 'minute', hour: 'hour', day: 'day' }[q.bucket];
  // Buckets are UTC whatever the database session's time zone is.
  const start = sql<string>`(date_trunc('${sql.raw(unit)}', ${metric.recordedAt} at time zone 'UTC') at time zone 'UTC')`;
  const rows = await db
    .select({
      start,
      count: sql<number>`count(*)::int`,
      sum: sql<number>`sum(${metric.metricValue})`,
      avg: sql<number>`avg(${metric.metricValue})`,
      min: sql<number>`min(${metric.metricValue})`,
      max: sql<number>`max(${metric.metricValue})`,
      p95: sql<number>`percentile_cont(0.95) within group (order by ${metric.metricValue})`,
    })
    .from(metric)
    .where(
      and(
        eq(metric.projectId, q.projectId),
        eq(metric.metricName, q.name),
        q.agentId ? eq(metric.agentId, q.agentId) : undefined,
        gte(metric.recordedAt, q.from),
        lt(metric.recordedAt, q.to),
      ),
    )
    .groupBy(start)
    .orderBy(start);
  return rows.map((r) => ({
    start: new Date(r.start).toISOString(),
    count: r.count,
    sum: Number(r.sum),
    avg: Number(r.avg),
    min: Number(r.min),
    max: Number(r.max),
    p95: Number(r.p95),
  }));
}
