import type { Request, RequestHandler } from 'express';
import { Histogram, type Registry } from 'prom-client';

/** Requests no route matched (404s, scanners): one series, never their URLs. */
const UNMATCHED = 'unmatched';

/**
 * Times every request by method, route template (`/v1/agents/:id`, never the URL, so ids and query strings stay
 * out) and status. Mounted first; a request is observed when its response closes, sent or cut off.
 */
export function httpMetrics(registry: Registry): RequestHandler {
  const duration = new Histogram({
    name: 'smart_agents_http_request_duration_seconds',
    help: 'Gateway HTTP requests by method, route template and status',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return (req, res, next) => {
    const end = duration.startTimer();
    const route = routeTemplate(req);
    res.once('close', () => end({ method: req.method, route: route() ?? UNMATCHED, status_code: res.statusCode }));
    next();
  };
}

/**
 * The matched route's template with the prefix it was mounted under, read when Express matches it: the router
 * sets `req.route` then, while `req.baseUrl` is still that mount (`/v1`); by the time the response closes, an
 * error passed to the app's handler has reset `baseUrl`. Mounts here are fixed prefixes, never parameters.
 */
function routeTemplate(req: Request): () => string | undefined {
  let template: string | undefined;
  let route: unknown;
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: () => route,
    set: (value: { path?: unknown } | undefined) => {
      route = value;
      if (value && typeof value.path === 'string') template = req.baseUrl + value.path;
    },
  });
  return () => template;
}
