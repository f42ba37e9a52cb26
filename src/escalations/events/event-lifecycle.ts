import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type postgres from 'postgres';
import type { Db, DbOrTx } from '../../db/client.js';
import { driverOf, poolOf } from '../driver.js';
import { agentTask, escalationEvent, smartAgent } from '../../db/schema/index.js';
import { agentTaskWorkflowId, type EscalationSnapshot, type EscalationStatus } from '../../../workflows/contracts/index.js';
import type { WebhookEventKind } from '../../webhooks/contracts.js';
import { enqueueWebhookEvents } from '../../webhooks/outbox.js';

/**
 * One entry of an event's timeline; `seq` is the workflow's step number, which makes appends idempotent.
 * `level` and `pass` count from 1 like everything a person reads (level 2 = the second level of the
 * policy, pass 2 = its first repeat), whatever the kind of entry.
 */
export interface TimelineEntry {
  seq: number;
  at: string;
  kind: string;
  status: EscalationStatus;
  level: number;
  pass?: number;
  actor: string;
  note?: string;
  [extra: string]: unknown;
}

export class EscalationNotFoundError extends Error {}

/**
 * Marks the event as owned by its workflow and returns the frozen rule. Webhook subscribers hear of the
 * escalation here, once its workflow runs (an event whose start failed is deleted unheard of); the
 * deliveries' key makes a retried first step enqueue nothing more.
 */
export async function beginEscalation(db: DbOrTx, p: { eventId: string; workflowId: string }) {
  const row = await db.transaction((tx) => markEscalationBegun(tx, p));
  return {
    snapshot: row.policySnapshot as unknown as EscalationSnapshot,
    createdAtMs: row.createdAt.getTime(),
    status: row.status as EscalationStatus,
  };
}

/** The writes of {@link beginEscalation}, in the caller's transaction; returns the event row. */
export async function markEscalationBegun(tx: DbOrTx, p: { eventId: string; workflowId: string }) {
  const [begun] = await tx.update(escalationEvent).set({ workflowId: p.workflowId }).where(eq(escalationEvent.id, p.eventId)).returning();
  if (!begun) throw new EscalationNotFoundError(`escalation event ${p.eventId} does not exist`);
  const data = {
    escalationId: begun.id, ruleId: begun.escalationRuleId, agentId: begun.agentId, conversationId: begun.conversationId,
    status: begun.status, level: begun.currentLevel + 1, reason: begun.reason,
  };
  await enqueueWebhookEvents(tx, begun.projectId, [{ type: 'escalation.opened', key: `escalation.opened:${begun.id}`, at: begun.createdAt, data }]);
  return begun;
}

export interface EscalationChange {
  eventId: string;
  seq: number;
  kind: string;
  status: EscalationStatus;
  /** The workflow's index into the policy's levels (0 = first level); stored as `current_level`. */
  level: number;
  /** The workflow's pass index (0 = first run through the levels); absent from workflows before 1-based timelines. */
  pass?: number;
  actor: string;
  note?: string;
  snoozedUntil?: string | null;
  assignedTo?: string | null;
  /** Epoch ms of the change, from workflow time, so a retried write records the same instant. */
  atMs: number;
  details?: Record<string, unknown>;
}

/** The timeline kinds a webhook subscriber hears about, by the event kind it hears them as. */
const webhookKinds: Record<string, WebhookEventKind> = {
  acknowledged: 'escalation.acknowledged',
  snoozed: 'escalation.snoozed',
  escalated: 'escalation.escalated',
  retriggered: 'escalation.retriggered',
  resolved: 'escalation.resolved',
  auto_resolved: 'escalation.resolved',
  ignored: 'escalation.ignored',
  exhausted: 'escalation.exhausted',
};

/**
 * Writes one state change: status, level, who and when, and a timeline entry, and the webhook deliveries
 * it causes, in one transaction. A retry of the same step (same `seq`) changes nothing, so the timeline
 * never shows a change twice and no subscriber hears of it twice. True when this call wrote it (false: the
 * step was already recorded, or the event is gone), so a counter counts each change once.
 */
