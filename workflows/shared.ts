/**
 * Everything the gateway, the worker and the workflows agree on: task queue, workflow ids, search
 * attributes, and the input/output types of workflows. Imported by workflow code, so it must stay free
 * of I/O and Node built-ins.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const DEFAULT_TASK_QUEUE = 'smart-agents';

export const searchAttributes = {
  projectId: defineSearchAttributeKey('ProjectId', SearchAttributeType.KEYWORD),
  agentId: defineSearchAttributeKey('AgentId', SearchAttributeType.KEYWORD),
  conversationId: defineSearchAttributeKey('ConversationId', SearchAttributeType.KEYWORD),
  ruleId: defineSearchAttributeKey('RuleId', SearchAttributeType.KEYWORD),
  escalationStatus: defineSearchAttributeKey('EscalationStatus', SearchAttributeType.KEYWORD),
  escalationLevel: defineSearchAttributeKey('EscalationLevel', SearchAttributeType.INT),
} as const;

/** `name=Type` pairs for `temporal server start-dev --search-attribute` and `operator search-attribute create`. */
export const searchAttributeDefinitions: ReadonlyArray<readonly [string, 'Keyword' | 'Int']> = [
  ['ProjectId', 'Keyword'],
  ['AgentId', 'Keyword'],
  ['ConversationId', 'Keyword'],
  ['RuleId', 'Keyword'],
  ['EscalationStatus', 'Keyword'],
  ['EscalationLevel', 'Int'],
];

/** Business id of a turn: one workflow per (conversation, turn index), never reused. */
export function turnWorkflowId(conversationId: string, turnIndex: number): string {
  return `turn:${conversationId}:${turnIndex}`;
}

export interface TurnInput {
  projectId: string;
  agentId: string;
  conversationId: string;
  turnIndex: number;
  content: string;
  /** With the `enqueue` double-texting policy: the turn that must finish before this one starts. */
  previousTurnWorkflowId?: string;
}

export interface TurnResult {
  turnIndex: number;
  status: 'completed';
  assistantMessageId: string;
  responseTimeMs: number;
}

/** `ApplicationFailure` types raised by turn activities and workflows. */
export const failureTypes = {
  llmRejected: 'LlmRequestRejected',
  llmUnavailable: 'LlmUnavailable',
  turnNotFound: 'TurnNotFound',
  turnFailed: 'TurnFailed',
} as const;
