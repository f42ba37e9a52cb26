import { ApplicationFailure } from '@temporalio/common';
import OpenAI from 'openai';
import type { Config } from '../config.js';
import type { SemanticSearch } from './search.js';

/** At most this many inputs per request: well under every provider's limit, and one heartbeat per batch. */
export const EMBEDDINGS_BATCH = 64;
/** One batch of chunks embeds in seconds; a request past this is treated as lost (the activity retries). */
const EMBEDDINGS_TIMEOUT_MS = 30_000;

export const embeddingsFailureTypes = { unavailable: 'EmbeddingsUnavailable', rejected: 'EmbeddingsRejected' } as const;

/** The narrow interface search and ingestion depend on, so tests can hand in a fake. */
export interface EmbeddingsClient {
  readonly model: string;
  /** EMBEDDINGS_DIMENSIONS when set: stored vectors of another size are stale and embedded again. */
  readonly dimensions?: number;
  /** One vector per input, in input order; sent in batches of {@link EMBEDDINGS_BATCH}. */
  embed(inputs: string[], signal?: AbortSignal, onBatch?: (done: number) => void): Promise<number[][]>;
}

export interface EmbeddingsOptions {
  model: string;
  apiKey?: string;
  baseURL?: string;
  dimensions?: number;
  timeoutMs?: number;
}

/**
 * Embeddings through the `openai` package against any OpenAI-compatible endpoint. Like the chat client it
 * never retries by itself (`maxRetries: 0`): retries belong to the Temporal activity, where they are visible.
 * Vectors are asked for as plain floats: not every compatible server speaks the SDK's default base64.
 */
export function createEmbeddingsClient(options: EmbeddingsOptions): EmbeddingsClient {
  const openai = new OpenAI({
    apiKey: options.apiKey ?? 'not-needed',
    baseURL: options.baseURL,
    timeout: options.timeoutMs ?? EMBEDDINGS_TIMEOUT_MS,
    maxRetries: 0,
  });
  return {
    model: options.model,
    dimensions: options.dimensions,
    async embed(inputs, signal, onBatch) {
      const vectors: number[][] = [];
      for (let start = 0; start < inputs.length; start += EMBEDDINGS_BATCH) {
        const batch = inputs.slice(start, start + EMBEDDINGS_BATCH);
        const res = await openai.embeddings.create(
          { model: options.model, input: batch, encoding_format: 'float', ...(options.dimensions ? { dimensions: options.dimensions } : {}) },
          { signal },
        );
        vectors.push(...checked(res.data, batch.length));
        onBatch?.(vectors.length);
      }
      return vectors;
    },
  };
}

/** The response's vectors in input order; a short or ragged answer is an error, not silently misaligned rows. */
function checked(data: OpenAI.Embeddings.Embedding[], expected: number): number[][] {
  const sorted = [...data].sort((a, b) => a.index - b.index);
  const size = sorted[0]?.embedding.length ?? 0;
  const ok = sorted.length === expected && size > 0 && sorted.every((d, i) => d.index === i && d.embedding.length === size);
  if (!ok) throw new Error(`embeddings endpoint answered ${data.length} vectors for ${expected} inputs, or vectors of different sizes`);
  return sorted.map((d) => d.embedding);
}

/** The configured client, or undefined when EMBEDDINGS_MODEL is unset (search stays full-text only). */
export function embeddingsFromConfig(config: Config): EmbeddingsClient | undefined {
  if (!config.EMBEDDINGS_MODEL) return undefined;
  return createEmbeddingsClient({
    model: config.EMBEDDINGS_MODEL,
    apiKey: config.EMBEDDINGS_API_KEY ?? config.OPENAI_API_KEY,
    baseURL: config.EMBEDDINGS_BASE_URL ?? config.OPENAI_BASE_URL,
    dimensions: config.EMBEDDINGS_DIMENSIONS,
  });
}

/**
 * How search embeds one query: within `timeoutMs` (and the caller's `signal`), since past that answering from
 * full-text search alone beats keeping a turn or an operator waiting on an embeddings outage.
 */
export function querySemantics(
  client: EmbeddingsClient,
  { timeoutMs, signal, onError }: { timeoutMs: number; signal?: AbortSignal; onError?: (err: unknown) => void },
): SemanticSearch {
  return {
    model: client.model,
    embedQuery: async (query) => {
      const deadline = AbortSignal.timeout(timeoutMs);
      const [vector] = await client.embed([query], signal ? AbortSignal.any([signal, deadline]) : deadline);
      return vector!;
    },
    onError,
  };
}

/**
 * Maps a client error to a Temporal failure, as `toLlmFailure` does for chat: 4xx other than 408/409/429 will
 * not succeed on retry; 429 retries after Retry-After; anything else propagates and is retried.
 */
export function toEmbeddingsFailure(err: unknown): unknown {
  if (!(err instanceof OpenAI.APIError) || typeof err.status !== 'number') return err;
  const status = err.status;
  if (status === 429) {
    const seconds = Number(err.headers?.get?.('retry-after'));
    return ApplicationFailure.create({
      type: embeddingsFailureTypes.unavailable,
      message: 'embeddings rate limited (429)',
      nextRetryDelay: Number.isFinite(seconds) && seconds > 0 ? `${seconds}s` : undefined,
    });
  }
  if (status >= 400 && status < 500 && status !== 408 && status !== 409) {
    return ApplicationFailure.create({
      type: embeddingsFailureTypes.rejected,
      message: `embeddings request rejected (${status}): ${err.message}`.slice(0, 500),
      nonRetryable: true,
    });
  }
  return err;
}
