import type { Server } from 'node:http';
import { loadConfig } from './config.js';
import { createDb } from './db/client.js';
import { createApp } from './gateway/app.js';
import { createTurnStreams } from './gateway/conversations/turn-stream.js';
import { createGatewayServer } from './gateway/http-server.js';
import { embeddingsFromConfig } from './knowledge/embeddings.js';
import { createLogger, resolveLogFormat } from './logger.js';
import { installProcessGuards } from './process-guards.js';
import { connectTemporalClient } from './temporal/client.js';
import { payloadCodecFromConfig } from './temporal/data-converter.js';
import { parseKeyring } from './tools/credentials.js';
import { createNetGuard } from './net/net-guard.js';
import { startTracingFromConfig } from './telemetry/tracing.js';

/** Gateway entry: the one place that connects, listens and shuts down. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, { service: 'gateway' }, undefined, resolveLogFormat(config.LOG_FORMAT));
  const dbHandle = createDb(config.DATABASE_URL, { max: config.DATABASE_POOL_MAX, appName: 'smart-agents-gateway' });
  // Without payload keys (and encryption not turned off) the gateway stops here; the codec endpoint uses the same keys.
  const payloadCodec = payloadCodecFromConfig(config);
  // Before the server exists, so its requests get spans; null (nothing loaded) without an OTLP endpoint.
  const tracing = await startTracingFromConfig(config, 'smart-agents-gateway');
  const { client: temporal, connection } = await connectTemporalClient(config, tracing?.clientInterceptors);
  const streams = createTurnStreams(dbHandle.sql, logger, config);
  const app = createApp({
    db: dbHandle.db,
    temporal,
    logger,
    streams,
    keyring: parseKeyring(config.TOOL_CREDENTIALS_KEYS, config.TOOL_CREDENTIALS_KEY_ID),
    netGuard: createNetGuard({ allow: config.TOOL_NETWORK_ALLOWLIST }),
    embeddings: embeddingsFromConfig(config),
    metrics: { token: config.METRICS_TOKEN },
    codec: { payloadCodec, namespace: config.TEMPORAL_NAMESPACE, uiOrigins: config.TEMPORAL_UI_ORIGIN, trustLocalUi: config.TEMPORAL_CODEC_TRUST_LOCAL_UI },
    settings: {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      turnWaitMs: config.TURN_WAIT_MS,
      escalationLinks: { linkSecret: config.ESCALATION_LINK_SECRET ?? null, publicBaseUrl: config.PUBLIC_BASE_URL, ttlSeconds: config.ESCALATION_LINK_TTL_SECONDS },
    },
  });
  const server: Server = createGatewayServer(app).listen(config.PORT, config.HOST, () => {
    logger.info({ port: config.PORT, host: config.HOST }, 'gateway listening');
  });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'gateway stopping: finishing in-flight requests');
    const force = setTimeout(() => process.exit(1), config.SHUTDOWN_GRACE_MS).unref();
    server.close(async () => {
      server.closeAllConnections();
      await Promise.allSettled([connection.close(), dbHandle.close(), tracing?.shutdown()]);
      clearTimeout(force);
      logger.info('gateway stopped');
      process.exit(0);
    });
    server.closeIdleConnections();
    // Open event streams end now (their clients resume elsewhere with Last-Event-ID) instead of holding the close.
    void streams.hub.close();
  };
  installProcessGuards(logger, 'gateway');
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  console.error('gateway failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
