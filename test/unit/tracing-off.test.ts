import { trace } from '@opentelemetry/api';
import { expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { activeTraceId } from '../../src/telemetry/trace-id';
import { startTracingFromConfig, tracingEnabled } from '../../src/telemetry/tracing';

const base = { DATABASE_URL: 'postgres://u@127.0.0.1/db', TEMPORAL_PAYLOAD_ENCRYPTION: 'off' };

it('without an OTLP endpoint tracing is off: nothing started, no interceptors, no trace id', async () => {
  const config = loadConfig(base);
  expect(tracingEnabled(config)).toBe(false);
  expect(await startTracingFromConfig(config, 'test')).toBeNull();
  // No provider was registered: the global tracer is the API's no-op one, and no span is ever active.
  expect(trace.getTracer('t').startSpan('x').isRecording()).toBe(false);
  expect(activeTraceId()).toBeNull();
});

it('either standard endpoint setting turns tracing on', () => {
  expect(tracingEnabled(loadConfig({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }))).toBe(true);
  expect(tracingEnabled(loadConfig({ ...base, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }))).toBe(true);
});
