import { and, eq, inArray } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import {
  agentExecutionHistory,
  appUser,
  conversation,
  escalationEvent,
  escalationTemplate,
  notification,
  smartAgent,
} from '../../db/schema/index.js';
import type { Channel, EscalationSnapshot } from '../../../workflows/contracts/index.js';
import { escalationLinks } from '../links.js';
import { defaultTemplate, renderTemplate, type NotificationVariables, type TemplateSource } from './template-render.js';

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

type EventRow = typeof escalationEvent.$inferSelect;
type UserRow = typeof appUser.$inferSelect;

function addressOf(user: UserRow, channel: Channel): string | null {
  if (channel === 'email') return user.email;
  if (channel === 'webhook') return user.webhookUrl;
  if (channel === 'sms') return user.phone;
  return user.id;
}

/** Everything a template may use except the recipient and links (see `NotificationVariables`). */
export async function baseVariables(db: DbOrTx, event: EventRow, snapshot: EscalationSnapshot, level: number, pass: number) {
  const [agent] = await db.select({ id: smartAgent.id, name: smartAgent.name }).from(smartAgent).where(eq(smartAgent.id, event.agentId));
  const [conv] = event.conversationId ? await db.select().from(conversation).where(eq(conversation.id, event.conversationId)) : [];
  const turnIndex = typeof event.triggerData.turnIndex === 'number' ? event.triggerData.turnIndex : null;
  const [turn] =
    conv && turnIndex !== null
      ? await db
          .select()
          .from(agentExecutionHistory)
          .where(and(eq(agentExecutionHistory.conversationId, conv.id), eq(agentExecutionHistory.messageIndex, turnIndex)))
      : [];
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

async function templateFor(db: DbOrTx, snapshot: EscalationSnapshot, projectId: string, channel: Channel): Promise<TemplateSource> {
  const id = snapshot.policy.templateIds[channel] ?? snapshot.templateId;
  if (id) {
    const [t] = await db
      .select({ subject: escalationTemplate.subject, body: escalationTemplate.body })
      .from(escalationTemplate)
      .where(and(eq(escalationTemplate.id, id), eq(escalationTemplate.projectId, projectId)));
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
  db: DbOrTx,
  links: LinkSettings,
  p: { eventId: string; level: number; pass: number; round: number; nowMs: number },
): Promise<PreparedNotification[]> {
  const [event] = await db.select().from(escalationEvent).where(eq(escalationEvent.id, p.eventId));
  if (!event) return [];
  const snapshot = event.policySnapshot as unknown as EscalationSnapshot;
  const level = snapshot.policy.levels[p.level];
  if (!level) return [];
  const users = await db.select().from(appUser).where(and(eq(appUser.projectId, event.projectId), inArray(appUser.id, level.targets)));
  const base = await baseVariables(db, event, snapshot, p.level, p.pass);
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
      const rendered = await render(await templateFor(db, snapshot, event.projectId, channel), channel, vars);
      const status = !address ? 'failed' : channel === 'in_app' ? 'sent' : 'pending';
      await db
        .insert(notification)
        .values({
          projectId: event.projectId, escalationEventId: event.id, channel, level: p.level, pass: p.pass,
          targetUserId: user.id, targetAddress: address, subject: rendered.subject, body: rendered.body, status,
          error: !address ? `${user.email} has no ${channel === 'sms' ? 'phone number' : 'webhook URL'}` : rendered.error,
          idempotencyKey, sentAt: status === 'sent' ? new Date(p.nowMs) : null,
        })
        .onConflictDoNothing({ target: notification.idempotencyKey });
      const [row] = await db.select({ id: notification.id, status: notification.status }).from(notification).where(eq(notification.idempotencyKey, idempotencyKey));
      out.push({ notificationId: row!.id, channel, status: row!.status });
    }
  }
  return out;
}
