import { createServer, type RequestListener, type Server } from 'node:http';
import { activeTraceId } from '../telemetry/trace-id.js';

/** How long a client may take over a request; one set of values for the entry and the tests. */
export interface ServerLimits {
  /** The whole request, body included. Node's default (5 min) let stalled uploads hold their buffers. */
  requestTimeoutMs: number;
  /** The request line and headers. */
  headersTimeoutMs: number;
  /** An idle kept-alive connection. */
  keepAliveTimeoutMs: number;
  /** How often Node enforces the two timeouts above (its default, 30 s, would add up to that much to each). */
  checkIntervalMs: number;
}

export const SERVER_LIMITS: ServerLimits = {
  // A 10 MB upload in a minute needs about 1.4 Mbit/s. Only receiving counts: a long answer is not cut.
  requestTimeoutMs: 60_000,
  headersTimeoutMs: 20_000,
  // Longer than the 60 s idle timeout of common load balancers, so they close first and never reuse a dead socket.
  keepAliveTimeoutMs: 65_000,
  checkIntervalMs: 5_000,
};

/**
 * The gateway's HTTP server, with request and header timeouts that end a slow or stalled client's request
 * (answered 408) and free what it held. Listening stays with the caller.
 */
export function createGatewayServer(app: RequestListener, limits: ServerLimits = SERVER_LIMITS): Server {
  return createServer(
    {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: limits.checkIntervalMs,
    },
    withTraceIdHeader(app),
  );
}

/**
 * Answers each request with `X-Trace-Id`, the trace of its server span (tracing on), so a caller or an operator
 * can look the request, and the turn it started, up in the tracing backend. Without tracing nothing is set.
 */
function withTraceIdHeader(app: RequestListener): RequestListener {
  return (req, res) => {
    const traceId = activeTraceId();
    if (traceId) res.setHeader('X-Trace-Id', traceId);
    return app(req, res);
  };
}
