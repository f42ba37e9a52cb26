import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { failureTypes } from './contracts/index.js';

/**
 * Short Postgres work, as local activities: they run in the worker that holds the workflow task, so a turn
 * pays no task-queue round trips for its two writes (they show as markers in the history). Idempotent
 * like any activity; fast timeouts, generous retries (a DB blip should not fail a turn).
 */
export const db = proxyLocalActivities<Activities>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 10 },
});

/** The model call: long timeout, heartbeats so a lost worker is detected in seconds, bounded retries. */
export const llm = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '10 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 4,
    nonRetryableErrorTypes: [failureTypes.llmRejected],
  },
});

