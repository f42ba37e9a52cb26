// Chat Completions: the request as a turn, the turn as `chat.completion` and `chat.completion.chunk` objects.
import { z } from '../zod.js';
import type { TurnKey } from './ids.js';
import { contentText, messageContent, overridesOf, refuseUnsupported, samplingFields, splitMessages, type ParsedTurn } from './requests.js';

const chatMessage = z.looseObject({
  role: z.string(),
  content: messageContent.nullable().optional(),
  tool_calls: z.array(z.unknown()).nullable().optional(),
});

export const chatCompletionBody = z
  .looseObject({
    model: z.string().min(1).max(200),
    messages: z.array(chatMessage).min(1).max(2000),
    max_tokens: z.number().int().min(1).nullable().optional(),
    max_completion_tokens: z.number().int().min(1).nullable().optional(),
    stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
    ...samplingFields,
  })
  .openapi('ChatCompletionRequest');

export type ChatCompletionBody = z.infer<typeof chatCompletionBody>;

export function parseChatRequest(body: ChatCompletionBody, conversationHeader: string | undefined): ParsedTurn & { includeUsage: boolean } {
  refuseUnsupported(body);
  const plain = body.messages.map((m, i) => ({
    role: m.role,
    text: contentText(m.content, `messages[${i}].content`),
    param: `messages[${i}]`,
    hasToolCalls: (m.tool_calls?.length ?? 0) > 0,
  }));
  const split = splitMessages(plain, 'messages');
  const conversationId = conversationHeader ?? body.metadata?.conversation_id;
  return {
    model: body.model,
    ...split,
    overrides: overridesOf({ instructions: split.instructions, param: 'messages', temperature: body.temperature, maxTokens: body.max_completion_tokens ?? body.max_tokens }),
    stream: body.stream === true,
    includeUsage: body.stream_options?.include_usage === true,
    ...(body.user ? { user: body.user } : {}),
    ...(conversationId ? { conversationId } : {}),
  };
}

/**
 * Why the completion ended, in OpenAI's words: the model's own `length` stays `length`; the agent's step limit
 * (`max_steps`) also says `length`: the answer was cut short by a limit, not finished.
 */
export function finishReason(stopReason: string | null | undefined): 'stop' | 'length' {
  return stopReason === 'length' || stopReason === 'max_steps' ? 'length' : 'stop';
}

export interface TurnUsage {
  promptTokens: number | null;
  completionTokens: number | null;
  totalTokens: number | null;
}

export const chatUsage = (u: TurnUsage) => ({
  prompt_tokens: u.promptTokens ?? 0,
  completion_tokens: u.completionTokens ?? 0,
  total_tokens: u.totalTokens ?? 0,
});

interface CompletionHead {
  id: string;
  created: number;
  model: string;
}

export function chatCompletion(head: CompletionHead, answer: string, stopReason: string | null, usage: TurnUsage) {
  return {
    ...head,
    object: 'chat.completion' as const,
    choices: [{ index: 0, message: { role: 'assistant' as const, content: answer, refusal: null, annotations: [] }, finish_reason: finishReason(stopReason), logprobs: null }],
    usage: chatUsage(usage),
    system_fingerprint: null,
  };
}

/** One `chat.completion.chunk`: a delta, the finish, or (with `choices: []`) the usage. */
export function chatChunk(head: CompletionHead, delta: Record<string, unknown> | null, finish: string | null = null, usage?: TurnUsage) {
  return {
    ...head,
    object: 'chat.completion.chunk' as const,
    choices: delta ? [{ index: 0, delta, finish_reason: finish, logprobs: null }] : [],
    system_fingerprint: null,
    ...(usage ? { usage: chatUsage(usage) } : {}),
  };
}

export type { TurnKey };
