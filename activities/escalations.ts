import { activityInfo, ApplicationFailure, Context } from '@temporalio/activity';
import type { Db } from '../src/db/client.js';
import { DeliveryError, type Deliverer } from '../src/escalations/notifications/deliverer.js';
import { deliverStoredNotification, markNotificationFailed } from '../src/escalations/notifications/send-notification.js';
import { escalateTurn, type TurnFacts } from '../src/escalations/rules/deviation-checks.js';
import * as lifecycle from '../src/escalations/events/event-lifecycle.js';
import { findEventById } from '../src/escalations/events/event-store.js';
import { poolOf } from '../src/escalations/driver.js';
import { beginEscalationAndNotify } from '../src/escalations/events/first-step.js';
import { baseVariables, prepareNotifications, type LinkSettings } from '../src/escalations/notifications/prepare-notifications.js';
import { checkThreshold, runScheduledCheck } from '../src/escalations/rules/rule-run-checks.js';
import { renderTemplate } from '../src/escalations/notifications/template-render.js';
import type { EscalationMetrics } from '../src/prometheus/worker-metrics.js';
import { escalationFailureTypes, type EscalationSnapshot } from '../workflows/contracts/index.js';

export interface EscalationActivityDeps {
  db: Db;
  deliverer: Deliverer;
  links: LinkSettings;
  /** Escalations opened, acknowledged and exhausted, for Prometheus; absent: not counted. */
  metrics?: EscalationMetrics;
}

const workflowIdOfActivity = () => activityInfo().workflowExecution?.workflowId ?? '';


export function createEscalationActivities(deps: EscalationActivityDeps) {
  const { db } = deps;
  /** Counts the escalation opened once its first step is in (a completed local activity is not run again on replay). */
  const opening = async <T>(begin: () => Promise<T>): Promise<T> => {
    try {
      const begun = await begin();
      deps.metrics?.escalation('opened');
      return begun;
    } catch (err) {
      if (err instanceof lifecycle.EscalationNotFoundError) {
        throw ApplicationFailure.create({ type: escalationFailureTypes.eventMissing, message: err.message, nonRetryable: true });
      }
      throw err;
    }
  };
  return {
    /** Deviation rules after a turn: marks the turn escalated and opens one event per firing rule. */
    async escalateTurn(facts: TurnFacts) {
      return escalateTurn(db, facts);
    },

    async beginEscalation(p: { eventId: string }) {
      return opening(() => lifecycle.beginEscalation(db, { eventId: p.eventId, workflowId: workflowIdOfActivity() }));
    },

    /** The first step in one local activity and transaction: begin, and notify level 1 when the action is notify. */
    async beginEscalationAndNotify(p: { eventId: string }) {
      return opening(() => beginEscalationAndNotify(db, deps.links, { eventId: p.eventId, workflowId: workflowIdOfActivity(), nowMs: Date.now() }));
    },

    async recordEscalationChange(change: lifecycle.EscalationChange) {
      const written = await lifecycle.recordEscalationChange(db, change);
      if (written && (change.kind === 'acknowledged' || change.kind === 'exhausted')) deps.metrics?.escalation(change.kind);
    },

    async pauseAgent(p: { agentId: string }) {
      return lifecycle.pauseAgent(db, p.agentId);
    },

    /** execute_workflow: renders the task input (Liquid, same variables as notifications) and creates the task row. */
    async createFollowUpTask(p: { eventId: string }) {
      const event = await findEventById(db, p.eventId);
      if (!event) throw ApplicationFailure.create({ type: escalationFailureTypes.eventMissing, message: `event ${p.eventId} is gone`, nonRetryable: true });
      const snapshot = event.policySnapshot as unknown as EscalationSnapshot;
      const config = snapshot.actionConfig!;
      const vars = await baseVariables(poolOf(db), event, snapshot, 0, 0);
      const { body } = await renderTemplate({ body: config.input }, { ...vars, recipient: { id: '', name: null, email: null }, links: { acknowledge: null, resolve: null } });
      const agentId = config.agentId ?? event.agentId;
      const task = await lifecycle.createFollowUpTask(db, { eventId: event.id, projectId: event.projectId, agentId, input: body, priority: config.priority });
      return { ...task, agentId, projectId: event.projectId, input: body, priority: config.priority };
    },

    async prepareNotifications(p: { eventId: string; level: number; pass: number; round: number; nowMs: number }) {
      return prepareNotifications(poolOf(db), deps.links, p);
    },

    /** Sends one stored notification; permanent failures are not retried, 429/503 wait for Retry-After. */
    async deliverNotification(p: { notificationId: string }) {
      try {
        return await deliverStoredNotification(db, deps.deliverer, p.notificationId, Context.current().cancellationSignal);
      } catch (err) {
        if (!(err instanceof DeliveryError)) throw err;
        throw ApplicationFailure.create({
          type: err.retryable ? escalationFailureTypes.notificationFailed : escalationFailureTypes.notificationRejected,
          message: err.message,
          nonRetryable: !err.retryable,
          ...(err.retryAfterMs ? { nextRetryDelay: err.retryAfterMs } : {}),
        });
      }
    },

    async markNotificationFailed(p: { notificationId: string; error: string }) {
      await markNotificationFailed(db, p.notificationId, p.error);
    },

    async checkThreshold(p: { ruleId: string; tickMs: number; cooldownUntilMs: number }) {
      return checkThreshold(db, p);
    },

    async runScheduledCheck(p: { ruleId: string; runId: string; nowMs: number }) {
      return runScheduledCheck(db, p);
    },
  };
}
