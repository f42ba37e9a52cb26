import type postgres from 'postgres';
import type { Channel, EscalationSnapshot } from '../../../workflows/contracts/index.js';
import { escalationLinks } from '../links.js';
import { defaultTemplate, renderTemplate, type NotificationVariables, type TemplateSource } from './template-render.js';

// Hand-written SQL on the driver (no query builder): these statements are on every escalation's first step
// and every level after it, where Drizzle's query building was a quarter of the worker's CPU (SCALING.md).

/** The pool or a transaction of it: the statements below run in either. */
export type SqlClient = postgres.Sql | postgres.TransactionSql;

export interface LinkSettings {
  secret: string | null;
  publicBaseUrl: string;
  ttlSeconds: number;
}

export interface PreparedNotification {
  notificationId: string;
  channel: Channel;
  /** `pending` ones still need `deliverNotification`; in-app ones are stored as sent. */
  status: string;
}

/** What notifications read of their event (an `escalation_event` row, or the columns of one). */
export interface NotifiedEvent {
  id: string;
  projectId: string;
  agentId: string;
  conversationId: string | null;
  status: string;
  reason: string | null;
  createdAt: Date;
  triggerData: Record<string, unknown>;
  policySnapshot: Record<string, unknown>;
}

/** The `escalation_event` columns of a {@link NotifiedEvent}, for a select or a `returning`. */
export const notifiedEventColumns = (sql: SqlClient) => sql`
  id, project_id as "projectId", agent_id as "agentId", conversation_id as "conversationId", status, reason,
  to_json(created_at) as "createdAt", trigger_data as "triggerData", policy_snapshot as "policySnapshot"`;

/** A row with {@link notifiedEventColumns}: the driver hands timestamps over as text (Drizzle parses them), JSON as ISO. */
export const notifiedEvent = <T extends { createdAt: unknown }>(row: T): T & { createdAt: Date } => ({ ...row, createdAt: new Date(row.createdAt as string) });

interface UserRow { id: string; email: string; name: string | null; phone: string | null; webhookUrl: string | null }

function addressOf(user: UserRow, channel: Channel): string | null {
  if (channel === 'email') return user.email;
  if (channel === 'webhook') return user.webhookUrl;
  if (channel === 'sms') return user.phone;
  return user.id;
}

/** Everything a template may use except the recipient and links (see `NotificationVariables`). */
export async function baseVariables(sql: SqlClient, event: NotifiedEvent, snapshot: EscalationSnapshot, level: number, pass: number) {
  const turnIndex = typeof event.triggerData.turnIndex === 'number' ? event.triggerData.turnIndex : null;
  // Issued together: the driver pipelines them on one connection (a transaction's, or the pool's).
  const [[agent], [conv], [turn]] = await Promise.all([
    sql<{ name: string }[]>`select name from smart_agent where id = ${event.agentId}`,
    event.conversationId
      ? sql<{ id: string; status: string; variables: Record<string, unknown> | null; messagesCount: number }[]>`
        select id, status, variables, messages_count as "messagesCount" from conversation where id = ${event.conversationId}`
      : [],
    event.conversationId && turnIndex !== null
      ? sql<{ messageIndex: number; userInput: string; agentResponse: string | null }[]>`
        select message_index as "messageIndex", user_input as "userInput", agent_response as "agentResponse"
        from agent_execution_history where conversation_id = ${event.conversationId} and message_index = ${turnIndex}`
      : [],
  ]);
  const levelDef = snapshot.policy.levels[level];
  return {
    agent: { id: event.agentId, name: agent?.name ?? '(deleted agent)' },
    conversation: conv ? { id: conv.id, status: conv.status, variables: conv.variables ?? {}, messagesCount: conv.messagesCount } : null,
    turn: turn ? { index: turn.messageIndex, userMessage: turn.userInput, response: turn.agentResponse ?? null } : null,
    rule: { id: snapshot.ruleId, name: snapshot.ruleName, type: snapshot.ruleType, priority: snapshot.priority },
    event: { id: event.id, status: event.status, reason: event.reason ?? '', createdAt: event.createdAt.toISOString(), triggerData: event.triggerData },
    // `level` and `pass` are the workflow's indexes (from 0); templates count from 1 like the API.
    level: {
      number: level + 1, count: snapshot.policy.levels.length, pass: pass + 1, passCount: snapshot.policy.repeat + 1, repeat: pass,
      ackTimeoutSeconds: levelDef?.ackTimeoutSeconds ?? 0,
    },
    trigger: event.triggerData,
  } satisfies Omit<NotificationVariables, 'recipient' | 'links'>;
}

