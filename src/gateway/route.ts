import type { OpenAPIRegistry, RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { Request, Response, Router } from 'express';
import type { z } from 'zod';
import { hasPermission, type AuthContext, type Permission } from '../tenancy/api-keys.js';
import { ForbiddenError, UnauthorizedError, ValidationError } from '../errors.js';
import { errorResponseSchema } from './openapi.js';
import { findUnsafeText } from './text-safety.js';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type AnyObject = z.ZodObject<z.ZodRawShape>;

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Writes the answer itself (Server-Sent Events) instead of `body`; the route awaits it. */
  stream?: (res: Response) => Promise<void>;
}

export interface HandlerContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  auth: AuthContext;
  req: Request;
}

export interface RouteSpec<P extends AnyObject, Q extends AnyObject, B extends z.ZodType> {
  method: Method;
  path: string;
  tag: string;
  summary: string;
  /** The client method name; derived from method and path when left out (see operation-ids.ts). */
  operationId?: string;
  permission: Permission;
  params?: P;
  query?: Q;
  body?: B;
  /** Extra documented headers (e.g. Idempotency-Key). */
  headers?: AnyObject;
  /** `eventStream`: the schema of each SSE `data:` line, for answers that can be `text/event-stream`. */
  responses: Record<number, { description: string; schema?: z.ZodType; eventStream?: z.ZodType }>;
  handler: (ctx: HandlerContext<z.infer<P>, z.infer<Q>, z.infer<B>>) => Promise<Reply>;
}

function toOpenApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/**
 * Validates one part of a request (`params`, `query`, `body`, or the fields of a multipart form) against its
 * schema, after checking that Postgres can store every string in it; errors name the field.
 */
export function parseRequestPart<T extends z.ZodType>(schema: T | undefined, value: unknown, where: string): z.infer<T> {
  if (!schema) return {} as z.infer<T>;
  // Before the schema: whatever a field's type, Postgres must be able to store every string in it.
  const unsafe = findUnsafeText(value, where);
  if (unsafe) throw new ValidationError(`invalid request: ${unsafe.field}: ${unsafe.message}`, [unsafe]);
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues.map((i) => ({ field: [where, ...i.path].join('.'), message: i.message }));
  const summary = details.map((d) => `${d.field}: ${d.message}`).join('; ');
  throw new ValidationError(`invalid request: ${summary}`, details);
}

/**
 * Declares one route: the zod schemas validate the request (and replace `req.params/query/body` with the
 * parsed values), check the permission, and document the route in the OpenAPI registry, from one spec.
 */
export function defineRoute<P extends AnyObject, Q extends AnyObject, B extends z.ZodType>(
  router: Router,
  registry: OpenAPIRegistry,
  spec: RouteSpec<P, Q, B>,
): void {
  const responses: RouteConfig['responses'] = {};
  for (const [status, r] of Object.entries(spec.responses)) {
    const content = {
      ...(r.schema ? { 'application/json': { schema: r.schema } } : {}),
      ...(r.eventStream ? { 'text/event-stream': { schema: r.eventStream } } : {}),
    };
    responses[status] = Object.keys(content).length > 0 ? { description: r.description, content } : { description: r.description };
  }
  for (const status of ['400', '401', '403', '404']) {
    responses[status] ??= { description: 'Error', content: { 'application/json': { schema: errorResponseSchema } } };
  }
  registry.registerPath({
    method: spec.method,
    path: toOpenApiPath(spec.path),
    tags: [spec.tag],
    ...(spec.operationId ? { operationId: spec.operationId } : {}),
    summary: spec.summary,
    description: `Requires the \`${spec.permission}\` permission.`,
    request: {
      params: spec.params,
      query: spec.query,
      headers: spec.headers,
      body: spec.body ? { content: { 'application/json': { schema: spec.body } }, required: true } : undefined,
    },
    responses,
  });

  // The router is mounted at /v1; the spec keeps the full path for the OpenAPI document.
  router[spec.method](spec.path.replace(/^\/v1/, ''), async (req: Request, res: Response) => {
    const auth = req.auth;
    if (!auth) throw new UnauthorizedError();
    if (!hasPermission(auth, spec.permission)) throw new ForbiddenError(spec.permission);
    const params = parseRequestPart(spec.params, req.params, 'params');
    const query = parseRequestPart(spec.query, req.query, 'query');
    const body = parseRequestPart(spec.body, req.body, 'body');
    // Express 5 exposes req.query through a getter; define the parsed value in its place.
    Object.defineProperty(req, 'query', { value: query, writable: true, configurable: true });
    req.params = params as Request['params'];
    req.body = body;
    const reply = await spec.handler({ params, query, body, auth, req });
    if (reply.stream) return reply.stream(res);
    for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
    if (reply.body === undefined) res.status(reply.status).end();
    else res.status(reply.status).json(reply.body);
  });
}
