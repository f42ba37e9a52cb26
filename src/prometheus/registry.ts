import { collectDefaultMetrics, Registry } from 'prom-client';
import type { MetricsSource } from './endpoint.js';

/** A process's registry with Node's own metrics (CPU, memory, event loop lag, GC); one per process, never global. */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** The registry's exposition, followed by `extra` (the Temporal SDK's metrics on the worker) when given. */
export function registrySource(registry: Registry, extra?: () => Promise<string>): MetricsSource {
  return {
    contentType: registry.contentType,
    text: async () => {
      const [own, more] = await Promise.all([registry.metrics(), extra?.() ?? Promise.resolve('')]);
      return more ? `${own.trimEnd()}\n${more}` : own;
    },
  };
}
