import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, tstz, updatedAt } from './columns.js';
import { smartAgent } from './agents.js';
import { appUser, project } from './tenancy.js';

/** Liquid templates for escalation notifications (seed 000 escalation_template). */
export const escalationTemplate = pgTable(
  'escalation_template',
  {
    id: id(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => project.id, { onDelete: 'cascade' }),
    createdBy: uuid('created_by').references(() => appUser.id, { onDelete: 'set null' }),
    name: text('name').notNull(),
    description: text('description'),
    subject: text('subject'),
    body: text('body').notNull(),
    messageType: text('message_type').notNull().default('email'), // email | webhook | in_app | sms
    variables: jsonb('variables').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('escalation_template_project_id_idx').on(t.projectId)],
);

/**
 * An escalation rule (seed 000). rule_type: deviation | threshold | manual | scheduled;
 * escalation_action: notify | assign | pause_agent | execute_workflow. `policy` holds the ordered levels,
 * repeats and timers; it is copied into each event so editing a rule never changes a running escalation.
 */
export const escalationRule = pgTable(
  'escalation_rule',
  {
    id: id(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => project.id, { onDelete: 'cascade' }),
    agentId: uuid('agent_id')
      .notNull()
      .references(() => smartAgent.id, { onDelete: 'cascade' }),
    createdBy: uuid('created_by').references(() => appUser.id, { onDelete: 'set null' }),
    name: text('name').notNull(),
    description: text('description'),
    ruleType: text('rule_type').notNull(),
    triggerCondition: jsonb('trigger_condition').$type<Record<string, unknown>>().notNull().default({}),
    triggerEvents: text('trigger_events').array().notNull().default(sql`ARRAY[]::text[]`),
    escalationAction: text('escalation_action').notNull(),
    escalationTarget: uuid('escalation_target').references(() => appUser.id, { onDelete: 'restrict' }),
    escalationTemplateId: uuid('escalation_template_id').references(() => escalationTemplate.id, {
      onDelete: 'set null',
    }),
    policy: jsonb('policy').$type<Record<string, unknown>>().notNull().default({}),
    /** execute_workflow: what to start (see ActionConfig in workflows/contracts/escalation.ts). */
    actionConfig: jsonb('action_config').$type<Record<string, unknown>>(),
    priority: text('priority').notNull().default('medium'), // low | medium | high | critical
    status: text('status').notNull().default('active'), // active | inactive
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('escalation_rule_project_id_idx').on(t.projectId),
    index('escalation_rule_agent_id_idx').on(t.agentId),
    index('escalation_rule_status_idx').on(t.status),
    index('escalation_rule_priority_idx').on(t.priority),
  ],
);

/** One escalation (seed 000 escalation_event): pending | acknowledged | resolved | ignored. */
export const escalationEvent = pgTable(
  'escalation_event',
  {
    id: id(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => project.id, { onDelete: 'cascade' }),
    escalationRuleId: uuid('escalation_rule_id')
      .notNull()
      .references(() => escalationRule.id, { onDelete: 'cascade' }),
    agentId: uuid('agent_id')
      .notNull()
      .references(() => smartAgent.id, { onDelete: 'cascade' }),
    conversationId: uuid('conversation_id'),
    workflowId: text('workflow_id'),
    eventType: text('event_type').notNull(),
    /** Why it fired, in words (keyword matched, threshold crossed, the reason given by a person…). */
    reason: text('reason'),
    /** Set by automatic triggers so a retried activity or a replayed tick never opens a second event. */
    dedupeKey: text('dedupe_key').unique(),
    triggerData: jsonb('trigger_data').$type<Record<string, unknown>>().notNull().default({}),
    policySnapshot: jsonb('policy_snapshot').$type<Record<string, unknown>>().notNull().default({}),
    status: text('status').notNull().default('pending'),
    currentLevel: integer('current_level').notNull().default(0),
    assignedTo: uuid('assigned_to').references(() => appUser.id, { onDelete: 'set null' }),
    notes: text('notes'),
    timeline: jsonb('timeline').$type<Array<Record<string, unknown>>>().notNull().default([]),
    acknowledgedAt: tstz('acknowledged_at'),
    resolvedAt: tstz('resolved_at'),
    snoozedUntil: tstz('snoozed_until'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('escalation_event_rule_id_idx').on(t.escalationRuleId),
    index('escalation_event_agent_id_idx').on(t.agentId),
    index('escalation_event_status_idx').on(t.status),
    index('escalation_event_assigned_to_idx').on(t.assignedTo),
    index('escalation_event_project_created_idx').on(t.projectId, t.createdAt),
  ],
);

/** Delivery log of escalation notifications: one row per (event, level, target, channel). */
export const notification = pgTable(
  'notification',
  {
    id: id(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => project.id, { onDelete: 'cascade' }),
    escalationEventId: uuid('escalation_event_id').references(() => escalationEvent.id, { onDelete: 'cascade' }),
    channel: text('channel').notNull(), // email | webhook | in_app | sms
    /** The policy level (0-based) and pass that sent it. */
    level: integer('level').notNull().default(0),
    pass: integer('pass').notNull().default(0),
    targetUserId: uuid('target_user_id').references(() => appUser.id, { onDelete: 'set null' }),
    targetAddress: text('target_address'),
    subject: text('subject'),
    body: text('body').notNull(),
    status: text('status').notNull().default('pending'), // pending | sent | failed | read
    attempts: integer('attempts').notNull().default(0),
    error: text('error'),
    idempotencyKey: text('idempotency_key').notNull().unique(),
    sentAt: tstz('sent_at'),
    readAt: tstz('read_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('notification_event_idx').on(t.escalationEventId),
    index('notification_target_idx').on(t.targetUserId, t.channel),
  ],
);
