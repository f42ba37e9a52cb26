import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';

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

/** Splits text into pieces of `size` characters, or into words (each with its following space) by default. */
export function textPieces(text: string, size?: number): string[] {
  if (!text) return [];
  if (size && size > 0) return Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));
  return text.match(/\S+\s*|\s+/g) ?? [text];
}

/**
 * The `chat.completion.chunk`s of a streamed answer, in the order OpenAI sends them: the role first, the content
 * in pieces, each tool call as its index, id and name then its arguments in pieces, a chunk with the finish
 * reason, and (when the request set `stream_options.include_usage`) a last chunk with the usage and no choices.
 */
export function chatCompletionChunks(
  model: string,
  content: string,
  promptTokens = 0,
  toolCalls: Array<{ id: string; name: string; arguments: string }> = [],
  options: { usage?: boolean; chunkChars?: number } = {},
) {
  const full = chatCompletionBody(model, content, promptTokens, toolCalls);
  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) => ({
    id: full.id,
    object: 'chat.completion.chunk',
    created: full.created,
    model,
    choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
  });
  const chunks: unknown[] = [chunk({ role: 'assistant', content: '' })];
  for (const piece of textPieces(content, options.chunkChars)) chunks.push(chunk({ content: piece }));
  toolCalls.forEach((c, index) => {
    chunks.push(chunk({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }] }));
    for (const piece of textPieces(c.arguments, 8)) chunks.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
  });
  chunks.push(chunk({}, full.choices[0]!.finish_reason));
  if (options.usage) chunks.push({ ...chunk({}), choices: [], usage: full.usage });
  return chunks;
}

export interface StreamChunksOptions {
  /** Waits this long between chunks (a slow model). */
  delayMs?: number;
  /** After this many chunks the connection is cut, with no finish reason and no `[DONE]` (a lost stream). */
  dropAfter?: number;
  /** After `after` chunks the stream waits for `until` before it goes on (tests act mid-answer). */
  hold?: { after: number; until: Promise<unknown> };
}

/** Writes chunks as OpenAI streams them: `data: <json>` events, then `data: [DONE]`. */
export async function streamChunks(res: ServerResponse, chunks: unknown[], options: StreamChunksOptions = {}): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  for (const [i, chunk] of chunks.entries()) {
    if (options.dropAfter !== undefined && i >= options.dropAfter) {
      res.socket?.destroy(); // after the chunks before it reached the socket (each write is awaited)
      return;
    }
    if (i > 0 && options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
    if (options.hold && i === options.hold.after) await options.hold.until;
    if (res.destroyed) return; // the client went away (canceled, or its worker killed)
    await new Promise((resolve) => res.write(`data: ${JSON.stringify(chunk)}\n\n`, resolve));
  }
  res.end('data: [DONE]\n\n');
}
