import OpenAI from 'openai';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
}

export interface ChatResponse {
  content: string;
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
          messages: request.messages,
          ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
          ...(request.maxTokens !== undefined ? { max_tokens: request.maxTokens } : {}),
        },
        { signal },
      );
      const choice = completion.choices[0];
      if (!choice) throw new Error('the model returned no choices');
      const usage = completion.usage;
      return {
        content: choice.message.content ?? '',
        model: completion.model,
        usage: usage
          ? { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens, totalTokens: usage.total_tokens }
          : null,
      };
    },
  };
}

export { OpenAI };