export async function recordEscalationChange(db: Db, c: EscalationChange): Promise<boolean> {
  const at = new Date(c.atMs);
  const type = webhookKinds[c.kind];
  // A change no subscriber hears of is one statement, atomic by itself; one they hear of adds its outbox rows.
  if (!type) return (await writeEscalationChange(poolOf(db), c, at)).length > 0;
  return db.transaction(async (tx) => {
    const [changed] = await writeEscalationChange(driverOf(tx), c, at);
    if (!changed) return false;
    const data = {
      escalationId: c.eventId, ruleId: changed.ruleId, agentId: changed.agentId, conversationId: changed.conversationId,
      status: c.status, level: c.level + 1, actor: c.actor, ...(c.note ? { note: c.note } : {}),
    };
    await enqueueWebhookEvents(tx, changed.projectId, [{ type, key: `${type}:${c.eventId}:${c.seq}`, at, data }]);
    return true;
  });
}

/**
 * The timeline entry of a change. The workflow counts levels and passes from 0 (array indexes); the
 * timeline counts them from 1. Details come first so a `level`/`pass` they carry (workflows before this
 * change sent them there, level already 1-based and pass 0-based) never overrides the entry's own.
 */
export function timelineEntry(c: EscalationChange): TimelineEntry {
  const { level: _level, pass: detailsPass, ...details } = c.details ?? {};
  const pass = c.pass ?? (typeof detailsPass === 'number' ? detailsPass : undefined);
  return {
    ...details, seq: c.seq, at: new Date(c.atMs).toISOString(), kind: c.kind, status: c.status, level: c.level + 1,
    ...(pass !== undefined ? { pass: pass + 1 } : {}), actor: c.actor, ...(c.note ? { note: c.note } : {}),
  };
}

/** The row update of a change (no webhook): nothing when the step `seq` is already in the timeline. */
function writeEscalationChange(sql: postgres.Sql | postgres.TransactionSql, c: EscalationChange, at: Date) {
  const closes = c.status === 'resolved' || c.status === 'ignored';
  const when = at.toISOString();
  return sql<{ projectId: string; ruleId: string; agentId: string; conversationId: string | null }[]>`
    update escalation_event set status = ${c.status}, current_level = ${c.level},
      timeline = timeline || ${JSON.stringify([timelineEntry(c)])}::jsonb
      ${c.kind === 'acknowledged' ? sql`, acknowledged_at = ${when}::timestamptz` : sql``}
      ${closes ? sql`, resolved_at = ${when}::timestamptz` : sql``}
      ${c.snoozedUntil !== undefined ? sql`, snoozed_until = ${c.snoozedUntil}::timestamptz` : sql``}
      ${c.assignedTo !== undefined ? sql`, assigned_to = ${c.assignedTo}::uuid` : sql``}
      ${c.note && closes ? sql`, notes = ${c.note}` : sql``}
    where id = ${c.eventId} and not (timeline @> ${JSON.stringify([{ seq: c.seq }])}::jsonb)
    returning project_id as "projectId", escalation_rule_id as "ruleId", agent_id as "agentId", conversation_id as "conversationId"`;
}

/** pause_agent: an active agent stops taking turns (409 agent_paused) until `POST /v1/agents/:id/resume`. */
export async function pauseAgent(db: DbOrTx, agentId: string): Promise<{ paused: boolean; status: string | null }> {
  const [row] = await db
    .update(smartAgent)
    .set({ status: 'paused' })
    .where(and(eq(smartAgent.id, agentId), eq(smartAgent.status, 'active')))
    .returning({ status: smartAgent.status });
  if (row) return { paused: true, status: 'paused' };
  const [current] = await db.select({ status: smartAgent.status }).from(smartAgent).where(eq(smartAgent.id, agentId));
  return { paused: false, status: current?.status ?? null };
}

/**
 * execute_workflow: the follow-up agent task's row, created once per escalation (keyed on the event id in
 * its metadata). The workflow then starts `runAgentTask` for it as a child.
 */
export async function createFollowUpTask(
  db: DbOrTx,
  p: { eventId: string; projectId: string; agentId: string; input: string; priority: string },
): Promise<{ taskId: string; created: boolean }> {
  const [existing] = await db
    .select({ id: agentTask.id })
    .from(agentTask)
    .where(and(eq(agentTask.projectId, p.projectId), sql`${agentTask.metadata}->>'escalationEventId' = ${p.eventId}`));
  if (existing) return { taskId: existing.id, created: false };
  const id = randomUUID();
  await db.insert(agentTask).values({
    id, projectId: p.projectId, agentId: p.agentId, priority: p.priority, payload: { input: p.input },
    metadata: { escalationEventId: p.eventId }, workflowId: agentTaskWorkflowId(id),
  });
  return { taskId: id, created: true };
}
