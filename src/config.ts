import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1');

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

/**
 * Every setting of the gateway and the worker, parsed once from the environment at the entry point and
 * passed down. Nothing imports this module to read config globally.
 */
export const configSchema = z.object({
  DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/smart_agents'),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),

  TEMPORAL_ADDRESS: z.string().min(1).default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('smart-agents'),
  TEMPORAL_TLS: bool,
  TEMPORAL_TLS_CERT_PATH: optionalString,
  TEMPORAL_TLS_KEY_PATH: optionalString,
  TEMPORAL_TLS_CA_PATH: optionalString,
  TEMPORAL_TLS_SERVER_NAME: optionalString,
  TEMPORAL_API_KEY: optionalString,
  /**
   * Payload encryption keys (`id:base64 of 32 bytes`, comma-separated, as TOOL_CREDENTIALS_KEYS): payloads are
   * sealed with TEMPORAL_PAYLOAD_KEY_ID (default: the last key) and open with any key listed. Required unless
   * TEMPORAL_PAYLOAD_ENCRYPTION=off: processes that talk to Temporal refuse to start without them.
   */
  TEMPORAL_PAYLOAD_KEYS: optionalString,
  TEMPORAL_PAYLOAD_KEY_ID: optionalString,
  TEMPORAL_PAYLOAD_ENCRYPTION: z.preprocess((v) => (v === '' ? undefined : v), z.enum(['on', 'off']).default('on')),
  /** Browser origins of the Temporal UI (comma-separated) allowed to call the codec endpoint (CORS). */
  TEMPORAL_UI_ORIGIN: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((e) => e.trim().replace(/\/+$/, '')).filter(Boolean)),
  /**
   * Development only (`npm start`): the codec endpoint answers a request without a key when it comes from
   * TEMPORAL_UI_ORIGIN over loopback, so the local dev server's UI (no sign-in) shows plaintext.
   */
  TEMPORAL_CODEC_TRUST_LOCAL_UI: bool,

  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: optionalString,
  OPENAI_MODEL: z.string().min(1).default('gpt-4o-mini'),
  LLM_TIMEOUT_MS: z.coerce.number().int().min(1000).default(120_000),
  /** Embeddings model for hybrid search (with the `vector` extension); unset keeps search full-text only. */
  EMBEDDINGS_MODEL: optionalString,
  /** Default to OPENAI_BASE_URL / OPENAI_API_KEY: set them when embeddings come from another endpoint. */
  EMBEDDINGS_BASE_URL: optionalString,
  EMBEDDINGS_API_KEY: optionalString,
  /** Sent as `dimensions` (models that can shorten their vectors); unset uses the model's own size. */
  EMBEDDINGS_DIMENSIONS: z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().int().min(1).max(16_000).optional()),

  TOOL_CREDENTIALS_KEYS: optionalString,
  TOOL_CREDENTIALS_KEY_ID: optionalString,
  TOOL_NETWORK_ALLOWLIST: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((e) => e.trim()).filter(Boolean)),

  /** Escalation e-mail: `smtp://user:pass@host:port` or `smtps://…`; without it e-mail deliveries fail (logged). */
  SMTP_URL: optionalString,
  SMTP_FROM: z.string().min(3).default('Smart Agents <escalations@localhost>'),
  /** An HTTP SMS gateway: POST JSON { to, body } with `Authorization: Bearer SMS_GATEWAY_TOKEN`. */
  SMS_GATEWAY_URL: optionalString,
  SMS_GATEWAY_TOKEN: optionalString,
  /** HMAC-SHA256 key for the `X-Signature` header of escalation webhooks. */
  ESCALATION_WEBHOOK_SECRET: optionalString,
  /** HMAC key of the acknowledge/resolve links in notifications; links are off without it. */
  ESCALATION_LINK_SECRET: optionalString,
  ESCALATION_LINK_TTL_SECONDS: z.coerce.number().int().min(60).max(30 * 24 * 3600).default(7 * 24 * 3600),
  /** Base URL people use to reach the gateway (for links in notifications). */
  PUBLIC_BASE_URL: z.string().url().default('http://localhost:3000'),
  /** Webhook deliveries: each attempt's deadline, then exponential backoff from the first interval up to the maximum, for at most so many attempts (the defaults span about a day). */
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  WEBHOOK_RETRY_INITIAL_MS: z.coerce.number().int().min(10).default(10_000),
  WEBHOOK_RETRY_MAX_INTERVAL_MS: z.coerce.number().int().min(10).default(3_600_000),
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(30),
  /** `off`: this worker process starts no webhook deliveries (another worker does; tests sharing one database). */
  WEBHOOK_DISPATCH: z.enum(['on', 'off']).default('on'),
  /** How often a worker starts pending deliveries that no NOTIFY dispatched (see src/webhooks/dispatcher.ts). */
  WEBHOOK_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).default(60_000),

  HOST: z.string().default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  TURN_WAIT_MS: z.coerce.number().int().min(0).max(120_000).default(20_000),
  /** Turn events (the streamed log of each turn) older than this are deleted by the workers; 0 keeps them forever. */
  TURN_EVENTS_RETENTION_DAYS: z.coerce.number().int().min(0).default(30),
  /** Open turn event streams (SSE) one gateway process serves, in all and per project; beyond, 429. */
  STREAM_MAX_PER_GATEWAY: z.coerce.number().int().min(1).default(1000),
  STREAM_MAX_PER_PROJECT: z.coerce.number().int().min(1).default(100),
  /** A comment line this often keeps proxies from closing an idle event stream. */
  STREAM_HEARTBEAT_MS: z.coerce.number().int().min(100).default(15_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `json` (one object a line) or `pretty` (pino-pretty); unset: pretty at a terminal outside NODE_ENV=production, else json. */
  LOG_FORMAT: z.preprocess((v) => (v === '' ? undefined : v), z.enum(['json', 'pretty']).optional()),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).default(100),
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().min(1).default(40),
  /** Workflows kept in memory; unset = the SDK's size from the heap limit. Escalations waiting on timers replay when evicted. */
  WORKER_MAX_CACHED_WORKFLOWS: z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().int().min(0).optional()),
  /**
   * The worker's `GET /metrics` port (its own metrics and the Temporal SDK's); unset: no port and no SDK exporter,
   * so workers sharing a host need no port each. `npm start` and docker-compose set 9464.
   */
  WORKER_METRICS_PORT: z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().int().min(0).max(65535).optional()),
  /** Set: `/metrics` (gateway and worker) needs `Authorization: Bearer METRICS_TOKEN`; unset: open. */
  METRICS_TOKEN: optionalString,
  /**
   * OpenTelemetry: traces are exported by OTLP (http/protobuf) when either is set (the exporter also reads the other
   * standard OTEL_EXPORTER_OTLP_* settings); unset: tracing is off and its SDK never loaded.
   */
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalString,
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optionalString,
});

export type Config = z.infer<typeof configSchema>;

/** Parses the environment; a bad value stops the process with every problem named at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  if (parsed.data.TEMPORAL_CODEC_TRUST_LOCAL_UI && env.NODE_ENV === 'production') {
    throw new Error('invalid configuration: TEMPORAL_CODEC_TRUST_LOCAL_UI is for development only (npm start); in production the codec endpoint takes an operator key or sits behind the UI\'s sign-on');
  }
  return parsed.data;
}
