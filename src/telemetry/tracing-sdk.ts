import { createRequire } from 'node:module';
import { trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { envDetectorSync, Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { Tracing } from './tracing.js';

/** The package's workflow interceptors module, bundled into the workflow code when tracing is on. */
const workflowInterceptorsModule = createRequire(__filename).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

/** Paths that are not a turn's work: a scrape every few seconds would only add noise traces. */
const UNTRACED_PATHS = new Set(['/metrics', '/health', '/healthz', '/ready']);

export interface TracingOptions {
  serviceName: string;
  /** Where spans go; OTLP (batched) when absent. Tests pass an in-memory exporter (spans exported at once). */
  exporter?: SpanExporter;
}

/**
 * Registers the process's tracer provider (W3C trace context, AsyncLocalStorage), HTTP server spans (incoming
 * requests of the gateway) and undici spans (every `fetch` made under a span: model calls, HTTP and MCP tools),
 * and returns the Temporal interceptors that carry the trace from the request into the workflow and its activities.
 */
export function startTracing(options: TracingOptions): Tracing {
  const resource = new Resource({ 'service.name': options.serviceName }).merge(envDetectorSync.detect());
  const exporter = options.exporter ?? new OTLPTraceExporter();
  const processor = options.exporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter);
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register();
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        // Outgoing spans only inside a trace (a tool's or a webhook's call), never for background polling.
        requireParentforOutgoingSpans: true,
        ignoreIncomingRequestHook: (req) => UNTRACED_PATHS.has((req.url ?? '').split('?')[0] ?? ''),
      }),
      new UndiciInstrumentation({ requireParentforSpans: true }),
    ],
  });
  // The hook patches `http` on its next require; the gateway may have loaded it already (its server is
  // patched through `http.Server.prototype.emit`, so it is covered once this require has run).
  createRequire(__filename)('node:http');
  return {
    clientInterceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] },
    workerOptions: {
      interceptors: {
        workflowModules: [workflowInterceptorsModule],
        activity: [
          (ctx) => ({
            inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
            outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
          }),
        ],
      },
      sinks: { exporter: makeWorkflowExporter(processor, resource) },
    },
    shutdown: async () => {
      unregister();
      await provider.shutdown();
      trace.disable();
    },
  };
}
