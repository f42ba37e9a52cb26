import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { OpenAI } from 'openai';
import { describe, expect, it } from 'vitest';
import { createTurnActivities, toLlmFailure } from '../../activities/turn';
import type { Db } from '../../src/db/client';
import type { ChatRequest, LlmClient } from '../../src/llm/client';
import { failureTypes } from '../../workflows/contracts/index';

const request: ChatRequest = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };

function activitiesWith(llm: LlmClient) {
  // callModel touches no database; a db that throws proves it.
  const db = new Proxy({}, { get: () => { throw new Error('no db in this test'); } }) as Db;
  return createTurnActivities({ db, llm, defaultModel: 'm', awaitWorkflowClosed: async () => {} });
}

const apiError = (status: number, headers: Record<string, string> = {}) =>
  OpenAI.APIError.generate(status, { error: { message: `status ${status}` } }, `status ${status}`, new Headers(headers));

describe('callModel activity', () => {
  it('returns the answer with the time the model took', async () => {
    const { callModel } = activitiesWith({ chat: async () => ({ content: 'ok', toolCalls: [], model: 'm', usage: null }) });
    const result = (await new MockActivityEnvironment().run(callModel, request)) as Awaited<ReturnType<typeof callModel>>;
    expect(result).toMatchObject({ content: 'ok', model: 'm' });
    expect(result.llmTimeMs).toBeGreaterThanOrEqual(0);
  });

  it('passes the activity cancellation signal to the client, so cancelling aborts the HTTP call', async () => {
    const env = new MockActivityEnvironment();
    let seen: AbortSignal | undefined;
    const { callModel } = activitiesWith({
      chat: (_req, signal) => {
        seen = signal;
        return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted'))));
      },
    });
    const running = env.run(callModel, request);
    await new Promise((r) => setTimeout(r, 10));
    env.cancel();
    await expect(running).rejects.toThrow();
    expect(seen?.aborted).toBe(true);
  });

  it('maps model errors: 4xx not retried, 429 waits for Retry-After, 5xx and network errors retried', () => {
    const rejected = toLlmFailure(apiError(400)) as ApplicationFailure;
    expect(rejected).toBeInstanceOf(ApplicationFailure);
    expect(rejected).toMatchObject({ type: failureTypes.llmRejected, nonRetryable: true });
    expect((toLlmFailure(apiError(401)) as ApplicationFailure).nonRetryable).toBe(true);

    const limited = toLlmFailure(apiError(429, { 'retry-after': '7' })) as ApplicationFailure;
    expect(limited).toMatchObject({ type: failureTypes.llmUnavailable, nonRetryable: false, nextRetryDelay: '7s' });

    const server = apiError(503);
    expect(toLlmFailure(server)).toBe(server);
    const timeout = apiError(408);
    expect(toLlmFailure(timeout)).toBe(timeout);
    const network = new TypeError('fetch failed');
    expect(toLlmFailure(network)).toBe(network);
  });
});
