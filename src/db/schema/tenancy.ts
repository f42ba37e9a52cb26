import { sql } from 'drizzle-orm';
import { boolean, date, index, integer, jsonb, pgTable, primaryKey, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, tstz, updatedAt } from './columns.js';

/** A tenant. Every other row belongs to exactly one project, and every query is scoped by it. */
export const project = pgTable('project', {
  id: id(),
  name: text('name').notNull(),
  slug: text('slug').notNull().unique(),
  settings: jsonb('settings').$type<Record<string, unknown>>().notNull().default({}),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/** People inside a project: escalation targets with their contact channels (seed 001 users). */
export const appUser = pgTable(
  'app_user',
  {
    id: id(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => project.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    name: text('name'),
    phone: text('phone'),
    webhookUrl: text('webhook_url'),
    avatarUrl: text('avatar_url'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('app_user_project_email_uq').on(t.projectId, t.email)],
);

/**
 * API keys (seed 004 api_keys). Only a SHA-256 hash of the secret is stored; `prefix` is the visible
 * start of the key so people can tell keys apart. Lookups go through the unique hash index.
 */
export const apiKey = pgTable(
  'api_key',
  {
    id: id(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => project.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    prefix: text('prefix').notNull(),
    keyHash: text('key_hash').notNull(),
    permissions: text('permissions').array().notNull().default(sql`ARRAY[]::text[]`),
    isActive: boolean('is_active').notNull().default(true),
    expiresAt: tstz('expires_at'),
    lastUsedAt: tstz('last_used_at'),
    revokedAt: tstz('revoked_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('api_key_hash_uq').on(t.keyHash), index('api_key_project_idx').on(t.projectId)],
);

/**
 * A project's plan (seed 001 subscriptions, without payment): limits enforced by the gateway.
 * A null limit means unlimited. One row per project.
 */
export const subscription = pgTable('subscription', {
  id: id(),
  projectId: uuid('project_id')
    .notNull()
    .unique()
    .references(() => project.id, { onDelete: 'cascade' }),
  plan: text('plan').notNull().default('free'), // free | pro | enterprise
  status: text('status').notNull().default('active'), // active | canceled | past_due
  isActive: boolean('is_active').notNull().default(true),
  agentLimit: integer('agent_limit'),
  toolLimit: integer('tool_limit'),
  monthlyTurnLimit: integer('monthly_turn_limit'),
  currentPeriodEnd: tstz('current_period_end'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/**
 * Turns a project started per calendar month (UTC), for the plan's monthly turn limit: one row read per submit
 * instead of counting the month's turn rows. `beginTurn` adds one in the transaction that inserts the turn row (and
 * only when it did), so the count cannot drift from the rows; deleting a conversation does not give turns back.
 */
export const projectTurnUsage = pgTable(
  'project_turn_usage',
  {
    projectId: uuid('project_id')
      .notNull()
      .references(() => project.id, { onDelete: 'cascade' }),
    month: date('month').notNull(),
    turns: integer('turns').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.month] })],
);
