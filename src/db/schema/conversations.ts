import { sql } from 'drizzle-orm';
import { boolean, index, integer, jsonb, pgTable, primaryKey, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, tstz, updatedAt } from './columns.js';
import { smartAgent } from './agents.js';
import { escalationRule } from './escalation.js';
import { appUser, project } from './tenancy.js';

/**
 * A conversation: the chat session / agent session of seeds 001, 002 and 004.
 * status: active | paused | completed | failed (completed = ended by the client).
 * `last_turn_index` is the newest turn index handed out (under a row lock in the gateway);
 * `turn_count` and `messages_count` count what the turn workflows have persisted.
 */
export const conversation = pgTable(
  'conversation',
  {
    id: id(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => project.id, { onDelete: 'cascade' }),
    agentId: uuid('agent_id')
      .notNull()
      .references(() => smartAgent.id, { onDelete: 'cascade' }),
    externalUserId: text('external_user_id'),
    title: text('title'),
    status: text('status').notNull().default('active'),
    context: jsonb('context').$type<Record<string, unknown>>().notNull().default({}),
    variables: jsonb('variables').$type<Record<string, unknown>>().notNull().default({}),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    summary: text('summary'),
    lastTurnIndex: integer('last_turn_index').notNull().default(0),
    turnCount: integer('turn_count').notNull().default(0),
    messagesCount: integer('messages_count').notNull().default(0),
    lastActivityAt: tstz('last_activity_at').notNull().defaultNow(),
    endedAt: tstz('ended_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('conversation_project_created_idx').on(t.projectId, t.createdAt, t.id),
    index('conversation_agent_idx').on(t.agentId),
    index('conversation_status_idx').on(t.status),
    index('conversation_last_activity_idx').on(t.lastActivityAt.desc()),
    index('conversation_external_user_idx').on(t.projectId, t.externalUserId),
  ],
);

/**
 * Messages of a conversation (seeds 001 messages, 004 chat_messages). A turn writes its messages at
 * fixed positions, so (conversation, turn, position) is unique and a retried write is a no-op.
 */
export const message = pgTable(
  'message',
  {
    id: id(),
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversation.id, { onDelete: 'cascade' }),
    turnIndex: integer('turn_index').notNull(),
    position: integer('position').notNull(),
    role: text('role').notNull(), // user | assistant | system | tool
    content: text('content').notNull(),
    parts: jsonb('parts').$type<unknown[]>(),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('message_conversation_turn_position_uq').on(t.conversationId, t.turnIndex, t.position),
    index('message_created_at_idx').on(t.createdAt),
  ],
);

export interface ToolUse {
  toolId: string;
  toolName: string;
  callId?: string;
  status: 'pending' | 'executing' | 'success' | 'failure';
  inputParams?: Record<string, unknown>;
  outputResult?: unknown;
  executionTimeMs?: number;
  attempts?: number;
  error?: string;
}

export interface KnowledgeSource {
  knowledgeBaseId: string;
  query: string;
  resultsCount: number;
  usedInResponse: boolean;
}

/**
 * One row per turn (seed 000 agent_execution_history). Written by the turn workflow: `running` when the
 * turn starts, then `completed` (with the answer) or `failed` (with the error). Keyed by
 * (conversation, message_index) so a retried activity never writes a second row.
 */
