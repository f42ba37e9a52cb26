import type { Db } from '../../db/client.js';
import type { EscalationSnapshot, EscalationStatus } from '../../../workflows/contracts/index.js';
import { enqueueWebhookEvents } from '../../webhooks/outbox.js';
import { driverOf } from '../driver.js';
import {
  notificationSummary, notifiedEvent, notifiedEventColumns, prepareEventNotifications, type LinkSettings, type NotifiedEvent, type PreparedNotification,
} from '../notifications/prepare-notifications.js';
import { EscalationNotFoundError, timelineEntry, type EscalationChange, type TimelineEntry } from './event-lifecycle.js';

export interface FirstStep {
  snapshot: EscalationSnapshot;
  createdAtMs: number;
  status: EscalationStatus;
  /**
   * Level 1 as told in this step: when (the `notified` entry's time, which its acknowledgement timeout counts
   * from) and the notifications stored; null when the rule's action runs first or there is no level.
   */
  notified: { atMs: number; prepared: PreparedNotification[] } | null;
}

type BegunRow = NotifiedEvent & { escalationRuleId: string; currentLevel: number; timeline: TimelineEntry[] };

/**
 * An escalation's first step, in one transaction: mark the event as its workflow's (and tell webhook
 * subscribers, as `beginEscalation` does), and when the rule's action is `notify`, store level 1's
 * notifications and record `notified` as timeline step 1. Three local activities and transactions before,
 * one now, in hand-written SQL. A retry after a commit changes nothing: the notification rows and the
 * timeline step are keyed, and the time returned is the one recorded, so the workflow's timer counts from
 * what people see.
 */
export async function beginEscalationAndNotify(db: Db, links: LinkSettings, p: { eventId: string; workflowId: string; nowMs: number }): Promise<FirstStep> {
  return db.transaction(async (dtx) => {
    const tx = driverOf(dtx);
    const [row] = await tx<BegunRow[]>`
      update escalation_event set workflow_id = ${p.workflowId} where id = ${p.eventId}
      returning ${notifiedEventColumns(tx)}, escalation_rule_id as "escalationRuleId", current_level as "currentLevel", timeline`;
    if (!row) throw new EscalationNotFoundError(`escalation event ${p.eventId} does not exist`);
    const event = notifiedEvent(row);
    const data = {
      escalationId: event.id, ruleId: event.escalationRuleId, agentId: event.agentId, conversationId: event.conversationId,
      status: event.status, level: event.currentLevel + 1, reason: event.reason,
    };
    const opened = enqueueWebhookEvents(dtx, event.projectId, [{ type: 'escalation.opened', key: `escalation.opened:${event.id}`, at: event.createdAt, data }]);
    const snapshot = event.policySnapshot as unknown as EscalationSnapshot;
    const begun = { snapshot, createdAtMs: event.createdAt.getTime(), status: event.status as EscalationStatus };
    if (snapshot.action !== 'notify' || snapshot.policy.levels.length === 0) return { ...(await opened, begun), notified: null };
    const [, prepared] = await Promise.all([opened, prepareEventNotifications(tx, links, event, { level: 0, pass: 0, round: 0, nowMs: p.nowMs })]);
    const recorded = event.timeline.find((t) => t.seq === 1);
    if (recorded) return { ...begun, notified: { atMs: Date.parse(recorded.at), prepared } };
    const change: EscalationChange = {
      eventId: event.id, seq: 1, kind: 'notified', status: 'pending', level: 0, pass: 0, actor: 'system', atMs: p.nowMs,
      details: { notifications: notificationSummary(prepared) },
    };
    // Step 1 is not in the timeline (read above, in this transaction, with the row locked by the update).
    await tx`update escalation_event set status = 'pending', current_level = 0, timeline = timeline || ${JSON.stringify([timelineEntry(change)])}::jsonb where id = ${event.id}`;
    return { ...begun, notified: { atMs: p.nowMs, prepared } };
  });
}
