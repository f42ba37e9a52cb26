import { describe, expect, it } from 'vitest';
import { chatCompletionBody, parseChatRequest } from '../../src/openai-compat/chat';
import { UnsupportedParamError } from '../../src/openai-compat/requests';
import { createResponseBody, parseResponseRequest } from '../../src/openai-compat/responses';

/*
 * The OpenAI-compatible requests are held to the bounds of our own messages endpoint: the turn's user message
 * at most 32,000 characters (what POST …/messages accepts), and the instructions a client appends to the
 * agent's prompt at most 100,000 characters in all, however many system messages carry them.
 */
const chat = (messages: unknown[]) => parseChatRequest(chatCompletionBody.parse({ model: 'agent-x', messages }), undefined);
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return e instanceof UnsupportedParamError ? e.param : e;
  }
  return 'accepted';
};

describe('OpenAI-compatible request bounds', () => {
  it('refuses a user message longer than our messages endpoint accepts, naming it', () => {
    expect(refusal(() => chat([{ role: 'user', content: 'x'.repeat(32_000) }]))).toBe('accepted');
    expect(refusal(() => chat([{ role: 'user', content: 'x'.repeat(32_001) }]))).toBe('messages[0].content');
    expect(refusal(() => chat([{ role: 'system', content: 's' }, { role: 'user', content: [{ type: 'text', text: 'x'.repeat(20_000) }, { type: 'text', text: 'x'.repeat(20_000) }] }]))).toBe('messages[1].content');
    const input = 'x'.repeat(40_000);
    expect(refusal(() => parseResponseRequest(createResponseBody.parse({ model: 'agent-x', input }), undefined))).toBe('input[0].content');
  });

  it('refuses instructions beyond 100,000 characters in all, however many system messages carry them', () => {
    const system = (n: number) => Array.from({ length: n }, () => ({ role: 'system', content: 'y'.repeat(49_000) }));
    expect(refusal(() => chat([...system(2), { role: 'user', content: 'hi' }]))).toBe('accepted');
    expect(refusal(() => chat([...system(3), { role: 'user', content: 'hi' }]))).toBe('messages');
    const body = createResponseBody.parse({ model: 'agent-x', instructions: 'i'.repeat(60_000), input: [{ role: 'developer', content: 'd'.repeat(60_000) }, { role: 'user', content: 'hi' }] });
    expect(refusal(() => parseResponseRequest(body, undefined))).toBe('input');
  });
});
