import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { agentTask, escalationEvent, smartAgent } from '../../db/schema/index.js';
import { agentTaskWorkflowId, type EscalationSnapshot, type EscalationStatus } from '../../../workflows/contracts/index.js';

/** One entry of an event's timeline; `seq` is the workflow's step number, which makes appends idempotent. */
export interface TimelineEntry {
  seq: number;
  at: string;
  kind: string;
  status: EscalationStatus;
  level: number;
  actor: string;
  note?: string;
  [extra: string]: unknown;
}

export class EscalationNotFoundError extends Error {}

/** Marks the event as owned by its workflow and returns the frozen rule. */
export async function beginEscalation(db: DbOrTx, p: { eventId: string; workflowId: string }) {
  const [row] = await db
    .update(escalationEvent)
    .set({ workflowId: p.workflowId })
    .where(eq(escalationEvent.id, p.eventId))
    .returning();
  if (!row) throw new EscalationNotFoundError(`escalation event ${p.eventId} does not exist`);
  return {
    snapshot: row.policySnapshot as unknown as EscalationSnapshot,
    createdAtMs: row.createdAt.getTime(),
    status: row.status as EscalationStatus,
  };
}

export interface EscalationChange {
  eventId: string;
  seq: number;
  kind: string;
  status: EscalationStatus;
  level: number;
  actor: string;
  note?: string;
  snoozedUntil?: string | null;
  assignedTo?: string | null;
  /** Epoch ms of the change, from workflow time, so a retried write records the same instant. */
  atMs: number;
  details?: Record<string, unknown>;
}

/**
 * Writes one state change: status, level, who and when, and a timeline entry. A retry of the same step
 * (same `seq`) changes nothing, so the timeline never shows a change twice.
 */
export async function recordEscalationChange(db: DbOrTx, c: EscalationChange): Promise<void> {
  const at = new Date(c.atMs);
  const entry: TimelineEntry = { seq: c.seq, at: at.toISOString(), kind: c.kind, status: c.status, level: c.level, actor: c.actor, ...(c.note ? { note: c.note } : {}), ...c.details };
  await db
    .update(escalationEvent)
    .set({
      status: c.status,
      currentLevel: c.level,
      timeline: sql`${escalationEvent.timeline} || ${JSON.stringify([entry])}::jsonb`,
      ...(c.kind === 'acknowledged' ? { acknowledgedAt: at } : {}),
      ...(c.status === 'resolved' || c.status === 'ignored' ? { resolvedAt: at } : {}),
      ...(c.snoozedUntil !== undefined ? { snoozedUntil: c.snoozedUntil ? new Date(c.snoozedUntil) : null } : {}),
      ...(c.assignedTo !== undefined ? { assignedTo: c.assignedTo } : {}),
      ...(c.note && (c.status === 'resolved' || c.status === 'ignored') ? { notes: c.note } : {}),
    })
    .where(and(eq(escalationEvent.id, c.eventId), sql`not (${escalationEvent.timeline} @> ${JSON.stringify([{ seq: c.seq }])}::jsonb)`));
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
