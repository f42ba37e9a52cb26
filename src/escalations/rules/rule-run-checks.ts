import { and, count, eq, gte, inArray, lt, ne, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { conversation, escalationEvent, escalationRule, metric } from '../../db/schema/index.js';
import type { EscalationInput, FiredTrigger } from '../../../workflows/contracts/index.js';
import { openEscalations, ruleCanFire } from '../events/open-escalations.js';
import { scheduledCondition, thresholdCondition, type ThresholdCondition } from '../contracts/rule-fields.js';

type RuleRow = typeof escalationRule.$inferSelect;

/** Statuses of an escalation nobody has closed yet. */
export const openStatuses = ['pending', 'acknowledged', 'snoozed'];

async function loadRule(db: DbOrTx, ruleId: string): Promise<RuleRow | undefined> {
  const [rule] = await db.select().from(escalationRule).where(eq(escalationRule.id, ruleId));
  return rule;
}

async function metricAggregate(db: DbOrTx, rule: RuleRow, name: string, from: Date, to: Date, aggregate: 'avg' | 'p95' | 'count') {
  const value =
    aggregate === 'avg'
      ? sql<number | null>`avg(${metric.metricValue})`
      : aggregate === 'p95'
        ? sql<number | null>`percentile_cont(0.95) within group (order by ${metric.metricValue})`
        : sql<number>`count(*)`;
  const [row] = await db
    .select({ value, samples: sql<number>`count(*)::int` })
    .from(metric)
    .where(and(eq(metric.agentId, rule.agentId), eq(metric.metricName, name), gte(metric.recordedAt, from), lt(metric.recordedAt, to)));
  return { value: row?.value === null || row?.value === undefined ? null : Number(row.value), samples: row?.samples ?? 0 };
}

/**
 * Reads a threshold rule's metric over its sliding window ending at `now`. Rates and percentiles report
 * their sample count (judged only from `minSamples` on); counts are always judged.
 */
export async function readThresholdMetric(db: DbOrTx, rule: RuleRow, c: ThresholdCondition, now: Date): Promise<{ value: number | null; samples: number; judged: boolean }> {
  const from = new Date(now.getTime() - c.windowSeconds * 1000);
  switch (c.metric) {
    case 'tool_failure_rate': {
      const r = await metricAggregate(db, rule, 'tool_failure', from, now, 'avg');
      return { ...r, judged: r.samples >= c.minSamples };
    }
    case 'p95_response_time_ms': {
      const r = await metricAggregate(db, rule, 'turn_response_time_ms', from, now, 'p95');
      return { ...r, judged: r.samples >= c.minSamples };
    }
    case 'turn_errors': {
      const r = await metricAggregate(db, rule, 'turn_failed', from, now, 'count');
      return { value: r.samples, samples: r.samples, judged: true };
    }
    case 'low_satisfaction_count': {
      const [row] = await db
        .select({ n: count() })
        .from(metric)
        .where(and(eq(metric.agentId, rule.agentId), eq(metric.metricName, 'satisfaction'), lt(metric.metricValue, 3), gte(metric.recordedAt, from), lt(metric.recordedAt, now)));
      return { value: row?.n ?? 0, samples: row?.n ?? 0, judged: true };
    }
    case 'open_escalations': {
      // Open escalations of the agent right now, except this rule's own (it must not feed itself).
      const [row] = await db
        .select({ n: count() })
        .from(escalationEvent)
        .where(and(eq(escalationEvent.agentId, rule.agentId), inArray(escalationEvent.status, openStatuses), ne(escalationEvent.escalationRuleId, rule.id)));
      return { value: row?.n ?? 0, samples: row?.n ?? 0, judged: true };
    }
  }
}

function crosses(value: number, c: ThresholdCondition): boolean {
  return { gt: value > c.threshold, gte: value >= c.threshold, lt: value < c.threshold, lte: value <= c.threshold }[c.operator];
}

export interface ThresholdCheck {
  /** False when the rule is gone, inactive or no longer a threshold rule: the monitor stops. */
  active: boolean;
  intervalSeconds: number;
  cooldownSeconds: number;
  value: number | null;
  samples: number;
  crossed: boolean;
  opened: EscalationInput | null;
}

/**
 * One tick of a threshold monitor. Opens an event when the metric crosses the threshold and the
 * cool-down is over; keyed on the tick's (workflow) time, so a retried tick opens it once.
 */
export async function checkThreshold(db: DbOrTx, p: { ruleId: string; tickMs: number; cooldownUntilMs: number }): Promise<ThresholdCheck> {
  const rule = await loadRule(db, p.ruleId);
  const parsed = rule?.ruleType === 'threshold' ? thresholdCondition.safeParse(rule.triggerCondition) : undefined;
  if (!rule || !parsed?.success || rule.status !== 'active') {
    return { active: false, intervalSeconds: 60, cooldownSeconds: 0, value: null, samples: 0, crossed: false, opened: null };
  }
  const c = parsed.data;
  const now = new Date(p.tickMs);
  const m = await readThresholdMetric(db, rule, c, now);
  const crossed = m.judged && m.value !== null && crosses(m.value, c);
  let opened: EscalationInput | null = null;
  if (crossed && p.tickMs >= p.cooldownUntilMs && ruleCanFire(rule, now)) {
    const reason = `${c.metric} is ${round(m.value!)} (${c.operator} ${c.threshold}) over the last ${c.windowSeconds} s`;
    [opened = null] = await openEscalations(db, [
      {
        ruleId: rule.id,
        dedupeKey: `threshold:${rule.id}:${p.tickMs}`,
        conversationId: null,
        eventType: 'threshold',
        reason,
        triggerData: { metric: c.metric, value: m.value, samples: m.samples, threshold: c.threshold, operator: c.operator, windowSeconds: c.windowSeconds },
      },
    ]);
  }
  return { active: true, intervalSeconds: c.intervalSeconds, cooldownSeconds: c.cooldownSeconds, value: m.value, samples: m.samples, crossed, opened };
}

const round = (v: number) => Math.round(v * 1000) / 1000;

/** Most idle conversations one scheduled run escalates (the rest wait for the next run). */
const MAX_IDLE_PER_RUN = 100;

/**
 * One run of a scheduled rule: evaluates its condition and opens the events it calls for. `runId`
 * (the scheduled workflow's id, unique per firing) keys per-run events; idle conversations are keyed on
 * their last activity, so one idle spell escalates once however often the schedule runs.
 */
export async function runScheduledCheck(db: DbOrTx, p: { ruleId: string; runId: string; nowMs: number }): Promise<EscalationInput[]> {
  const rule = await loadRule(db, p.ruleId);
  const parsed = rule?.ruleType === 'scheduled' ? scheduledCondition.safeParse(rule.triggerCondition) : undefined;
  const now = new Date(p.nowMs);
  if (!rule || !parsed?.success || !ruleCanFire(rule, now)) return [];
  const c = parsed.data.condition;
  const fired: FiredTrigger[] = [];
  const base = { ruleId: rule.id, eventType: 'scheduled' };
  if (c.type === 'always') {
    fired.push({ ...base, dedupeKey: `scheduled:${rule.id}:${p.runId}`, conversationId: null, reason: `scheduled check "${rule.name}"`, triggerData: { condition: c } });
  } else if (c.type === 'idle_conversations') {
    const idle = await db
      .select({ id: conversation.id, lastActivityAt: conversation.lastActivityAt })
      .from(conversation)
      .where(and(eq(conversation.agentId, rule.agentId), eq(conversation.status, 'active'), lt(conversation.lastActivityAt, new Date(p.nowMs - c.idleSeconds * 1000))))
      .orderBy(conversation.lastActivityAt)
      .limit(MAX_IDLE_PER_RUN);
    for (const conv of idle) {
      const idleSeconds = Math.round((p.nowMs - conv.lastActivityAt.getTime()) / 1000);
      fired.push({
        ...base,
        dedupeKey: `scheduled:${rule.id}:idle:${conv.id}:${conv.lastActivityAt.getTime()}`,
        conversationId: conv.id,
        reason: `conversation idle for ${idleSeconds} s (limit ${c.idleSeconds} s)`,
        triggerData: { condition: c, idleSeconds, lastActivityAt: conv.lastActivityAt.toISOString() },
      });
    }
  } else {
    const [row] = await db
      .select({ n: count() })
      .from(escalationEvent)
      .where(and(eq(escalationEvent.agentId, rule.agentId), eq(escalationEvent.status, 'pending'), ne(escalationEvent.escalationRuleId, rule.id), lt(escalationEvent.createdAt, new Date(p.nowMs - c.pendingSeconds * 1000))));
    const n = row?.n ?? 0;
    if (n > 0) {
      fired.push({ ...base, dedupeKey: `scheduled:${rule.id}:${p.runId}`, conversationId: null, reason: `${n} escalation(s) pending for more than ${c.pendingSeconds} s`, triggerData: { condition: c, pending: n } });
    }
  }
  return openEscalations(db, fired);
}
