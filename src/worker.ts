import { loadConfig } from './config.js';
import { createDb } from './db/client.js';
import { createLogger, resolveLogFormat } from './logger.js';
import { installProcessGuards } from './process-guards.js';
import { freeLoopbackAddress } from './prometheus/sdk-metrics.js';
import { serveWorkerMetrics } from './prometheus/worker-endpoint.js';
import { installTemporalLogger } from './temporal/logger.js';
import { startWebhookDispatcher, webhookDispatchSettings } from './webhooks/dispatcher.js';
import { startTracingFromConfig } from './telemetry/tracing.js';
import { createWorkerRuntime } from './worker-runtime.js';

/** Worker entry: builds real dependencies, runs until SIGINT/SIGTERM, then drains and exits. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, { service: 'worker' }, undefined, resolveLogFormat(config.LOG_FORMAT));
  installProcessGuards(logger, 'worker');
  // With WORKER_METRICS_PORT the SDK exports its metrics on loopback, and /metrics on that port appends them.
  const metricsPort = config.WORKER_METRICS_PORT;
  const sdkMetricsAddress = metricsPort === undefined ? undefined : await freeLoopbackAddress();
  installTemporalLogger(logger, sdkMetricsAddress);
  const dbHandle = createDb(config.DATABASE_URL, { max: config.DATABASE_POOL_MAX, appName: 'smart-agents-worker' });
  const tracing = await startTracingFromConfig(config, 'smart-agents-worker');
  const runtime = await createWorkerRuntime(config, dbHandle.db, {
    tracing,
    onToolListError: (tool, err) =>
      logger.warn({ tool, error: err instanceof Error ? err.message : String(err) }, 'MCP server could not be listed; its tools are left out of this turn'),
  });
  const metrics = metricsPort === undefined
    ? undefined
    : await serveWorkerMetrics({ registry: runtime.registry, sdkAddress: sdkMetricsAddress, port: metricsPort, host: config.HOST, token: config.METRICS_TOKEN, logger });
  // Webhook deliveries written by any process (outbox rows) become workflows on this worker's queue.
  const dispatcher =
    config.WEBHOOK_DISPATCH === 'on'
      ? startWebhookDispatcher({
          db: dbHandle.db, sql: dbHandle.sql, temporal: runtime.client, logger,
          ...webhookDispatchSettings(config),
        })
      : undefined;
  logger.info(
    { taskQueue: config.TEMPORAL_TASK_QUEUE, namespace: config.TEMPORAL_NAMESPACE, llm: config.OPENAI_BASE_URL ?? 'api.openai.com', metricsPort: metrics?.port },
    'worker running',
  );
  // Worker.run() installs SIGINT/SIGTERM handlers that stop polling and let running tasks finish.
  await runtime.worker.run();
  await dispatcher?.close();
  await metrics?.close();
  await runtime.close();
  await dbHandle.close();
  await tracing?.shutdown(); // exports the last batch of spans
  logger.info('worker stopped');
}

main().catch((err: unknown) => {
  console.error('worker failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
