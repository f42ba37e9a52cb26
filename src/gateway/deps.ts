import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { Client } from '@temporalio/client';
import type { Router } from 'express';
import type { Logger } from 'pino';
import type { Db } from '../db/client.js';
import type { EmbeddingsClient } from '../knowledge/embeddings.js';
import type { NetGuard } from '../net/net-guard.js';
import type { GatewayMetricsOptions } from '../prometheus/gateway-metrics.js';
import type { AesGcmPayloadCodec } from '../temporal/payload-codec.js';
import type { CredentialKeyring } from '../tools/credentials.js';
import type { TurnStreams } from './conversations/turn-stream.js';

/** What the gateway needs from the outside world; `createApp` receives it, nothing is imported globally. */
export interface GatewayDeps {
  db: Db;
  temporal: Client;
  logger: Logger;
  /** Seals tool credentials on write; null when TOOL_CREDENTIALS_KEYS is not configured. */
  keyring: CredentialKeyring | null;
  /** The outbound-address policy of tool calls (TOOL_NETWORK_ALLOWLIST), checked when a webhook URL is saved; absent = no exceptions. */
  netGuard?: NetGuard;
  /** Embeds search queries for hybrid ranking; absent when EMBEDDINGS_MODEL is not configured. */
  embeddings?: EmbeddingsClient;
  /** Live turns: the process's LISTEN hub and stream limits (see `createTurnStreams`). */
  streams: TurnStreams;
  settings: {
    taskQueue: string;
    /** How long `POST .../messages` waits for the turn before answering 202. */
    turnWaitMs: number;
    /** Signed acknowledge/resolve links in notifications; `linkSecret` null turns them off. */
    escalationLinks?: { linkSecret: string | null; publicBaseUrl: string; ttlSeconds: number };
  };
  /**
   * The codec endpoint (`/codec/*`): the payload codec (null with TEMPORAL_PAYLOAD_ENCRYPTION=off), the Temporal
   * UI origins it answers CORS for, and whether keyless requests from those origins over loopback count (npm start).
   */
  codec?: { payloadCodec: AesGcmPayloadCodec | null; namespace: string; uiOrigins: string[]; trustLocalUi: boolean };
  /** `GET /metrics`: METRICS_TOKEN and, for tests, the registry (see `mountGatewayMetrics`). */
  metrics?: GatewayMetricsOptions;
  /** Extra readiness checks (Postgres and Temporal by default). */
  checkReady?: () => Promise<Record<string, 'ok' | string>>;
}

export interface RouteContext {
  router: Router;
  registry: OpenAPIRegistry;
  deps: GatewayDeps;
}
