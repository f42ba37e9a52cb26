import { ParentClosePolicy, startChild } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { escalationDetails, escalationSearchAttributes, escalationSummary, escalationTaskPriority, escalationWorkflowId, type EscalationInput } from './contracts/index.js';
import { runEscalation } from './escalation.js';

/**
 * Starts one escalation workflow per opened event and does not wait for them: the turn (or monitor tick)
 * that fired them finishes at once, and the escalations outlive it (ABANDON). An escalation already
 * started (a replayed or retried trigger) is left alone.
 */
export async function startEscalations(opened: EscalationInput[]): Promise<void> {
  for (const e of opened) {
    try {
      await startChild(runEscalation, {
        workflowId: escalationWorkflowId(e.eventId),
        args: [e],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: escalationSearchAttributes(e),
        staticSummary: escalationSummary(e),
        staticDetails: escalationDetails(e),
        priority: escalationTaskPriority(e),
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
}
