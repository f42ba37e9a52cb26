import { doublePrecision, index, jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, tstz, updatedAt } from './columns.js';
import { smartAgent } from './agents.js';
import { project } from './tenancy.js';

/**
 * A one-off agent run without a conversation (seeds 004 tasks, 001 workflows).
 * status: pending | running | completed | failed | canceled. priority: low | normal | high.
 */
export const agentTask = pgTable(
  'agent_task',
  {
    id: id(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => project.id, { onDelete: 'cascade' }),
    agentId: uuid('agent_id')
      .notNull()
      .references(() => smartAgent.id, { onDelete: 'cascade' }),
    taskType: text('task_type').notNull().default('run'),
    status: text('status').notNull().default('pending'),
    priority: text('priority').notNull().default('normal'),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    result: jsonb('result').$type<unknown>(),
    error: text('error'),
    workflowId: text('workflow_id'),
    steps: jsonb('steps').$type<Array<Record<string, unknown>>>().notNull().default([]),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    startedAt: tstz('started_at'),
    completedAt: tstz('completed_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('agent_task_agent_idx').on(t.agentId),
    index('agent_task_status_idx').on(t.status),
    index('agent_task_project_created_idx').on(t.projectId, t.createdAt),
  ],
);

/** Operational metrics (seed 004 metrics) that the API aggregates and threshold rules read. */
export const metric = pgTable(
  'metric',
  {
    id: id(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => project.id, { onDelete: 'cascade' }),
    agentId: uuid('agent_id').references(() => smartAgent.id, { onDelete: 'cascade' }),
    metricName: text('metric_name').notNull(),
    metricValue: doublePrecision('metric_value').notNull(),
    tags: jsonb('tags').$type<Record<string, unknown>>().notNull().default({}),
    recordedAt: tstz('recorded_at').notNull().defaultNow(),
  },
  (t) => [
    index('metric_agent_name_time_idx').on(t.agentId, t.metricName, t.recordedAt),
    index('metric_project_name_time_idx').on(t.projectId, t.metricName, t.recordedAt),
  ],
);

/** An integration connection (seed 002): an MCP server or an OAuth2 credential set. */
export const integrationConnection = pgTable(
  'integration_connection',
  {
    id: id(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => project.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(), // mcp | oauth2
    name: text('name').notNull(),
    status: text('status').notNull().default('connected'),
    config: jsonb('config').$type<Record<string, unknown>>().notNull().default({}),
    credentialsEncrypted: text('credentials_encrypted'),
    credentialsKeyId: text('credentials_key_id'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('integration_connection_project_idx').on(t.projectId)],
);

/** Events of an integration (seed 002 IntegrationEvent): connected, disconnected, tool_used, error, refreshed. */
export const integrationEvent = pgTable(
  'integration_event',
  {
    id: id(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => project.id, { onDelete: 'cascade' }),
    integrationId: uuid('integration_id')
      .notNull()
      .references(() => integrationConnection.id, { onDelete: 'cascade' }),
    eventType: text('event_type').notNull(),
    eventData: jsonb('event_data').$type<Record<string, unknown>>().notNull().default({}),
    toolName: text('tool_name'),
    toolParameters: jsonb('tool_parameters').$type<Record<string, unknown>>(),
    toolResult: jsonb('tool_result').$type<unknown>(),
    errorMessage: text('error_message'),
    errorCode: text('error_code'),
    occurredAt: tstz('occurred_at').notNull().defaultNow(),
    createdAt: createdAt(),
  },
  (t) => [
    index('integration_event_integration_idx').on(t.integrationId),
    index('integration_event_type_idx').on(t.eventType),
    index('integration_event_occurred_idx').on(t.occurredAt.desc()),
  ],
);
