import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { metricsHandler } from './endpoint.js';
import { listenForMetrics, type MetricsServer } from './metrics-server.js';
import { registrySource } from './registry.js';
import { sdkMetricsText } from './sdk-metrics.js';

/**
 * The worker's `GET /metrics` on its own port: its registry, then the Temporal SDK's exposition fetched from the
 * loopback address the SDK serves it on (`sdkAddress`), one scrape target per worker behind one token.
 */
export async function serveWorkerMetrics(p: {
  registry: Registry;
  sdkAddress: string | undefined;
  port: number;
  host: string;
  token: string | undefined;
  logger: Logger;
}): Promise<MetricsServer> {
  const sdk = p.sdkAddress ? sdkMetricsText(p.sdkAddress, (err) => p.logger.warn({ err }, "metrics: the Temporal SDK's metrics could not be read")) : undefined;
  const handler = metricsHandler(registrySource(p.registry, sdk), p.token, (err) => p.logger.error({ err }, 'metrics could not be collected'));
  return listenForMetrics(handler, p.port, p.host);
}
