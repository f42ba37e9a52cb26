import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Registry } from 'prom-client';
import { createActivities } from '../activities/index.js';
import type { Config } from './config.js';
import { startTurnEventsPruner } from './conversations/turn-events-retention.js';
import type { Db } from './db/client.js';
import { embeddingsFromConfig } from './knowledge/embeddings.js';
import { createLlmClient, type LlmClient } from './llm/client.js';
import { connectTemporalClient } from './temporal/client.js';
import { temporalConnectionOptions } from './temporal/connection.js';
import { dataConverterFromConfig } from './temporal/data-converter.js';
import { parseKeyring } from './tools/credentials.js';
import { expandMcpTools } from './tools/expand-mcp.js';
import { closeDatabasePools } from './tools/runners/database.js';
import { createToolRunners, type ToolRunners } from './tools/runners/index.js';
import { createDeliverer } from './escalations/notifications/deliverer.js';
import { createNetGuard } from './net/net-guard.js';
import { createMetricsRegistry } from './prometheus/registry.js';
import { createWorkerMetrics } from './prometheus/worker-metrics.js';
import type { Tracing } from './telemetry/tracing.js';

/** `workflows/index` next to this file's folder: `.js` when built into dist/, `.ts` when run from source. */
export const workflowsPath = ['.js', '.ts']
  .map((ext) => path.join(__dirname, '..', 'workflows', `index${ext}`))
  .find((candidate) => existsSync(candidate)) ?? path.join(__dirname, '..', 'workflows', 'index.ts');

export interface WorkerRuntime {
  worker: Worker;
  /** The runtime's Temporal client (closed by `close`), for whatever else the process starts workflows with. */
  client: Client;
  /** The worker's Prometheus registry (turns, model calls, tools, escalations, Node), served by the entry point. */
  registry: Registry;
  close: () => Promise<void>;
}

/**
 * Builds the real activity dependencies and a worker; shared by `src/worker.ts` and the tests so both run
 * the same wiring. `overrides` lets tests swap one dependency (e.g. the LLM base URL) or the workflow bundle.
 */
export async function createWorkerRuntime(
  config: Config,
  db: Db,
  overrides: {
    llm?: LlmClient;
    toolRunners?: ToolRunners;
    /** Told when an MCP server cannot be listed for a turn (its tools are then left out). */
    onToolListError?: (toolName: string, err: unknown) => void;
    /** Tests wrap activities to inject faults (e.g. fail after a write). */
    wrapActivities?: (activities: ReturnType<typeof createActivities>) => object;
    worker?: Partial<WorkerOptions>;
    /** The process's metrics registry; a new one when absent. */
    registry?: Registry;
    /** The process's tracing when it is on: its client and worker interceptors and the workflow span sink. */
    tracing?: Tracing | null;
  } = {},
): Promise<WorkerRuntime> {
  // First: without payload keys (and encryption not turned off) the worker stops here, before it connects.
  const dataConverter = dataConverterFromConfig(config);
  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  const { client, connection: clientConnection } = await connectTemporalClient(config, overrides.tracing?.clientInterceptors);
  const llm =
    overrides.llm ??
    createLlmClient({ apiKey: config.OPENAI_API_KEY, baseURL: config.OPENAI_BASE_URL, timeoutMs: config.LLM_TIMEOUT_MS });
  const keyring = parseKeyring(config.TOOL_CREDENTIALS_KEYS, config.TOOL_CREDENTIALS_KEY_ID);
  const toolkit = createToolRunners({ allowList: config.TOOL_NETWORK_ALLOWLIST, ownDatabaseUrl: config.DATABASE_URL });
  const guard = createNetGuard({ allow: config.TOOL_NETWORK_ALLOWLIST });
  const deliverer = createDeliverer({
    smtpUrl: config.SMTP_URL,
    smtpFrom: config.SMTP_FROM,
    smsGatewayUrl: config.SMS_GATEWAY_URL,
    smsGatewayToken: config.SMS_GATEWAY_TOKEN,
    webhookSecret: config.ESCALATION_WEBHOOK_SECRET,
    guard,
  });
  const registry = overrides.registry ?? createMetricsRegistry();
  const metrics = createWorkerMetrics(registry);
  const activities = createActivities({
    db,
    metrics: metrics.turns,
    tools: { db, keyring, runners: overrides.toolRunners ?? toolkit.runners, metrics: metrics.tools },
    fetchDocument: toolkit.fetchDocument,
    embeddings: embeddingsFromConfig(config),
    expandTools: (tools) =>
      expandMcpTools({ db, keyring, list: toolkit.listServerTools, onError: (name, err) => overrides.onToolListError?.(name, err) }, tools),
    llm,
    defaultModel: config.OPENAI_MODEL,
    escalations: {
      deliverer,
      links: { secret: config.ESCALATION_LINK_SECRET ?? null, publicBaseUrl: config.PUBLIC_BASE_URL, ttlSeconds: config.ESCALATION_LINK_TTL_SECONDS },
      metrics: metrics.escalations,
    },
    webhooks: { guard, keyring },
    awaitWorkflowClosed: async (workflowId) => {
      await client.workflow
        .getHandle(workflowId)
        .result()
        .catch(() => undefined); // a failed previous turn still frees the conversation
    },
  });
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    dataConverter,
    ...(overrides.worker?.workflowBundle ? {} : { workflowsPath }),
    activities: overrides.wrapActivities ? overrides.wrapActivities(activities) : activities,
    maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
    maxConcurrentWorkflowTaskExecutions: config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
    ...(config.WORKER_MAX_CACHED_WORKFLOWS !== undefined ? { maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS } : {}),
    shutdownGraceTime: `${config.SHUTDOWN_GRACE_MS} ms`,
    // A heartbeat's answer is how a running activity learns it was canceled (a canceled turn's model or
    // tool call): send one at least every second instead of every 0.8 × heartbeat timeout.
    maxHeartbeatThrottleInterval: '1 second',
    ...overrides.tracing?.workerOptions,
    ...overrides.worker,
  });
  // Every worker runs the pruner; an advisory lock lets one of them prune (see turn-events-retention.ts).
  const log = Runtime.instance().logger;
  const pruner = startTurnEventsPruner(db, {
    retentionDays: config.TURN_EVENTS_RETENTION_DAYS,
    onPass: (outcome) => log.info('turn events pruned', { ...outcome, retentionDays: config.TURN_EVENTS_RETENTION_DAYS }),
    onError: (err) => log.warn('turn event pruning failed; the next pass tries again', { error: err instanceof Error ? err.message : String(err) }),
  });
  return {
    worker,
    client,
    registry,
    close: async () => {
      await pruner.stop();
      await Promise.allSettled([connection.close(), clientConnection.close(), closeDatabasePools(), deliverer.close()]);
    },
  };
}
