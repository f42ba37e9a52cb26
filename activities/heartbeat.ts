import { CancelledFailure, Context } from '@temporalio/activity';

type Activity<A extends unknown[], R> = (...args: A) => Promise<R>;

/**
 * Wraps an activity so that once its workflow has canceled it, it ends as canceled whatever it made of its
 * aborted call (a tool error, the `openai` client's own abort error): that is what a workflow waiting for the
 * cancellation expects, never a failure that a retry policy would run again.
 */
export function endsAsCanceled<A extends unknown[], R>(activity: Activity<A, R>): Activity<A, R> {
  return async (...args: A) => {
    try {
      return await activity(...args);
    } catch (err) {
      const signal = Context.current().cancellationSignal;
      const reason: unknown = signal.reason;
      if (signal.aborted && !(err instanceof CancelledFailure) && reason instanceof CancelledFailure) throw reason;
      throw err;
    }
  };
}

/**
 * Wraps an activity so it heartbeats every `everyMs` while it runs, and {@link endsAsCanceled}. A heartbeat's
 * answer is how a running activity learns that its workflow canceled it (then `cancellationSignal` aborts
 * its HTTP call), and it lets a heartbeat timeout notice a lost worker before the start-to-close timeout.
 */
export function heartbeating<A extends unknown[], R>(activity: Activity<A, R>, everyMs = 1_000): Activity<A, R> {
  const cancellable = endsAsCanceled(activity);
  return async (...args: A) => {
    const ctx = Context.current();
    const beat = setInterval(() => ctx.heartbeat(), everyMs);
    try {
      return await cancellable(...args);
    } finally {
      clearInterval(beat);
    }
  };
}
