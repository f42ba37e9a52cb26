import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Db, DbOrTx } from '../../db/client.js';
import { AppError, ConflictError } from '../../errors.js';
import {
  acknowledgeUpdate,
  escalationDetails,
  escalationSearchAttributes,
  escalationSummary,
  escalationTaskPriority,
  escalationWorkflowId,
  ignoreUpdate,
  resolveUpdate,
  snoozeUpdate,
  type EscalationCommand,
  type EscalationInput,
  type EscalationUpdateName,
  type FiredTrigger,
  type Workflows,
} from '../../../workflows/contracts/index.js';
import { manualRuleCandidates, type RuleRow } from '../rules/rule-store.js';
import { deleteUnstartedEvent, findEventById, type EventRow } from './event-store.js';
import { escalationInput, openEscalation } from './open-escalations.js';

/** The status each command leads to, to tell a harmless repeat from a conflict on a closed event. */
const targetStatus: Record<EscalationUpdateName, string> = { acknowledge: 'acknowledged', resolve: 'resolved', ignore: 'ignored', snooze: 'snoozed' };

/** The typed update of each command, so the compiler checks the argument the workflow receives. */
const commandUpdates = { acknowledge: acknowledgeUpdate, resolve: resolveUpdate, ignore: ignoreUpdate, snooze: snoozeUpdate } as const;

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
    await client.workflow.getHandle(event.workflowId ?? escalationWorkflowId(event.id)).executeUpdate(commandUpdates[name], { args: [cmd] });
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError || err instanceof WorkflowUpdateFailedError)) throw err;
    const now = await findEventById(db, event.id);
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
  return (await findEventById(db, event.id))!;
}

/** Most urgent first, for picking the rule of a manual escalation. */
const priorityOrder = ['critical', 'high', 'medium', 'low'];

/**
 * The rule a manual escalation uses: the given one (it must be the conversation's agent's, and active), or
 * the agent's most urgent active manual rule. 422 `rule_not_for_agent`, 409 `rule_inactive` / `no_manual_rule`.
 */
export async function pickManualRule(db: DbOrTx, agentId: string, ruleId: string | undefined): Promise<RuleRow> {
  const rules = await manualRuleCandidates(db, agentId, ruleId);
  if (ruleId && rules.length === 0) throw new AppError(422, 'rule_not_for_agent', 'the rule does not belong to this conversation\'s agent');
  const active = rules.filter((r) => r.status === 'active').sort((a, b) => priorityOrder.indexOf(a.priority) - priorityOrder.indexOf(b.priority));
  if (!active[0]) {
    throw new ConflictError(ruleId ? 'rule_inactive' : 'no_manual_rule', ruleId ? 'the rule is inactive' : 'the agent has no active manual escalation rule; create one or pass ruleId');
  }
  return active[0];
}

/**
 * Opens an event for a trigger that comes from the API (manual escalation) on the rule the caller picked,
 * and starts its workflow: one insert (returning the row the answer shows) and one Temporal RPC, no row
 * held locked across it. If Temporal refuses the start, the event row is removed again, so nothing is left
 * half-made. A repeated request with the same dedupe key (Idempotency-Key) returns the first event.
 */
export async function startManualEscalation(
  db: Db,
  client: Client,
  taskQueue: string,
  rule: RuleRow,
  trigger: Omit<FiredTrigger, 'dedupeKey' | 'ruleId'> & { dedupeKey?: string },
): Promise<{ event: EventRow; input: EscalationInput; created: boolean; workflowId: string }> {
  const dedupeKey = trigger.dedupeKey ?? `manual:${randomUUID()}`;
  const { row: event, created } = await openEscalation(db, rule, { ...trigger, ruleId: rule.id, dedupeKey });
  if (!event) throw new Error('the escalation was removed while it was being opened');
  const input = escalationInput(event, rule);
  const workflowId = escalationWorkflowId(input.eventId);
  try {
    await client.workflow.start<Workflows['runEscalation']>('runEscalation', {
      taskQueue,
      workflowId,
      args: [input],
      typedSearchAttributes: escalationSearchAttributes(input),
      staticSummary: escalationSummary(input),
      staticDetails: escalationDetails(input),
      priority: escalationTaskPriority(input),
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { event, input, created: false, workflowId };
    if (created) await deleteUnstartedEvent(db, input.eventId, dedupeKey);
    throw err;
  }
  return { event, input, created, workflowId };
}
