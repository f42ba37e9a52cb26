/**
 * Inputs and results of the turn, task, session, ingestion and tool-test workflows, and the signature of
 * every workflow, so a start by name (`client.workflow.start<Workflows['runAgentTask']>('runAgentTask', …)`)
 * is checked by the compiler. Types only.
 */
import type { EscalationInput, EscalationState, RuleRunInput } from './escalation.js';
import type { WebhookDeliveryInput, WebhookDeliveryResult } from './webhooks.js';

export interface TurnInput {
  projectId: string;
  agentId: string;
  conversationId: string;
  turnIndex: number;
  content: string;
  /** With the `enqueue` double-texting policy: the turn that must finish before this one starts. */
  previousTurnWorkflowId?: string;
  /** Per-turn settings a client sent (the OpenAI-compatible API); absent for turns of our own API. */
  overrides?: TurnOverrides;
}

/**
 * What one turn may change in its model request: `instructions` are appended to the agent's system prompt
 * (never replace it); `temperature` and `maxTokens` replace the agent's settings for this turn only.
 */
export interface TurnOverrides {
  instructions?: string;
  temperature?: number;
  maxTokens?: number;
}

export interface TurnResult {
  turnIndex: number;
  status: 'completed';
  assistantMessageId: string;
  responseTimeMs: number;
}

export interface AgentTaskInput {
  taskId: string;
  projectId: string;
  agentId: string;
  input: string;
}

export interface AgentTaskResult {
  output: string;
}

export interface SessionInput {
  conversationId: string;
  idleTimeoutMs: number;
}

export interface IngestionInput {
  documentId: string;
}

/** `embedded` is absent when the worker has no embeddings model (and in histories from before embeddings). */
export interface IngestionResult {
  chunks: number;
  embedded?: number;
}

export interface ToolTestInput {
  projectId: string;
  toolId: string;
  toolName: string;
  toolCallId: string;
  arguments: Record<string, unknown>;
  timeoutMs: number;
}

export type ToolTestResult = { ok: true; output: unknown; executionTimeMs: number } | { ok: false; error: string };

/**
 * Every workflow the worker registers, by its type name. `workflows/contracts-check.ts` fails to compile
 * when an implementation drifts from this.
 */
export interface Workflows {
  runConversationTurn(input: TurnInput): Promise<TurnResult>;
  runAgentTask(input: AgentTaskInput): Promise<AgentTaskResult>;
  conversationSession(input: SessionInput): Promise<void>;
  ingestKnowledgeDocumentWorkflow(input: IngestionInput): Promise<IngestionResult>;
  testTool(input: ToolTestInput): Promise<ToolTestResult>;
  runEscalation(input: EscalationInput): Promise<EscalationState>;
  runThresholdMonitor(input: RuleRunInput): Promise<string>;
  runScheduledRule(input: RuleRunInput): Promise<{ opened: number }>;
  runWebhookDelivery(input: WebhookDeliveryInput): Promise<WebhookDeliveryResult>;
}
