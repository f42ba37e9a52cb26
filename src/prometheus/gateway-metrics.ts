import type { Express } from 'express';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Db } from '../db/client.js';
import { metricsHandler } from './endpoint.js';
import { httpMetrics } from './http-metrics.js';
import { createMetricsRegistry, registrySource } from './registry.js';
import { registerStateGauges } from './state-gauges.js';

export interface GatewayMetricsOptions {
  /** METRICS_TOKEN: `/metrics` then needs it as a Bearer token; absent: open. */
  token?: string;
  /** The app's registry; a new one when absent. */
  registry?: Registry;
}

/**
 * Prometheus on the gateway: times every request (call it before any other middleware) and serves `GET /metrics`
 * at the root, like `/healthz` an ops endpoint outside `/v1` and the API document. Returns the registry.
 */
export function mountGatewayMetrics(app: Express, deps: { db: Db; logger: Logger }, options: GatewayMetricsOptions = {}): Registry {
  const registry = options.registry ?? createMetricsRegistry();
  app.use(httpMetrics(registry));
  registerStateGauges(registry, deps.db, (err) => deps.logger.warn({ err }, 'metrics: state gauges could not be read from Postgres'));
  const handler = metricsHandler(registrySource(registry), options.token, (err) => deps.logger.error({ err }, 'metrics could not be collected'));
  app.get('/metrics', (req, res) => handler(req, res));
  return registry;
}
