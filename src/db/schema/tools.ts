import { type AnyPgColumn, boolean, index, integer, jsonb, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, tstz, updatedAt } from './columns.js';
import { smartAgent } from './agents.js';
import { integrationConnection } from './operations.js';
import { appUser, project } from './tenancy.js';

/**
 * A tool an agent can call (seeds 000 tool, 001 agent_tools). tool_type: api | webhook | javascript |
 * database | mcp. `credentials_encrypted` holds AES-256-GCM ciphertext; `credentials_key_id` names the
 * key that sealed it so keys can rotate. Neither is ever returned by the API.
 */
export const tool = pgTable(
  'tool',
  {
    id: id(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => project.id, { onDelete: 'cascade' }),
    createdBy: uuid('created_by').references(() => appUser.id, { onDelete: 'set null' }),
    name: text('name').notNull(),
    description: text('description'),
    category: text('category').notNull(), // data_source | processor | visualization | action | integration
    toolType: text('tool_type').notNull(),
    inputSchema: jsonb('input_schema').$type<Record<string, unknown>>().notNull(),
    outputSchema: jsonb('output_schema').$type<Record<string, unknown>>(),
    config: jsonb('config').$type<Record<string, unknown>>().notNull().default({}),
    responseFormat: jsonb('response_format').$type<Record<string, unknown>>(),
    apiEndpoint: text('api_endpoint'),
    authMethod: text('auth_method').notNull().default('none'), // none | api_key | bearer | basic | oauth2
    credentialsEncrypted: text('credentials_encrypted'),
    credentialsKeyId: text('credentials_key_id'),
    /** MCP servers and OAuth2 tools are integration connections, with an event log. */
    integrationId: uuid('integration_id').references((): AnyPgColumn => integrationConnection.id, { onDelete: 'set null' }),
    timeoutMs: integer('timeout_ms').notNull().default(10_000),
    retryPolicy: jsonb('retry_policy').$type<Record<string, unknown>>().notNull().default({}),
    documentation: text('documentation'),
    exampleUsage: jsonb('example_usage').$type<Record<string, unknown>>(),
    version: integer('version').notNull().default(1),
    status: text('status').notNull().default('draft'), // draft | active | deprecated
    aiSdkFormatValid: boolean('ai_sdk_format_valid').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    archivedAt: tstz('archived_at'),
  },
  (t) => [
    index('tool_project_id_idx').on(t.projectId),
    index('tool_created_by_idx').on(t.createdBy),
    index('tool_status_idx').on(t.status),
    index('tool_category_idx').on(t.category),
    index('tool_name_project_idx').on(t.projectId, t.name),
  ],
);

/** Which agent may call which tool, with overrides and a calls-per-hour rate limit. */
export const agentToolAssignment = pgTable(
  'agent_tool_assignment',
  {
    id: id(),
    agentId: uuid('agent_id')
      .notNull()
      .references(() => smartAgent.id, { onDelete: 'cascade' }),
    toolId: uuid('tool_id')
      .notNull()
      .references(() => tool.id, { onDelete: 'cascade' }),
    accessLevel: text('access_level').notNull().default('execute'), // read | write | execute
    toolConfigOverride: jsonb('tool_config_override').$type<Record<string, unknown>>(),
    rateLimit: integer('rate_limit').default(100), // calls per hour; null = unlimited
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('agent_tool_assignment_agent_id_idx').on(t.agentId),
    index('agent_tool_assignment_tool_id_idx').on(t.toolId),
    uniqueIndex('agent_tool_assignment_agent_tool_uq').on(t.agentId, t.toolId),
  ],
);

/** One row per tool-call attempt (seed 000 tool_execution_log). */
export const toolExecutionLog = pgTable(
  'tool_execution_log',
  {
    id: id(),
    toolId: uuid('tool_id')
      .notNull()
      .references(() => tool.id, { onDelete: 'cascade' }),
    agentId: uuid('agent_id').references(() => smartAgent.id, { onDelete: 'cascade' }),
    conversationId: uuid('conversation_id'),
    workflowId: text('workflow_id'),
    toolCallId: text('tool_call_id'),
    attempt: integer('attempt').notNull().default(1),
    status: text('status').notNull(), // running (rate-limited call reserved) | success | failure | timeout | error
    inputParams: jsonb('input_params').$type<Record<string, unknown>>(),
    outputResult: jsonb('output_result').$type<unknown>(),
    errorMessage: text('error_message'),
    executionTimeMs: integer('execution_time_ms'),
    executionContext: jsonb('execution_context').$type<Record<string, unknown>>(),
    executionType: text('execution_type').notNull().default('test'), // test | agent_runtime | manual
    createdAt: createdAt(),
  },
  (t) => [
    index('tool_execution_log_tool_id_idx').on(t.toolId),
    index('tool_execution_log_agent_id_idx').on(t.agentId),
    index('tool_execution_log_conversation_id_idx').on(t.conversationId),
    index('tool_execution_log_status_idx').on(t.status),
    index('tool_execution_log_execution_type_idx').on(t.executionType),
    uniqueIndex('tool_execution_log_attempt_uq').on(t.workflowId, t.toolCallId, t.attempt),
  ],
);
