import { Context } from '@temporalio/activity';

/**
 * Wraps an activity so it heartbeats every `everyMs` while it runs. A heartbeat's answer is how a running
 * activity learns that its workflow canceled it (then `Context.current().cancellationSignal` aborts its
 * HTTP call), and it lets a heartbeat timeout notice a lost worker before the start-to-close timeout.
 */
export function heartbeating<A extends unknown[], R>(activity: (...args: A) => Promise<R>, everyMs = 1_000): (...args: A) => Promise<R> {
  return async (...args: A) => {
    const ctx = Context.current();
    const beat = setInterval(() => ctx.heartbeat(), everyMs);
    try {
      return await activity(...args);
    } finally {
      clearInterval(beat);
    }
  };
}
