import OpenAI from 'openai';

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
}

/** The narrow interface activities depend on, so unit tests can hand in a fake. */
export interface LlmClient {
  chat(request: ChatRequest, signal?: AbortSignal): Promise<ChatResponse>;
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
  return {
    async chat(request, signal) {
      const completion = await openai.chat.completions.create(
        {
          model: request.model,
          messages: request.messages.map(toWire),
          ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
          ...(request.maxTokens !== undefined ? { max_tokens: request.maxTokens } : {}),
          ...(request.tools?.length
            ? { tools: request.tools.map((t) => ({ type: 'function' as const, function: t })) }
            : {}),
        },
        { signal },
      );
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
        usage: usage
          ? { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens, totalTokens: usage.total_tokens }
          : null,
      };
    },
  };
}

export { OpenAI };
