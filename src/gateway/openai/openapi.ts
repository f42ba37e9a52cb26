import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from '../../zod.js';
import { chatCompletionBody } from '../../openai-compat/chat.js';
import { createResponseBody } from '../../openai-compat/responses.js';

const openAiError = z
  .object({ error: z.object({ message: z.string(), type: z.string(), code: z.string().nullable(), param: z.string().nullable() }) })
  .openapi('OpenAiError');

const json = (description: string) => ({ description, content: { 'application/json': { schema: z.looseObject({}) } } });
const errors = Object.fromEntries(
  ['400', '401', '403', '404', '409', '429', '500', '503'].map((s) => [s, { description: 'OpenAI-shaped error', content: { 'application/json': { schema: openAiError } } }]),
);
const tags = ['OpenAI-compatible'];
const description = 'OpenAI-compatible (see README). Bearer API key with `conversations:write`; errors in OpenAI\'s shape.';
const id = z.object({ id: z.string() });

/** Documents the OpenAI-compatible routes; their bodies are OpenAI's, so the schemas are loose on purpose. */
export function documentOpenAiRoutes(registry: OpenAPIRegistry): void {
  registry.registerPath({ method: 'get', path: '/v1/models', tags, summary: 'Active agents as models', description: 'Needs `agents:read` or `conversations:write`.', responses: { 200: json('A list of models'), ...errors } });
  registry.registerPath({ method: 'get', path: '/v1/models/{id}', tags, summary: 'One agent as a model (`agent-<id>` or the agent id)', description, request: { params: id }, responses: { 200: json('The model'), ...errors } });
  registry.registerPath({
    method: 'post', path: '/v1/chat/completions', tags, summary: 'A turn as a chat completion (streamed with `stream: true`)', description,
    request: { body: { content: { 'application/json': { schema: chatCompletionBody } }, required: true } },
    responses: { 200: { description: '`chat.completion`, or `chat.completion.chunk` events', content: { 'application/json': { schema: z.looseObject({}) }, 'text/event-stream': { schema: z.looseObject({}) } } }, ...errors },
  });
  registry.registerPath({
    method: 'post', path: '/v1/responses', tags, summary: 'A turn as a response (streamed, waited for, or in the background)', description,
    request: { body: { content: { 'application/json': { schema: createResponseBody } }, required: true } },
    responses: { 200: { description: 'A `response`, or `response.*` events', content: { 'application/json': { schema: z.looseObject({}) }, 'text/event-stream': { schema: z.looseObject({}) } } }, ...errors },
  });
  registry.registerPath({ method: 'get', path: '/v1/responses/{id}', tags, summary: 'A response as it is now (poll background responses)', description, request: { params: id }, responses: { 200: json('The response'), ...errors } });
  registry.registerPath({ method: 'post', path: '/v1/responses/{id}/cancel', tags, summary: 'Cancel the turn of a response', description, request: { params: id }, responses: { 200: json('The response, cancelled'), ...errors } });
}
