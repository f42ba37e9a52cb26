import { randomUUID } from 'node:crypto';

/** The body of an OpenAI `chat.completion` response, as local model servers (demo, tests) answer it. */
export function chatCompletionBody(
  model: string,
  content: string,
  promptTokens = 0,
  toolCalls: Array<{ id: string; name: string; arguments: string }> = [],
) {
  const completionTokens = Math.max(1, Math.ceil((content.length + JSON.stringify(toolCalls).length) / 4));
  const message = toolCalls.length
    ? {
        role: 'assistant',
        content: content || null,
        tool_calls: toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })),
      }
    : { role: 'assistant', content };
  return {
    id: `chatcmpl-${randomUUID()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message, finish_reason: toolCalls.length ? 'tool_calls' : 'stop', logprobs: null }],
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
  };
}

/** A rough token estimate (4 characters a token) for local servers that have no tokenizer. */
export function estimateTokens(messages: Array<{ content?: unknown }>): number {
  return messages.reduce((n, m) => n + Math.ceil(String(m.content ?? '').length / 4), 0);
}
