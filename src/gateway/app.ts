import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import { registerAgentResumeRoute } from './agents/resume.js';
import { registerAgentRoutes } from './agents/routes.js';
import { registerCodecRoutes } from './codec/routes.js';
import { registerApiKeyRoutes } from './tenancy/api-keys.js';
import { authenticate } from './auth.js';
import { registerConversationRoutes } from './conversations/routes.js';
import { registerTurnControlRoutes } from './conversations/turn-control-routes.js';
import { registerTurnEventRoutes } from './conversations/event-routes.js';
import { registerKnowledgeAssignmentRoutes } from './knowledge/assignments.js';
import { registerKnowledgeRoutes } from './knowledge/routes.js';
import { registerIntegrationRoutes } from './tools/integrations.js';
import { registerEscalationRoutes } from './escalations/event-routes.js';
import { registerEscalationLinkRoutes } from './escalations/link-routes.js';
import { registerEscalationRuleRoutes } from './escalations/rule-routes.js';
import { registerEscalationTemplateRoutes } from './escalations/template-routes.js';
import { registerUserRoutes } from './tenancy/users.js';
import { registerMetricRoutes } from './metrics/routes.js';
import { registerPlanRoutes } from './tenancy/plans.js';
import { registerTaskRoutes } from './tasks/routes.js';
import { registerAssignmentRoutes } from './tools/assignments.js';
import { registerToolRoutes } from './tools/routes.js';
import { registerWebhookRoutes } from './webhooks/routes.js';
import { registerOpenAiRoutes } from './openai/routes.js';
import { serializeError } from '../logger.js';
import { mountGatewayMetrics } from '../prometheus/gateway-metrics.js';
import { pingDatabase } from '../db/client.js';
import type { GatewayDeps } from './deps.js';
import { errorHandler } from './error-handler.js';
import { buildOpenApiDocument, createRegistry } from './openapi.js';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,100}$/;

/** Builds the gateway. Listening, connecting and shutdown belong to the entry point (`src/server.ts`). */
export function createApp(deps: GatewayDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  // First, so every request is timed; `GET /metrics` sits at the root like /healthz, outside /v1 and the API document.
  mountGatewayMetrics(app, deps, deps.metrics);
  app.use(
    pinoHttp({
      logger: deps.logger,
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      // Only method and path: headers (Authorization) and bodies (user messages) stay out of the logs.
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
        err: serializeError,
      },
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/metrics' },
    }),
  );
  const registry = createRegistry();
  // Before the API's 1 MB JSON parser: codec batches have a limit of their own.
  registerCodecRoutes(app, registry, deps);
  app.use(express.json({ limit: '1mb' }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const checks = await readiness(deps);
    const ok = Object.values(checks).every((v) => v === 'ok');
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not_ready', checks });
  });

  // Acknowledge/resolve links from notifications: authenticated by their signed token, not an API key.
  registerEscalationLinkRoutes(app, deps);

  // OpenAI-compatible routes first: their own auth and OpenAI-shaped errors (every other /v1 route keeps ours).
  registerOpenAiRoutes(app, registry, deps);
  const v1 = express.Router();
  v1.use(authenticate(deps.db, deps.logger));
  const ctx = { router: v1, registry, deps };
  registerApiKeyRoutes(ctx);
  registerAgentRoutes(ctx);
  registerAgentResumeRoute(ctx);
  registerConversationRoutes(ctx);
  registerTurnControlRoutes(ctx);
  registerTurnEventRoutes(ctx);
  registerToolRoutes(ctx);
  registerAssignmentRoutes(ctx);
  registerKnowledgeRoutes(ctx);
  registerKnowledgeAssignmentRoutes(ctx);
  registerTaskRoutes(ctx);
  registerMetricRoutes(ctx);
  registerPlanRoutes(ctx);
  registerIntegrationRoutes(ctx);
  registerUserRoutes(ctx);
  registerEscalationTemplateRoutes(ctx);
  registerEscalationRuleRoutes(ctx);
  registerEscalationRoutes(ctx);
  registerWebhookRoutes(ctx);
  const openapi = buildOpenApiDocument(registry);
  app.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  app.use('/v1', v1);

  app.use((req, res) => {
    res.status(404).json({ error: { code: 'not_found', message: `no route for ${req.method} ${req.path}` } });
  });
  app.use(errorHandler(deps.logger));
  return app;
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function readiness(deps: GatewayDeps): Promise<Record<string, string>> {
  const check = async (fn: () => Promise<unknown>) => {
    try {
      await withTimeout(fn(), 2000);
      return 'ok';
    } catch (err) {
      return err instanceof Error ? err.message : 'failed';
    }
  };
  const [postgres, temporal] = await Promise.all([
    check(() => pingDatabase(deps.db)),
    check(() => deps.temporal.connection.workflowService.getSystemInfo({})),
  ]);
  return { postgres, temporal, ...(deps.checkReady ? await deps.checkReady() : {}) };
}
