import { continueAsNew, sleep } from '@temporalio/workflow';
import type { SessionInput } from './contracts/index.js';
import { store } from './proxies.js';

/** Checks per run before continuing as new, so the history of a long conversation stays short. */
const CHECKS_PER_RUN = 100;

/**
 * One per conversation: sleeps on a durable timer until the conversation would have been idle for the
 * whole timeout, then closes it unless something happened meanwhile (in which case it sleeps again).
 * Ends when the conversation ends for any reason.
 */
export async function conversationSession(input: SessionInput): Promise<void> {
  for (let i = 0; i < CHECKS_PER_RUN; i++) {
    const check = await store.closeConversationIfIdle(input);
    if (check.done) return;
    await sleep(Math.max(check.nextCheckInMs, 1_000));
  }
  await continueAsNew<typeof conversationSession>(input);
}