export const agentExecutionHistory = pgTable(
  'agent_execution_history',
  {
    id: id(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => project.id, { onDelete: 'cascade' }),
    agentId: uuid('agent_id')
      .notNull()
      .references(() => smartAgent.id, { onDelete: 'cascade' }),
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversation.id, { onDelete: 'cascade' }),
    /** The turn's index in its conversation (1, 2, …), not a message position; the name is the seed schema's. */
    messageIndex: integer('message_index').notNull(),
    status: text('status').notNull().default('running'), // running | completed | failed | canceled
    workflowId: text('workflow_id').notNull(),
    runId: text('run_id'),
    userInput: text('user_input').notNull(),
    agentResponse: text('agent_response'),
    error: text('error'),
    model: text('model'),
    promptTokens: integer('prompt_tokens'),
    completionTokens: integer('completion_tokens'),
    totalTokens: integer('total_tokens'),
    toolsUsed: jsonb('tools_used').$type<ToolUse[]>().notNull().default([]),
    knowledgeSources: jsonb('knowledge_sources').$type<KnowledgeSource[]>().notNull().default([]),
    escalated: boolean('escalated').notNull().default(false),
    escalationRuleId: uuid('escalation_rule_id').references(() => escalationRule.id, { onDelete: 'set null' }),
    escalationTarget: uuid('escalation_target').references(() => appUser.id, { onDelete: 'set null' }),
    escalationReason: text('escalation_reason'),
    /** Why the turn ended: stop (the model answered), max_steps, length, budget, canceled, interrupted, rolled_back. */
    stopReason: text('stop_reason'),
    /** A canceled turn's text so far; never stored as an assistant message. */
    partialAnswer: text('partial_answer'),
    responseTimeMs: integer('response_time_ms'),
    /**
     * The OpenTelemetry trace of the turn (32 hex digits) when tracing was on at its start, so an operator goes
     * from a turn to its trace; null otherwise. The first attempt's value stays (the row is written once).
     */
    traceId: text('trace_id'),
    llmTimeMs: integer('llm_time_ms'),
    userSatisfaction: integer('user_satisfaction'),
    feedbackText: text('feedback_text'),
    startedAt: tstz('started_at').notNull().defaultNow(),
    completedAt: tstz('completed_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('agent_execution_history_conversation_index_uq').on(t.conversationId, t.messageIndex),
    index('agent_execution_history_agent_id_idx').on(t.agentId),
    index('agent_execution_history_project_idx').on(t.projectId),
    index('agent_execution_history_escalated_idx').on(t.escalated),
    index('agent_execution_history_created_at_idx').on(t.createdAt),
    index('agent_execution_history_status_idx').on(t.status).where(sql`status = 'running'`),
  ],
);

/**
 * Idempotency keys of `POST /v1/conversations/:id/messages`. A repeated key attaches to the turn it
 * started; the request hash tells a true retry from a key reused for a different message.
 */
export const turnRequest = pgTable(
  'turn_request',
  {
    id: id(),
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversation.id, { onDelete: 'cascade' }),
    idempotencyKey: text('idempotency_key').notNull(),
    requestHash: text('request_hash').notNull(),
    turnIndex: integer('turn_index').notNull(),
    workflowId: text('workflow_id').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('turn_request_conversation_key_uq').on(t.conversationId, t.idempotencyKey)],
);

/**
 * The ordered log of what happened in one turn (issue 12): `turn.started`, `message.delta`, `tool.*`,
 * `turn.completed`… Written by the worker's activities, read by any gateway to stream or resume a turn.
 * `seq` counts from 1 without gaps within a turn; `dedupe_key` names the event deterministically (which
 * activity, which attempt, which part), so a retried activity's second write is a no-op.
 */
export const turnEvent = pgTable(
  'turn_event',
  {
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversation.id, { onDelete: 'cascade' }),
    turnIndex: integer('turn_index').notNull(),
    seq: integer('seq').notNull(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => project.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    dedupeKey: text('dedupe_key').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.conversationId, t.turnIndex, t.seq] }),
    uniqueIndex('turn_event_dedupe_uq').on(t.conversationId, t.turnIndex, t.dedupeKey),
    index('turn_event_created_at_idx').on(t.createdAt),
  ],
);

/** Tool results or model outputs kept as artifacts of a message (seed 001 artifacts). */
export const artifact = pgTable(
  'artifact',
  {
    id: id(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => project.id, { onDelete: 'cascade' }),
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversation.id, { onDelete: 'cascade' }),
    messageId: uuid('message_id').references(() => message.id, { onDelete: 'set null' }),
    type: text('type').notNull(), // code | text | sheet | image
    title: text('title').notNull(),
    content: text('content'),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('artifact_conversation_idx').on(t.conversationId), index('artifact_message_idx').on(t.messageId)],
);
