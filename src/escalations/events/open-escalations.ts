import { and, eq, inArray } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { escalationEvent, escalationRule, escalationTemplate } from '../../db/schema/index.js';
import type {
  ActionConfig,
  Channel,
  EscalationInput,
  EscalationPolicy,
  EscalationSnapshot,
  FiredTrigger,
  Priority,
  RuleType,
  EscalationAction,
} from '../../../workflows/contracts/index.js';
import { defaultPolicy, policySchema } from '../contracts/rule-fields.js';

type RuleRow = typeof escalationRule.$inferSelect;
type EventRow = typeof escalationEvent.$inferSelect;

/** How long a level waits for an acknowledgement when the rule names only a target: 30 minutes. */
export const DEFAULT_ACK_TIMEOUT_SECONDS = 1800;

/**
 * Freezes what an escalation needs from its rule. A rule without levels gets one: its target, on its
 * template's channel (in-app without a template). Editing the rule later never changes this copy.
 */
export async function snapshotRule(db: DbOrTx, rule: RuleRow): Promise<EscalationSnapshot> {
  const parsed = policySchema.safeParse(rule.policy ?? {});
  const policy: EscalationPolicy = parsed.success ? parsed.data : defaultPolicy;
  let levels = policy.levels;
  if (levels.length === 0 && rule.escalationTarget) {
    let channel: Channel = 'in_app';
    if (rule.escalationTemplateId) {
      const [t] = await db
        .select({ messageType: escalationTemplate.messageType })
        .from(escalationTemplate)
        .where(eq(escalationTemplate.id, rule.escalationTemplateId));
      if (t) channel = t.messageType as Channel;
    }
    levels = [{ targets: [rule.escalationTarget], channels: [channel], ackTimeoutSeconds: DEFAULT_ACK_TIMEOUT_SECONDS }];
  }
  return {
    ruleId: rule.id,
    ruleName: rule.name,
    ruleType: rule.ruleType as RuleType,
    priority: rule.priority as Priority,
    action: rule.escalationAction as EscalationAction,
    actionConfig: (rule.actionConfig as ActionConfig | null) ?? null,
    target: rule.escalationTarget,
    templateId: rule.escalationTemplateId,
    policy: { ...policy, levels },
  };
}

/** True when the rule is active and not snoozed at `now`. */
export function ruleCanFire(rule: RuleRow, now: Date): boolean {
  if (rule.status !== 'active') return false;
  const snoozeUntil = (rule.policy as { snoozeUntil?: string | null } | null)?.snoozeUntil;
  return !snoozeUntil || Date.parse(snoozeUntil) <= now.getTime();
}

/**
 * Creates one pending event per fired trigger (with the rule's policy frozen in it) and returns what each
 * escalation workflow starts with. Idempotent: a trigger whose `dedupeKey` already has an event returns
 * that event, so a retried activity or a replayed tick never opens a second escalation.
 */
export async function openEscalations(db: DbOrTx, fired: FiredTrigger[]): Promise<EscalationInput[]> {
  if (fired.length === 0) return [];
  const rules = await db.select().from(escalationRule).where(inArray(escalationRule.id, [...new Set(fired.map((f) => f.ruleId))]));
  const byId = new Map(rules.map((r) => [r.id, r]));
  const opened: EscalationInput[] = [];
  for (const f of fired) {
    const rule = byId.get(f.ruleId);
    if (!rule) continue; // deleted meanwhile
    const { row } = await openEscalation(db, rule, f);
    if (row) opened.push(escalationInput(row, rule));
  }
  return opened;
}

/**
 * One event for one trigger of a rule the caller has read: inserted and returned in one statement; when
 * the dedupe key already has an event, that event (`created` false), or none if it was removed meanwhile.
 */
export async function openEscalation(db: DbOrTx, rule: RuleRow, f: FiredTrigger): Promise<{ row: EventRow | undefined; created: boolean }> {
  const snapshot = await snapshotRule(db, rule);
  const [inserted] = await db
    .insert(escalationEvent)
    .values({
      projectId: rule.projectId,
      escalationRuleId: rule.id,
      agentId: rule.agentId,
      conversationId: f.conversationId,
      eventType: f.eventType,
      reason: f.reason,
      dedupeKey: f.dedupeKey,
      triggerData: f.triggerData,
      policySnapshot: snapshot as unknown as Record<string, unknown>,
      timeline: [{ seq: 0, at: new Date().toISOString(), kind: 'created', status: 'pending', level: 1, pass: 1, actor: 'system', note: f.reason }],
    })
    .onConflictDoNothing({ target: escalationEvent.dedupeKey })
    .returning();
  if (inserted) return { row: inserted, created: true };
  const [row] = await db.select().from(escalationEvent).where(eq(escalationEvent.dedupeKey, f.dedupeKey));
  return { row, created: false };
}

/** What the escalation workflow of an event starts with. */
export function escalationInput(row: EventRow, rule: RuleRow): EscalationInput {
  return {
    eventId: row.id, projectId: row.projectId, agentId: row.agentId, ruleId: rule.id, conversationId: row.conversationId,
    ruleName: rule.name, priority: rule.priority as Priority,
  };
}

/** Active rules of an agent of one type, for the triggers to evaluate. */
export async function activeRules(db: DbOrTx, agentId: string, ruleType: RuleType): Promise<RuleRow[]> {
  const rows = await db
    .select()
    .from(escalationRule)
    .where(and(eq(escalationRule.agentId, agentId), eq(escalationRule.ruleType, ruleType), eq(escalationRule.status, 'active')));
  const now = new Date();
  return rows.filter((r) => ruleCanFire(r, now));
}
