import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import { inArray } from 'drizzle-orm';
import type { Logger } from 'pino';
import type postgres from 'postgres';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import { webhookDelivery } from '../db/schema/index.js';
import { searchAttributes, webhookDeliveryWorkflowId, type WebhookRetry, type Workflows } from '../../workflows/contracts/index.js';
import { undispatchedDeliveries } from './delivery-store.js';
import { WEBHOOK_DELIVERIES_CHANNEL } from './outbox.js';

export interface WebhookDispatcherOptions {
  db: Db;
  /** Its LISTEN runs on a dedicated connection of this pool. */
  sql: postgres.Sql;
  temporal: Client;
  taskQueue: string;
  logger: Logger;
  timeoutMs: number;
  retry: WebhookRetry;
  /** How often pending deliveries without an attempt are started again (a start Temporal refused, a missed NOTIFY). */
  sweepIntervalMs: number;
}

/** The dispatcher's settings from the config. */
export function webhookDispatchSettings(config: Config): Pick<WebhookDispatcherOptions, 'taskQueue' | 'timeoutMs' | 'retry' | 'sweepIntervalMs'> {
  return {
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    retry: { initialIntervalMs: config.WEBHOOK_RETRY_INITIAL_MS, maximumIntervalMs: config.WEBHOOK_RETRY_MAX_INTERVAL_MS, maximumAttempts: config.WEBHOOK_MAX_ATTEMPTS },
    sweepIntervalMs: config.WEBHOOK_SWEEP_INTERVAL_MS,
  };
}

export interface WebhookDispatcher {
  close(): Promise<void>;
}

/**
 * Starts one `runWebhookDelivery` workflow per delivery row: at once when the outbox's NOTIFY arrives, and
 * from a sweep of pending deliveries no attempt has touched yet, run whenever LISTEN (re)connects and every
 * `sweepIntervalMs`, so a NOTIFY missed while no worker listened is caught up. The workflow id is the
 * delivery's and a duplicate start is refused, so any number of workers may dispatch the same row.
 * The sweep is a local wake-up of this process, not a schedule of the product's: a Temporal Schedule would
 * need a workflow to start workflows for rows a NOTIFY already dispatches.
 */
export function startWebhookDispatcher(o: WebhookDispatcherOptions): WebhookDispatcher {
  let closed = false;
  let sweeping: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const start = async (d: { id: string; projectId: string; eventType: string }) => {
    try {
      await o.temporal.workflow.start<Workflows['runWebhookDelivery']>('runWebhookDelivery', {
        taskQueue: o.taskQueue,
        workflowId: webhookDeliveryWorkflowId(d.id),
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        args: [{ deliveryId: d.id, projectId: d.projectId, eventType: d.eventType, timeoutMs: o.timeoutMs, retry: o.retry }],
        typedSearchAttributes: [{ key: searchAttributes.projectId, value: d.projectId }],
        staticSummary: `Webhook ${d.eventType}`,
        staticDetails: `delivery ${d.id} · project ${d.projectId}`,
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return;
      o.logger.warn({ deliveryId: d.id, error: err instanceof Error ? err.message : String(err) }, 'webhook delivery not started; the sweep retries');
    }
  };

  const dispatch = async (ids: string[]) => {
    if (ids.length === 0 || closed) return;
    const rows = await o.db
      .select({ id: webhookDelivery.id, projectId: webhookDelivery.projectId, eventType: webhookDelivery.eventType })
      .from(webhookDelivery)
      .where(inArray(webhookDelivery.id, ids));
    await Promise.all(rows.map(start));
  };

  const sweep = () => {
    sweeping ??= (async () => {
      try {
        for (let round = 0; round < 10 && !closed; round++) {
          const rows = await undispatchedDeliveries(o.db, 200);
          await Promise.all(rows.map(start));
          if (rows.length < 200) break;
        }
      } catch (err) {
        o.logger.warn({ error: err instanceof Error ? err.message : String(err) }, 'webhook sweep failed; next one in a while');
      } finally {
        sweeping = undefined;
      }
    })();
    return sweeping;
  };

  const schedule = () => {
    if (closed) return;
    timer = setTimeout(() => void sweep().finally(schedule), o.sweepIntervalMs);
    timer.unref();
  };

  const ids = (payload: string) => payload.split(',').filter((id) => /^[0-9a-f-]{36}$/.test(id));
  const listening = o.sql
    .listen(WEBHOOK_DELIVERIES_CHANNEL, (payload) => {
      dispatch(ids(payload)).catch((err: unknown) => o.logger.warn({ error: err instanceof Error ? err.message : String(err) }, 'webhook dispatch failed; the sweep retries'));
    }, () => void sweep())
    .catch((err: unknown) => {
      o.logger.error({ error: err instanceof Error ? err.message : String(err) }, 'listening for webhook deliveries failed; only the sweep dispatches');
      return undefined;
    });
  schedule();

  return {
    async close() {
      closed = true;
      clearTimeout(timer);
      await (await listening)?.unlisten();
      await sweeping;
    },
  };
}
