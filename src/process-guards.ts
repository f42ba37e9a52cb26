import type { Logger } from './logger.js';

/**
 * Process-wide handlers for the gateway and the worker. A promise rejected with nobody listening (e.g. a
 * driver's stray rejection) is a bug to log, not a reason to end the process: Node 20 exits on it by
 * default, which for the worker means every running task. A throw outside any handler leaves unknown
 * state, so Node still exits on it; the monitor only makes sure the reason reaches the log first.
 */
export function installProcessGuards(logger: Logger, service: string): void {
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));
  process.on('uncaughtExceptionMonitor', (err) => logger.fatal({ err }, `uncaught exception; the ${service} exits`));
}
