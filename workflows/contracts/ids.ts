/**
 * Workflow and schedule ids of every workflow, in one place: the gateway, the activities and the workflows
 * build the same id for the same thing, which is what makes a start idempotent and a handle findable.
 * Changing a format orphans running executions and breaks replay of committed histories.
 */

/** A turn: one workflow per (conversation, turn index), never reused. */
export function turnWorkflowId(conversationId: string, turnIndex: number): string {
  return `turn:${conversationId}:${turnIndex}`;
}

/** A one-off agent task (API start or an escalation's `execute_workflow` follow-up). */
export function agentTaskWorkflowId(taskId: string): string {
  return `task:${taskId}`;
}

/** The idle-timeout session of a conversation: one per conversation. */
export function sessionWorkflowId(conversationId: string): string {
  return `session:${conversationId}`;
}

/** Ingestion of a knowledge document; re-ingesting reuses the id once the previous run closed. */
export function ingestionWorkflowId(documentId: string): string {
  return `ingest:${documentId}`;
}

/** One test call of a tool (`POST /v1/tools/:id/test`). */
export function toolTestWorkflowId(toolId: string, toolCallId: string): string {
  return `tool-test:${toolId}:${toolCallId}`;
}

/** An escalation: one workflow per event. */
export function escalationWorkflowId(eventId: string): string {
  return `escalation:${eventId}`;
}

/** The long-lived monitor of a threshold rule. */
export function thresholdMonitorWorkflowId(ruleId: string): string {
  return `threshold:${ruleId}`;
}

/** Workflow id prefix of a scheduled rule's runs; Temporal appends the scheduled time to each firing. */
export function scheduledRuleWorkflowId(ruleId: string): string {
  return `scheduled:${ruleId}`;
}

/** The Temporal Schedule of a scheduled rule. */
export function ruleScheduleId(ruleId: string): string {
  return `rule:${ruleId}`;
}
