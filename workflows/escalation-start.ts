import { ParentClosePolicy, startChild } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { escalationWorkflowId, type EscalationInput } from './escalation-types.js';
import { searchAttributes } from './shared.js';

/** Search attributes of an escalation workflow, so operators can filter by project, agent, rule and status. */
export function escalationSearchAttributes(e: EscalationInput) {
  return [
    { key: searchAttributes.projectId, value: e.projectId },
    { key: searchAttributes.agentId, value: e.agentId },
    { key: searchAttributes.ruleId, value: e.ruleId },
    { key: searchAttributes.escalationStatus, value: 'pending' },
    { key: searchAttributes.escalationLevel, value: 1 },
    ...(e.conversationId ? [{ key: searchAttributes.conversationId, value: e.conversationId }] : []),
  ];
}

export function escalationSummary(e: EscalationInput): string {
  return `Escalation (${e.priority ?? 'medium'}) of rule "${e.ruleName ?? e.ruleId}"${e.conversationId ? ` for conversation ${e.conversationId}` : ''}`;
}

/**
 * Starts one escalation workflow per opened event and does not wait for them: the turn (or monitor tick)
 * that fired them finishes at once, and the escalations outlive it (ABANDON). An escalation already
 * started (a replayed or retried trigger) is left alone.
 */
export async function startEscalations(opened: EscalationInput[]): Promise<void> {
  for (const e of opened) {
    try {
      await startChild('runEscalation', {
        workflowId: escalationWorkflowId(e.eventId),
        args: [e],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: escalationSearchAttributes(e),
        staticSummary: escalationSummary(e),
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
}
