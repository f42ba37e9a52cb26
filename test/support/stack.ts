import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client, ClientInterceptors } from '@temporalio/client';
import { DefaultLogger, Runtime, type WorkerOptions } from '@temporalio/worker';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../src/config';
import { createDb, type DbHandle } from '../../src/db/client';
import { createApp } from '../../src/gateway/app';
import { createTurnStreams, type TurnStreamTimings } from '../../src/gateway/conversations/turn-stream';
import { createGatewayServer } from '../../src/gateway/http-server';
import { embeddingsFromConfig } from '../../src/knowledge/embeddings';
import type { LlmClient } from '../../src/llm/client';
import { createLogger } from '../../src/logger';
import { createApiKey } from '../../src/tenancy/api-keys-store';
import { createProject } from '../../src/tenancy/projects-store';
import { createWorkerRuntime } from '../../src/worker-runtime';
import { parseKeyring } from '../../src/tools/credentials';
import { connectTemporalClient } from '../../src/temporal/client';
import { payloadCodecFromConfig } from '../../src/temporal/data-converter';
import { TEST_PAYLOAD_KEYS } from './payload-keys';
import { createNetGuard } from '../../src/net/net-guard';
import type { Tracing } from '../../src/telemetry/tracing';

/** Every worker log entry of this test file (warnings and up), for tests that check what never gets logged. */
export const workerLogs: string[] = [];
// Worker lifecycle chatter hides test output; warnings and errors still show.
Runtime.install({
  logger: new DefaultLogger('WARN', (entry) => {
    const line = `${entry.level} ${entry.message} ${JSON.stringify(entry.meta ?? {}, (_k, v: unknown) => (v instanceof Error ? `${v.message}\n${v.stack}` : v))}`;
    workerLogs.push(line);
    console.error(line);
  }),
});

type WrapActivities = NonNullable<NonNullable<Parameters<typeof createWorkerRuntime>[2]>['wrapActivities']>;

/** Config for one test file: the run's database and Temporal server, and a task queue of its own. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    DATABASE_URL: inject('databaseUrl'),
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: `test-${randomUUID()}`,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    OPENAI_API_KEY: 'sk-test-not-a-real-key',
    // A fixed test key: tests may see ciphertext made with it, never a production secret.
    TOOL_CREDENTIALS_KEYS: 'test:' + Buffer.alloc(32, 7).toString('base64'),
    // Histories are encrypted in tests as in production (src/temporal/data-converter.ts).
    TEMPORAL_PAYLOAD_KEYS: TEST_PAYLOAD_KEYS,
    SHUTDOWN_GRACE_MS: '2000',
    // Workers spawned from src/worker.ts would otherwise dispatch the webhook deliveries of every test file
    // in the run onto their own queue and allow-list; the webhook tests run a dispatcher of their own.
    WEBHOOK_DISPATCH: 'off',
    ...overrides,
  });
}

export function testDb(config: Config, options: { max?: number } = {}): DbHandle {
  return createDb(config.DATABASE_URL, { max: options.max ?? 5, appName: 'smart-agents-test' });
}

export interface RunningWorker {
  stop: () => Promise<void>;
}

/** A real worker on the test's task queue, with the prebuilt workflow bundle and the real wiring. */
export async function startWorker(
  config: Config,
  db: DbHandle,
  overrides: { llm?: LlmClient; activities?: WrapActivities; worker?: Partial<WorkerOptions>; tracing?: Tracing } = {},
): Promise<RunningWorker> {
  const runtime = await createWorkerRuntime(config, db.db, {
    llm: overrides.llm,
    wrapActivities: overrides.activities,
    tracing: overrides.tracing,
    // The prebuilt bundle has no tracing interceptors: with tracing the worker bundles the workflows itself.
    worker: { ...(overrides.tracing ? {} : { workflowBundle: { codePath: inject('workflowBundlePath') } }), ...overrides.worker },
  });
  const running = runtime.worker.run();
  return {
    stop: async () => {
      if (runtime.worker.getState() === 'RUNNING') runtime.worker.shutdown();
      await running;
      await runtime.close();
    },
  };
}

/** The product's own client (src/temporal/client.ts): with the payload codec, as the gateway's. */
export async function temporalClient(config: Config, interceptors?: ClientInterceptors): Promise<{ client: Client; close: () => Promise<void> }> {
  const { client, connection } = await connectTemporalClient(config, interceptors);
  return { client, close: () => connection.close() };
}

/** A listening gateway on a free port with the real app. */
export async function startGateway(
  config: Config,
  db: DbHandle,
  client: Client,
  logger = createLogger(config.LOG_LEVEL),
  streamTimings: Partial<TurnStreamTimings> = {},
) {
  const streams = createTurnStreams(db.sql, logger, config, streamTimings);
  const app = createApp({
    db: db.db,
    temporal: client,
    logger,
    streams,
    keyring: parseKeyring(config.TOOL_CREDENTIALS_KEYS, config.TOOL_CREDENTIALS_KEY_ID),
    netGuard: createNetGuard({ allow: config.TOOL_NETWORK_ALLOWLIST }),
    embeddings: embeddingsFromConfig(config),
    codec: { payloadCodec: payloadCodecFromConfig(config), namespace: config.TEMPORAL_NAMESPACE, uiOrigins: config.TEMPORAL_UI_ORIGIN, trustLocalUi: config.TEMPORAL_CODEC_TRUST_LOCAL_UI },
    settings: {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      turnWaitMs: config.TURN_WAIT_MS,
      escalationLinks: { linkSecret: config.ESCALATION_LINK_SECRET ?? null, publicBaseUrl: config.PUBLIC_BASE_URL, ttlSeconds: config.ESCALATION_LINK_TTL_SECONDS },
    },
  });
  const server: Server = await new Promise((resolve) => {
    const s = createGatewayServer(app).listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      // As src/server.ts on SIGTERM: the hub first (streams and waiting requests end and answer), then the
      // server stops accepting and closes idle sockets; what is still open after a grace is cut.
      await streams.hub.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 5_000).unref();
      });
    },
  };
}

/** A project of its own for each test, with an admin key and optionally narrower keys. */
export async function testProject(db: DbHandle, name = 'test') {
  const created = await createProject(db.db, { name, slug: `${name}-${randomUUID()}` });
  return {
    projectId: created.project.id,
    adminKey: created.apiKey,
    key: async (permissions: string[], expiresAt?: Date) =>
      (await createApiKey(db.db, created.project.id, { name: 'test key', permissions, expiresAt })).plaintext,
  };
}

export interface Stack {
  config: Config;
  db: DbHandle;
  temporal: Awaited<ReturnType<typeof temporalClient>>;
  worker: RunningWorker;
  gateway: Awaited<ReturnType<typeof startGateway>>;
  stop: () => Promise<void>;
}

/**
 * The whole product for an end-to-end test file: its own task queue, a real worker and a listening
 * gateway on this run's Temporal server and database. `stop` takes it down in reverse order.
 */
export async function startStack(
  env: Record<string, string> = {},
  workerOverrides: Parameters<typeof startWorker>[2] = {},
): Promise<Stack> {
  const config = testConfig(env);
  const db = testDb(config);
  const temporal = await temporalClient(config);
  const worker = await startWorker(config, db, workerOverrides);
  const gateway = await startGateway(config, db, temporal.client);
  return {
    config, db, temporal, worker, gateway,
    stop: async () => {
      await gateway.close();
      await worker.stop();
      await temporal.close();
      await db.close();
    },
  };
}
