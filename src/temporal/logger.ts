import { Runtime, type LogLevel, type LogMetadata, type Logger as TemporalLogger } from '@temporalio/worker';
import type { Logger } from 'pino';
import { tidyTemporalLog } from './log-filter.js';

const levels: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * The Temporal SDK's logger interface over our pino logger, without task tokens and with the bundler's
 * webpack report at debug (see log-filter.ts). Also what `bundleWorkflowCode` can be given.
 */
export function temporalLoggerFor(logger: Logger): TemporalLogger {
  const forward = (level: LogLevel, message: string, meta?: LogMetadata) => {
    const line = tidyTemporalLog({ level, message, meta });
    logger[levels[line.level]](line.meta ?? {}, line.message);
  };
  return {
    log: forward,
    trace: (m, meta) => forward('TRACE', m, meta),
    debug: (m, meta) => forward('DEBUG', m, meta),
    info: (m, meta) => forward('INFO', m, meta),
    warn: (m, meta) => forward('WARN', m, meta),
    error: (m, meta) => forward('ERROR', m, meta),
  };
}

/**
 * Routes the Temporal SDK's own logs (worker, workflow and activity loggers) into our pino logs. With
 * `metricsAddress`, the SDK also serves its worker metrics (task slots, poll latency, sticky cache) in Prometheus
 * format there, for the worker's `/metrics` to append (see src/prometheus/sdk-metrics.ts).
 */
export function installTemporalLogger(logger: Logger, metricsAddress?: string): void {
  Runtime.install({
    logger: temporalLoggerFor(logger),
    ...(metricsAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: metricsAddress } } } } : {}),
  });
}
