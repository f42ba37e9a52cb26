import { ActivityCancellationType, proxyActivities, proxyLocalActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { failureTypes } from './contracts/index.js';

// Local activities: they run in the worker that holds the workflow task, so a turn pays no task-queue
// round trips (they show as markers in the history). Idempotent like any activity; fast timeouts,
// generous retries (a blip should not fail a turn). Both local proxies share these options but their
// summaries (what the Temporal UI shows on the marker), so which proxy calls an activity changes only that.
// Summaries say what kind of step it is and never carry its input; a call can name ids with
// `executeWithOptions({ summary })`.
const localOptions = {
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 10 },
} as const;

/** Short Postgres reads and writes (turns, tasks, sessions, escalation rows), as local activities. */
export const store = proxyLocalActivities<Activities>({ ...localOptions, summary: 'Postgres read/write' });

/**
 * Knowledge retrieval (`retrieveKnowledge`), as a local activity: it embeds the query through the
 * embeddings API, then searches Postgres, so it is an outbound call and not only a store read.
 */
export const retrieval = proxyLocalActivities<Pick<Activities, 'retrieveKnowledge'>>({ ...localOptions, summary: 'knowledge retrieval (embed the question, search the bases)' });

const llmOptions: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '10 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 4,
    nonRetryableErrorTypes: [failureTypes.llmRejected],
  },
};

/** The model call: long timeout, heartbeats so a lost worker is detected in seconds, bounded retries. */
export const llm = proxyActivities<Activities>({ ...llmOptions, summary: 'model call (streamed)' });

/**
 * The model call of a turn that can be canceled: on cancellation the workflow waits until the activity has
 * stopped (HTTP request aborted, last delta written), so the turn's cleanup comes after everything it wrote.
 */
export const cancellableLlm = proxyActivities<Activities>({
  ...llmOptions,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  summary: 'model call (streamed, cancellable)',
});

