// The OpenAI-compatible API (issue 13): /v1/models, /v1/chat/completions, /v1/responses, answered in OpenAI's
// shapes and errors, each request a turn of the same conversation workflow as our own messages endpoint.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import express, { type Express } from 'express';
import type { GatewayDeps } from '../deps.js';
import { openAiAuth } from './auth.js';
import { chatCompletionsHandler } from './chat-completions.js';
import { openAiErrorHandler } from './errors.js';
import { listModelsHandler, retrieveModelHandler } from './models.js';
import { documentOpenAiRoutes } from './openapi.js';
import { cancelResponseHandler, createResponseHandler, retrieveResponseHandler } from './responses.js';

const OPENAI_PATHS = /^\/v1\/(models(\/[^/]+)?|chat\/completions|responses(\/[^/]+(\/cancel)?)?)\/?$/;

/** True for the paths this API serves: their errors are OpenAI-shaped, every other path keeps ours. */
export const isOpenAiPath = (path: string) => OPENAI_PATHS.test(path);

/** Mounts the routes (before the house `/v1` router) and their error handler; documents them in `registry`. */
export function registerOpenAiRoutes(app: Express, registry: OpenAPIRegistry, deps: GatewayDeps): void {
  const router = express.Router();
  const send = openAiAuth(deps.db, deps.logger, ['conversations:write']);
  // Listing models needs no more than reading agents, or the permission to talk to them.
  const read = openAiAuth(deps.db, deps.logger, ['agents:read', 'conversations:write']);
  const readTurns = openAiAuth(deps.db, deps.logger, ['conversations:read', 'conversations:write']);
  router.get('/models', read, listModelsHandler(deps));
  router.get('/models/:id', read, retrieveModelHandler(deps));
  router.post('/chat/completions', send, chatCompletionsHandler(deps));
  router.post('/responses', send, createResponseHandler(deps));
  router.get('/responses/:id', readTurns, retrieveResponseHandler(deps));
  router.post('/responses/:id/cancel', send, cancelResponseHandler(deps));
  app.use('/v1', router);
  app.use(openAiErrorHandler(deps.logger, isOpenAiPath));
  documentOpenAiRoutes(registry);
}
