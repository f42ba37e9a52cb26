import { type AnyPgColumn, boolean, index, integer, jsonb, pgTable, real, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, tstz, updatedAt } from './columns.js';
import { appUser, project } from './tenancy.js';

/**
 * An agent (seeds 000 smart_agent, 003 agents, 001 agent_definitions/instances, 004 agents).
 * status: active | paused | inactive | archived. Only `active` agents take new turns; DELETE archives.
 * A clone keeps `template_parent_id` pointing at the template it came from.
 */
export const smartAgent = pgTable(
  'smart_agent',
  {
    id: id(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => project.id, { onDelete: 'cascade' }),
    createdBy: uuid('created_by').references(() => appUser.id, { onDelete: 'set null' }),
    name: text('name').notNull(),
    description: text('description'),
    avatarUrl: text('avatar_url'),
    agentType: text('agent_type').notNull().default('custom'),
    goal: text('goal').notNull(),
    systemPrompt: text('system_prompt').notNull().default(''),
    firstMessage: text('first_message'),
    language: text('language').notNull().default('en'),
    model: text('model'),
    temperature: real('temperature'),
    maxTokens: integer('max_tokens'),
    capabilities: jsonb('capabilities').$type<string[]>().notNull().default([]),
    successMetrics: jsonb('success_metrics').$type<Record<string, unknown>>().notNull().default({}),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    status: text('status').notNull().default('active'),
    isTemplate: boolean('is_template').notNull().default(false),
    templateParentId: uuid('template_parent_id').references((): AnyPgColumn => smartAgent.id, {
      onDelete: 'set null',
    }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    archivedAt: tstz('archived_at'),
  },
  (t) => [
    index('smart_agent_project_id_idx').on(t.projectId),
    index('smart_agent_created_by_idx').on(t.createdBy),
    index('smart_agent_status_idx').on(t.status),
    index('smart_agent_template_idx').on(t.isTemplate),
    index('smart_agent_template_parent_idx').on(t.templateParentId),
    // keyset pagination: (project, created_at, id)
    index('smart_agent_project_created_idx').on(t.projectId, t.createdAt, t.id),
  ],
);

/** Key-value configuration of an agent (seeds 003 agent_config, 004 agent_configurations). */
export const agentConfig = pgTable(
  'agent_config',
  {
    id: id(),
    agentId: uuid('agent_id')
      .notNull()
      .references(() => smartAgent.id, { onDelete: 'cascade' }),
    configKey: text('config_key').notNull(),
    configValue: jsonb('config_value').$type<unknown>().notNull(),
    isActive: boolean('is_active').notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('agent_config_agent_key_uq').on(t.agentId, t.configKey)],
);