async function templateFor(sql: SqlClient, snapshot: EscalationSnapshot, projectId: string, channel: Channel): Promise<TemplateSource> {
  const id = snapshot.policy.templateIds[channel] ?? snapshot.templateId;
  if (id) {
    const [t] = await sql<TemplateSource[]>`select subject, body from escalation_template where id = ${id} and project_id = ${projectId}`;
    if (t) return t;
  }
  return defaultTemplate(channel);
}

/** Renders with the configured template; a template that fails falls back to the default one, so a person still hears. */
async function render(source: TemplateSource, channel: Channel, vars: NotificationVariables) {
  try {
    return { ...(await renderTemplate(source, vars)), error: null as string | null };
  } catch (err) {
    const fallback = await renderTemplate(defaultTemplate(channel), vars);
    return { ...fallback, error: `template failed, default used: ${err instanceof Error ? err.message : String(err)}`.slice(0, 1000) };
  }
}

/**
 * Renders and stores the notifications of one policy level: one row per (target, channel), keyed on
 * (event, notification round, level, target, channel) so a retry returns the same rows while a
 * re-notification (next pass, re-trigger, end of snooze) makes new ones. A target without an address for
 * a channel gets a `failed` row saying so, which shows in the event's deliveries.
 */
export async function prepareNotifications(
  sql: SqlClient,
  links: LinkSettings,
  p: { eventId: string; level: number; pass: number; round: number; nowMs: number },
): Promise<PreparedNotification[]> {
  const [event] = await sql<NotifiedEvent[]>`select ${notifiedEventColumns(sql)} from escalation_event where id = ${p.eventId}`;
  return event ? prepareEventNotifications(sql, links, notifiedEvent(event), p) : [];
}

/** {@link prepareNotifications} of an event the caller has just read (or written). */
export async function prepareEventNotifications(
  sql: SqlClient,
  links: LinkSettings,
  event: NotifiedEvent,
  p: { level: number; pass: number; round: number; nowMs: number },
): Promise<PreparedNotification[]> {
  const snapshot = event.policySnapshot as unknown as EscalationSnapshot;
  const level = snapshot.policy.levels[p.level];
  if (!level) return [];
  const [users, base] = await Promise.all([
    sql<UserRow[]>`select id, email, name, phone, webhook_url as "webhookUrl" from app_user where project_id = ${event.projectId} and id = any(${level.targets}::uuid[])`,
    baseVariables(sql, event, snapshot, p.level, p.pass),
  ]);
  const out: PreparedNotification[] = [];
  for (const user of users) {
    const vars: NotificationVariables = {
      ...base,
      recipient: { id: user.id, name: user.name, email: user.email },
      links: escalationLinks({ ...links, nowMs: p.nowMs }, event.id, user.id),
    };
    for (const channel of level.channels) {
      const idempotencyKey = `${event.id}:${p.round}:${p.level}:${user.id}:${channel}`;
      const address = addressOf(user, channel);
      const rendered = await render(await templateFor(sql, snapshot, event.projectId, channel), channel, vars);
      const status = !address ? 'failed' : channel === 'in_app' ? 'sent' : 'pending';
      const error = !address ? `${user.email} has no ${channel === 'sms' ? 'phone number' : 'webhook URL'}` : rendered.error;
      const [inserted] = await sql<{ id: string; status: string }[]>`
        insert into notification (project_id, escalation_event_id, channel, level, pass, target_user_id, target_address, subject, body, status, error, idempotency_key, sent_at)
        values (${event.projectId}, ${event.id}, ${channel}, ${p.level}, ${p.pass}, ${user.id}, ${address}, ${rendered.subject ?? null}, ${rendered.body},
          ${status}, ${error}, ${idempotencyKey}, ${status === 'sent' ? new Date(p.nowMs).toISOString() : null}::timestamptz)
        on conflict (idempotency_key) do nothing
        returning id, status`;
      // A retry finds the row its first attempt stored (and its status since).
      const [row] = inserted ? [inserted] : await sql<{ id: string; status: string }[]>`select id, status from notification where idempotency_key = ${idempotencyKey}`;
      out.push({ notificationId: row!.id, channel, status: row!.status });
    }
  }
  return out;
}

/** What a level's timeline entry says about its notifications, as of when the level was told. */
export function notificationSummary(prepared: PreparedNotification[]) {
  return {
    total: prepared.length,
    inApp: prepared.filter((n) => n.channel === 'in_app' && n.status === 'sent').length,
    undeliverable: prepared.filter((n) => n.status === 'failed').length,
  };
}
