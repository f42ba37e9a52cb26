import type { ConversationRow } from '../../conversations/store.js';
import type { MessageRow, TurnRow } from '../../conversations/message-store.js';
import { turnWorkflowId } from '../../../workflows/contracts/index.js';
import { toIso } from '../serialize.js';

export const conversationView = (row: ConversationRow) => toIso(row);

export function messageView(m: MessageRow) {
  return { id: m.id, turnIndex: m.turnIndex, role: m.role, content: m.content, createdAt: m.createdAt.toISOString() };
}

/** A turn as the API shows it; before the workflow has written its row the turn is `pending`. */
export function turnView(conversationId: string, index: number, row: TurnRow | undefined) {
  return {
    index,
    status: row?.status ?? 'pending',
    workflowId: row?.workflowId ?? turnWorkflowId(conversationId, index),
    traceId: row?.traceId ?? null,
    userInput: row?.userInput ?? null,
    agentResponse: row?.agentResponse ?? null,
    error: row?.error ?? null,
    model: row?.model ?? null,
    usage: {
      promptTokens: row?.promptTokens ?? null,
      completionTokens: row?.completionTokens ?? null,
      totalTokens: row?.totalTokens ?? null,
    },
    toolsUsed: row?.toolsUsed ?? [],
    knowledgeSources: row?.knowledgeSources ?? [],
    escalated: row?.escalated ?? false,
    escalationRuleId: row?.escalationRuleId ?? null,
    escalationReason: row?.escalationReason ?? null,
    responseTimeMs: row?.responseTimeMs ?? null,
    llmTimeMs: row?.llmTimeMs ?? null,
    userSatisfaction: row?.userSatisfaction ?? null,
    feedbackText: row?.feedbackText ?? null,
    startedAt: row?.startedAt.toISOString() ?? null,
    completedAt: row?.completedAt?.toISOString() ?? null,
    stopReason: row?.stopReason ?? null,
    partialAnswer: row?.partialAnswer ?? null,
  };
}
