// How errors of the `openai` client become Temporal failures, for every activity that calls a model.
import { ApplicationFailure } from '@temporalio/activity';
import { OpenAI } from 'openai';
import { failureTypes } from '../workflows/contracts/index.js';

/** Maps an error of the `openai` client to a Temporal failure with the right retry behaviour. */
export function toLlmFailure(err: unknown): unknown {
  if (err instanceof OpenAI.APIError && typeof err.status === 'number') {
    const status = err.status;
    if (status === 429) {
      const seconds = Number(err.headers?.get?.('retry-after'));
      return ApplicationFailure.create({
        type: failureTypes.llmUnavailable,
        message: `model rate limited (429)`,
        nextRetryDelay: Number.isFinite(seconds) && seconds > 0 ? `${seconds}s` : undefined,
      });
    }
    if (status >= 400 && status < 500 && status !== 408 && status !== 409) {
      return ApplicationFailure.create({
        type: failureTypes.llmRejected,
        message: `model rejected the request (${status}): ${err.message}`.slice(0, 500),
        nonRetryable: true,
      });
    }
  }
  return err;
}
