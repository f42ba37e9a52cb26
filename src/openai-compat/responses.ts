// The Responses API: `input` and `instructions` as a turn; a turn row as a `response` object and its events.
import { z } from '../zod.js';
import type { TurnRow } from '../conversations/message-store.js';
import { messageItemId, turnId, type TurnKey } from './ids.js';
import { contentText, messageContent, overridesOf, refuseUnsupported, samplingFields, splitMessages, UnsupportedParamError, type ParsedTurn } from './requests.js';

const inputItem = z.looseObject({ type: z.string().optional(), role: z.string().optional(), content: messageContent.optional() });

export const createResponseBody = z
  .looseObject({
    model: z.string().min(1).max(200),
    input: z.union([z.string().min(1), z.array(inputItem).min(1).max(2000)]),
    instructions: z.string().max(100_000).nullable().optional(),
    previous_response_id: z.string().max(200).nullable().optional(),
    max_output_tokens: z.number().int().min(1).nullable().optional(),
    background: z.boolean().nullable().optional(),
    store: z.boolean().nullable().optional(),
    ...samplingFields,
  })
  .openapi('CreateResponseRequest');

export type CreateResponseBody = z.infer<typeof createResponseBody>;

export function parseResponseRequest(body: CreateResponseBody, conversationHeader: string | undefined): ParsedTurn & { background: boolean } {
  refuseUnsupported(body);
  if (body.store === false) throw new UnsupportedParamError('store', 'store: false is not supported: every turn is recorded (it is a durable workflow)');
  const items = typeof body.input === 'string' ? [{ type: 'message', role: 'user', content: body.input }] : body.input;
  const plain = items.map((item, i) => {
    if ((item.type ?? 'message') !== 'message' || !item.role) throw new UnsupportedParamError(`input[${i}]`, `input items of type ${item.type ?? 'unknown'} are not supported; send messages`);
    return { role: item.role, text: contentText(item.content, `input[${i}].content`), param: `input[${i}]` };
  });
  const split = splitMessages(plain, 'input');
  const instructions = [...(body.instructions ? [body.instructions] : []), ...split.instructions];
  const conversationId = conversationHeader ?? body.metadata?.conversation_id;
  return {
    model: body.model,
    ...split,
    instructions,
    overrides: overridesOf({ instructions, param: 'input', temperature: body.temperature, maxTokens: body.max_output_tokens }),
    stream: body.stream === true,
    background: body.background === true,
    ...(body.user ? { user: body.user } : {}),
    ...(conversationId ? { conversationId } : {}),
  };
}

export type ResponseStatus = 'queued' | 'in_progress' | 'completed' | 'failed' | 'cancelled' | 'incomplete';

/** A turn's status in OpenAI's words; a limit that cut the answer short makes it `incomplete`. */
export function responseStatus(row: TurnRow | undefined): ResponseStatus {
  if (!row) return 'queued';
  if (row.status === 'running') return 'in_progress';
  if (row.status === 'canceled') return 'cancelled';
  if (row.status === 'failed') return 'failed';
  return row.stopReason === 'length' || row.stopReason === 'max_steps' ? 'incomplete' : 'completed';
}

export interface ResponseHead extends TurnKey {
  model: string;
  createdAt: number;
  previousResponseId: string | null;
  background: boolean;
}

/** The one output message of a response with `text`. */
export function outputMessage(t: TurnKey, text: string, status: 'in_progress' | 'completed' | 'incomplete') {
  return { type: 'message' as const, id: messageItemId(t), status, role: 'assistant' as const, content: text || status !== 'in_progress' ? [outputText(text)] : [] };
}

export const outputText = (text: string) => ({ type: 'output_text' as const, text, annotations: [], logprobs: [] });

/** The `response` object of a turn as it is now. */
export function responseObject(h: ResponseHead, row: TurnRow | undefined, statusOverride?: ResponseStatus) {
  const status = statusOverride ?? responseStatus(row);
  const answer = row?.status === 'completed' ? row.agentResponse ?? '' : row?.status === 'canceled' ? row.partialAnswer ?? '' : '';
  const done = status === 'completed' || status === 'incomplete';
  const output = done || (status === 'cancelled' && answer) ? [outputMessage(h, answer, status === 'incomplete' ? 'incomplete' : 'completed')] : [];
  return {
    id: turnId('resp_', h),
    object: 'response' as const,
    created_at: h.createdAt,
    status,
    background: h.background,
    error: status === 'failed' ? { code: 'server_error', message: row?.error ?? 'the turn failed' } : null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' as const } : null,
    instructions: null,
    max_output_tokens: null,
    model: h.model,
    output,
    output_text: done ? answer : '',
    parallel_tool_calls: false,
    previous_response_id: h.previousResponseId,
    temperature: null,
    tool_choice: 'auto' as const,
    tools: [],
    top_p: null,
    metadata: { conversation_id: h.conversationId },
    usage: done && row
      ? {
          input_tokens: row.promptTokens ?? 0,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: row.completionTokens ?? 0,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: row.totalTokens ?? 0,
        }
      : null,
  };
}
