import { ActivityFailure, patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { escalationFailureTypes, failureMessage, type EscalationState } from './contracts/index.js';
import { store } from './proxies.js';

/**
 * Rendering and storing a level's notifications (DB work plus Liquid with its own render limits) as a task
 * on the queue: how escalations started before LOCAL_PREPARE_PATCH still do it (and mark failed deliveries).
 */
const prepare = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

/** One delivery: SMTP / HTTP with a 10 s request timeout; a few minutes of retries at most. */
const delivery = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 6, nonRetryableErrorTypes: [escalationFailureTypes.notificationRejected] },
});

/**
 * From this patch on, a level's notifications are prepared by a local activity in the workflow task that
 * decided to notify: an escalation reaches its timer in one workflow task instead of two (plus an activity
 * task between them), and a fired timer notifies the next level in one task too. It is a few short
 * queries and a bounded Liquid render, well inside a local activity's budget; deliveries that leave the
 * worker (email, SMS, webhook) stay activities with their own retries.
 */
export const LOCAL_PREPARE_PATCH = 'escalation-prepare-notifications-locally';

/**
 * Notifies the current level (`round` counts the escalation's notifications, keying their rows): stores
 * one notification per (target, channel) and starts each delivery as its own activity with retries. Deliveries run in the background (collected in `deliveries`), so the
 * level's acknowledgement timer starts now, not after a slow mail server; a delivery that fails for good
 * is marked failed on its row.
 */
export async function notifyLevel(eventId: string, state: EscalationState, round: number, deliveries: Promise<unknown>[]) {
  const local = patched(LOCAL_PREPARE_PATCH) ? store : prepare;
  const prepared = await local.prepareNotifications.executeWithOptions(
    { summary: `render and store the notifications of level ${state.level + 1}, pass ${state.pass + 1}` },
    [{ eventId, level: state.level, pass: state.pass, round, nowMs: Date.now() }],
  );
  startDeliveries(prepared, deliveries, local);
  // What the level's timeline entry says about its notifications, as of when the level was told: the entry
  // is written once, so it carries no count that changes later (deliveries in flight: the event's
  // `deliveries` and `notifications` in the API).
  return {
    total: prepared.length,
    inApp: prepared.filter((n) => n.channel === 'in_app' && n.status === 'sent').length,
    undeliverable: prepared.filter((n) => n.status === 'failed').length,
  };
}

type Prepared = Awaited<ReturnType<Activities['prepareNotifications']>>;

/**
 * Starts the delivery activity of each notification still pending (in-app ones are stored as sent) and
 * collects it in `deliveries`; a delivery that fails for good is marked failed on its row through `local`.
 */
export function startDeliveries(prepared: Prepared, deliveries: Promise<unknown>[], local: Pick<typeof store, 'markNotificationFailed'> = store): void {
  for (const n of prepared.filter((p) => p.status === 'pending')) {
    deliveries.push(
      delivery.deliverNotification.executeWithOptions({ summary: `deliver ${n.channel} notification ${n.notificationId}` }, [{ notificationId: n.notificationId }]).catch(async (err: unknown) => {
        if (!(err instanceof ActivityFailure)) throw err;
        await local.markNotificationFailed.executeWithOptions({ summary: `mark notification ${n.notificationId} failed` }, [{ notificationId: n.notificationId, error: failureMessage(err) }]);
      }),
    );
  }
}
