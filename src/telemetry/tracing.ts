import type { ClientInterceptors } from '@temporalio/client';
import type { WorkerOptions } from '@temporalio/worker';
import type { Config } from '../config.js';

/**
 * Tracing of one process (gateway or worker), started only when an OTLP endpoint is configured. What the
 * Temporal client and worker need comes from here, so with tracing off they get no interceptors at all.
 */
export interface Tracing {
  /** For every Temporal client: a workflow started or updated from a request becomes that request's child. */
  clientInterceptors: ClientInterceptors;
  /** For the worker: workflow interceptors (bundled with the workflows), their span sink, activity interceptors. */
  workerOptions: Pick<WorkerOptions, 'interceptors' | 'sinks'>;
  /** Flushes the spans not yet exported and stops tracing. */
  shutdown: () => Promise<void>;
}

/** True when the standard OTLP settings name an endpoint for traces. */
export function tracingEnabled(config: Pick<Config, 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'>): boolean {
  return Boolean(config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? config.OTEL_EXPORTER_OTLP_ENDPOINT);
}

/**
 * Starts tracing exported by OTLP (http/protobuf; the exporter reads the standard OTEL_EXPORTER_OTLP_* variables
 * itself) when an endpoint is set, else returns null. The OpenTelemetry SDK is loaded only then: a process
 * without an endpoint never imports it, registers no context manager and installs no interceptor.
 */
export async function startTracingFromConfig(config: Config, serviceName: string): Promise<Tracing | null> {
  if (!tracingEnabled(config)) return null;
  const { startTracing } = await import('./tracing-sdk.js');
  return startTracing({ serviceName });
}
