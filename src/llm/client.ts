import OpenAI from 'openai';
import { ChunkAssembler } from './stream.js';

/** A tool call the model asked for; `arguments` is the raw JSON text the model wrote. */
export interface ToolCallRequest {
  id: string;
  name: string;
  arguments: string;
}

export type ChatMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: ToolCallRequest[] }
  | { role: 'tool'; toolCallId: string; content: string };

/** A function the model may call, in the OpenAI tools format. */
export interface ToolDefinition {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  tools?: ToolDefinition[];
}

export interface ChatResponse {
  content: string;
  toolCalls: ToolCallRequest[];
  model: string;
  usage: { promptTokens: number; completionTokens: number; totalTokens: number } | null;
  /** Why the model stopped (`stop`, `tool_calls`, `length`…); absent in results recorded before it was kept. */
  finishReason?: string;
}

/** The narrow interface activities depend on, so unit tests can hand in a fake. */
export interface LlmClient {
  /**
   * One model call. With `onText` the call streams and `onText` gets each piece of answer text as it arrives
   * (the pieces concatenate to `content`); without it the call is one plain request.
   */
  chat(request: ChatRequest, signal?: AbortSignal, onText?: (text: string) => void): Promise<ChatResponse>;
}

export interface LlmClientOptions {
  apiKey?: string;
  baseURL?: string;
  timeoutMs: number;
}

type WireMessage = OpenAI.Chat.Completions.ChatCompletionMessageParam;

function toWire(m: ChatMessage): WireMessage {
  if (m.role === 'tool') return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
  if (m.role === 'assistant' && m.toolCalls?.length) {
    return {
      role: 'assistant',
      content: m.content || null,
      tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })),
    };
  }
  return { role: m.role, content: m.content };
}

/**
 * How a streamed call is asked for. Some OpenAI-compatible servers reject `stream_options` (then the stream has
 * no usage) or streaming itself (then the call is a plain request whose text arrives at once); a client steps
 * down once, on the first refusal that names streaming, and stays there.
 */
type StreamMode = 'stream-with-usage' | 'stream' | 'plain';
const nextMode: Record<StreamMode, StreamMode | undefined> = { 'stream-with-usage': 'stream', stream: 'plain', plain: undefined };

/** A 400/422 that mentions streaming: the server does not support what the request asked for, not a bad prompt. */
function refusesStreaming(err: unknown): boolean {
  return err instanceof OpenAI.APIError && (err.status === 400 || err.status === 422) && /stream/i.test(err.message);
}

/**
 * The production LLM path: the `openai` package against any OpenAI-compatible endpoint. The client
 * never retries by itself (`maxRetries: 0`): retries belong to the Temporal activity retry policy,
 * where they are visible in the workflow history.
 */
export function createLlmClient(options: LlmClientOptions): LlmClient {
  const openai = new OpenAI({
    // The SDK insists on a key; OpenAI-compatible local servers ignore it.
    apiKey: options.apiKey ?? 'not-needed',
    baseURL: options.baseURL,
    timeout: options.timeoutMs,
    maxRetries: 0,
  });
  let mode: StreamMode = 'stream-with-usage';

  const body = (request: ChatRequest) => ({
    model: request.model,
    messages: request.messages.map(toWire),
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    ...(request.maxTokens !== undefined ? { max_tokens: request.maxTokens } : {}),
    ...(request.tools?.length ? { tools: request.tools.map((t) => ({ type: 'function' as const, function: t })) } : {}),
  });

  async function complete(request: ChatRequest, signal?: AbortSignal): Promise<ChatResponse> {
    return fromCompletion(await openai.chat.completions.create(body(request), { signal }));
  }

  async function stream(request: ChatRequest, withUsage: boolean, onText: (text: string) => void, signal?: AbortSignal): Promise<ChatResponse> {
    const { data, response } = await openai.chat.completions
      .create({ ...body(request), stream: true, ...(withUsage ? { stream_options: { include_usage: true } } : {}) }, { signal })
      .withResponse();
    // A server that ignores `stream: true` answers with one JSON completion.
    if (response.headers.get('content-type')?.includes('application/json')) {
      const answer = fromCompletion((await response.json()) as OpenAI.Chat.Completions.ChatCompletion);
      if (answer.content) onText(answer.content);
      return answer;
    }
    const assembler = new ChunkAssembler();
    for await (const chunk of data) {
      const text = assembler.add(chunk);
      if (text) onText(text);
    }
    // The SDK ends the iteration quietly when the request is aborted: a cancelled call must not look answered.
    signal?.throwIfAborted();
    return assembler.result(request.model);
  }

  return {
    async chat(request, signal, onText) {
      if (!onText) return complete(request, signal);
      for (;;) {
        try {
          if (mode === 'plain') {
            const answer = await complete(request, signal);
            if (answer.content) onText(answer.content);
            return answer;
          }
          return await stream(request, mode === 'stream-with-usage', onText, signal);
        } catch (err) {
          const next = nextMode[mode];
          if (!next || !refusesStreaming(err)) throw err;
          mode = next;
        }
      }
    },
  };
}

function fromCompletion(completion: OpenAI.Chat.Completions.ChatCompletion): ChatResponse {
  const choice = completion.choices[0];
  if (!choice) throw new Error('the model returned no choices');
  const usage = completion.usage;
  const toolCalls = (choice.message.tool_calls ?? []).flatMap((c) =>
    c.type === 'function' ? [{ id: c.id, name: c.function.name, arguments: c.function.arguments }] : [],
  );
  return {
    content: choice.message.content ?? '',
    toolCalls,
    model: completion.model,
    usage: usage ? { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens, totalTokens: usage.total_tokens } : null,
    finishReason: choice.finish_reason ?? undefined,
  };
}

export { OpenAI };
