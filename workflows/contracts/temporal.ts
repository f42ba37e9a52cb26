/**
 * The task queue and the search attributes the gateway, the worker and the workflows agree on. Imported by
 * workflow code, so it must stay free of I/O and Node built-ins.
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
