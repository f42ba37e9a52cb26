import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { escalationEvent } from '../../db/schema/index.js';
import { escalationSearchAttributes, escalationSummary } from '../../../workflows/contracts/index.js';
import { escalationWorkflowId, type EscalationCommand, type EscalationInput, type EscalationUpdateName, type FiredTrigger } from '../../../workflows/contracts/index.js';
import { openEscalations } from './open-escalations.js';

type EventRow = typeof escalationEvent.$inferSelect;

/** The status each command leads to, to tell a harmless repeat from a conflict on a closed event. */
const targetStatus: Record<EscalationUpdateName, string> = { acknowledge: 'acknowledged', resolve: 'resolved', ignore: 'ignored', snooze: 'snoozed' };

/** Thrown when a command cannot apply: the escalation is closed, or the workflow refused it (`reason`). */
export class EscalationCommandRefusedError extends Error {
  constructor(readonly code: 'escalation_closed' | 'command_refused', message: string, readonly status: string) {
    super(message);
  }
}

/**
 * Sends acknowledge / resolve / ignore / snooze to the event's workflow as an Update and returns the row
 * after the workflow recorded it. Repeating the command that closed the event is harmless; any other
 * command on a closed event is refused.
 */
export async function sendEscalationCommand(db: Db, client: Client, event: EventRow, name: EscalationUpdateName, cmd: EscalationCommand): Promise<EventRow> {
  const closed = event.status === 'resolved' || event.status === 'ignored';
  if (closed) {
    if (event.status === targetStatus[name]) return event;
    throw new EscalationCommandRefusedError('escalation_closed', `the escalation is already ${event.status}`, event.status);
  }
  try {
    await client.workflow.getHandle(event.workflowId ?? escalationWorkflowId(event.id)).executeUpdate(name, { args: [cmd] });
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError || err instanceof WorkflowUpdateFailedError)) throw err;
    const [now] = await db.select().from(escalationEvent).where(eq(escalationEvent.id, event.id));
    const status = now?.status ?? 'unknown';
    const isClosed = status === 'resolved' || status === 'ignored';
    // The workflow finished meanwhile (closed by this very command from another request: harmless).
    if (err instanceof WorkflowNotFoundError && status === targetStatus[name]) return now!;
    if (isClosed || err instanceof WorkflowNotFoundError) {
      throw new EscalationCommandRefusedError('escalation_closed', `the escalation is already ${isClosed ? status : 'closed'}`, status);
    }
    const cause = err.cause instanceof Error ? err.cause.message : err.message;
    throw new EscalationCommandRefusedError('command_refused', cause, status);
  }
  const [after] = await db.select().from(escalationEvent).where(eq(escalationEvent.id, event.id));
  return after!;
}

/**
 * Opens an event for a trigger that comes from the API (manual escalation) and starts its workflow.
 * If Temporal refuses the start, the event row is removed again, so nothing is left half-made. A repeated
 * request with the same dedupe key (Idempotency-Key) returns the first event.
 */
export async function startManualEscalation(
  db: Db,
  client: Client,
  taskQueue: string,
  trigger: Omit<FiredTrigger, 'dedupeKey'> & { dedupeKey?: string },
): Promise<{ input: EscalationInput; created: boolean }> {
  const dedupeKey = trigger.dedupeKey ?? `manual:${randomUUID()}`;
  const [existing] = await db.select({ id: escalationEvent.id }).from(escalationEvent).where(eq(escalationEvent.dedupeKey, dedupeKey));
  const [input] = await openEscalations(db, [{ ...trigger, dedupeKey }]);
  if (!input) throw new Error('the rule disappeared while the escalation was being opened');
  try {
    await client.workflow.start('runEscalation', {
      taskQueue,
      workflowId: escalationWorkflowId(input.eventId),
      args: [input],
      typedSearchAttributes: escalationSearchAttributes(input),
      staticSummary: escalationSummary(input),
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { input, created: false };
    if (!existing) await db.delete(escalationEvent).where(and(eq(escalationEvent.id, input.eventId), eq(escalationEvent.dedupeKey, dedupeKey)));
    throw err;
  }
  return { input, created: !existing };
}
