import { isSpanContextValid, trace } from '@opentelemetry/api';

/**
 * The trace id (32 hex digits) of the span active here, or null when there is none: with tracing off no
 * context manager is registered, so this is one lookup that finds nothing.
 */
export function activeTraceId(): string | null {
  const span = trace.getActiveSpan();
  if (!span) return null;
  const ctx = span.spanContext();
  return isSpanContextValid(ctx) ? ctx.traceId : null;
}
