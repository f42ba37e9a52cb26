import type OpenAI from 'openai';
import type { ChatResponse, ToolCallRequest } from './client.js';

type Chunk = OpenAI.Chat.Completions.ChatCompletionChunk;

/** Thrown when a model stream ends without a finish reason: the connection dropped mid-answer. Retryable. */
export class IncompleteStreamError extends Error {
  constructor() {
    super('the model stream ended before the answer was complete');
    this.name = 'IncompleteStreamError';
  }
}

/**
 * Folds `chat.completion.chunk`s into the {@link ChatResponse} a non-streamed call returns: content deltas are
 * concatenated, tool-call pieces are joined by their `index` (id and name come once, the arguments in pieces),
 * usage comes from the last chunk that carries it (the `include_usage` chunk has no choices).
 */
export class ChunkAssembler {
  private content = '';
  private readonly calls = new Map<number, ToolCallRequest>();
  private model = '';
  private finishReason: string | undefined;
  private usage: ChatResponse['usage'] = null;

  /** Adds one chunk; returns the text it added to the answer ('' for none). */
  add(chunk: Chunk): string {
    if (chunk.model) this.model = chunk.model;
    if (chunk.usage) {
      const u = chunk.usage;
      this.usage = { promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens, totalTokens: u.total_tokens };
    }
    const choice = chunk.choices?.find((c) => c.index === 0) ?? chunk.choices?.[0];
    if (!choice) return '';
    if (choice.finish_reason) this.finishReason = choice.finish_reason;
    for (const piece of choice.delta?.tool_calls ?? []) {
      const call = this.calls.get(piece.index) ?? { id: '', name: '', arguments: '' };
      if (piece.id) call.id = piece.id;
      if (piece.function?.name) call.name += piece.function.name;
      if (piece.function?.arguments) call.arguments += piece.function.arguments;
      this.calls.set(piece.index, call);
    }
    const text = choice.delta?.content ?? '';
    this.content += text;
    return text;
  }

  /** The whole answer; throws {@link IncompleteStreamError} when no chunk said why the answer ended. */
  result(fallbackModel: string): ChatResponse {
    if (!this.finishReason) throw new IncompleteStreamError();
    const toolCalls = [...this.calls.entries()].sort(([a], [b]) => a - b).map(([, c]) => c);
    return {
      content: this.content,
      toolCalls,
      model: this.model || fallbackModel,
      usage: this.usage,
      finishReason: this.finishReason,
    };
  }
}
