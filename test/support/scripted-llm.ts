import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readJson } from '../../src/llm/demo-server';
import { chatCompletionBody, chatCompletionChunks, estimateTokens, streamChunks } from '../../src/llm/wire';

export interface ChatRequestBody {
  model: string;
  messages: Array<{ role: string; content: string | null; tool_call_id?: string; tool_calls?: unknown[] }>;
  tools?: Array<{ type: 'function'; function: { name: string; description?: string; parameters: unknown } }>;
  temperature?: number;
  max_tokens?: number;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
}

export interface EmbeddingsRequestBody {
  model: string;
  input: string | string[];
  dimensions?: number;
  encoding_format?: 'float' | 'base64';
}

/** Vectors for a request's inputs (in order), or an HTTP error to answer instead. */
export type Embedder = (inputs: string[], body: EmbeddingsRequestBody) => number[][] | { status: number; body?: unknown };

/**
 * A deterministic stand-in for an embeddings model: a hashed bag of words in `dims` dimensions, L2-normalised,
 * so texts sharing words are close in cosine distance. `synonyms` maps a word to the one it counts as
 * ("parcel" → "package"), which is how a test makes two texts close that share no word.
 */
export function hashedEmbedding(text: string, { dims = 64, synonyms = {} }: { dims?: number; synonyms?: Record<string, string> } = {}): number[] {
  const v = new Array<number>(dims).fill(0);
  for (const raw of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    const word = synonyms[raw] ?? raw;
    let h = 2166136261; // FNV-1a
    for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 16777619) >>> 0;
    v[h % dims]! += 1;
  }
  const norm = Math.hypot(...v);
  return norm === 0 ? v : v.map((x) => x / norm);
}

/**
 * How a reply is streamed when the request asks for `stream: true` (ignored otherwise): `chunkDelayMs` waits
 * between chunks (a slow model), `dropAfterChunks` closes the connection after that many chunks without
 * finishing (a connection lost mid-answer), `holdAfterChunks` stops after that many chunks until `release`
 * settles (a test acts mid-answer), `chunkChars` sizes the content pieces (default: one word each). The first
 * chunk carries only the role, so `n` chunks hold `n - 1` pieces of text.
 */
export interface StreamShape {
  chunkDelayMs?: number;
  dropAfterChunks?: number;
  holdAfterChunks?: number;
  release?: Promise<unknown>;
  chunkChars?: number;
}

/** One scripted answer: a reply, an HTTP error, or a request that never answers. */
export type Step =
  | ({ reply: string; delayMs?: number } & StreamShape)
  | ({ toolCalls: Array<{ id?: string; name: string; arguments: Record<string, unknown> | string }>; content?: string; delayMs?: number } & StreamShape)
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { hang: true };

/**
 * An OpenAI-compatible server for tests, driven through the real `openai` client. It answers from a queue
 * of scripted steps (as Server-Sent Events when the request says `stream: true`), records every request, and fails loudly (HTTP 500 plus an entry in `failures`) when
 * a request arrives after the script ran out, unless a `fallback` was given (benchmarks use one).
 * `POST …/embeddings` is answered by `embedder` instead (no script), and recorded in `embeddingRequests`.
 */
export class ScriptedLlm {
  readonly requests: ChatRequestBody[] = [];
  readonly failures: string[] = [];
  readonly embeddingRequests: EmbeddingsRequestBody[] = [];
  /** Replace to change the vectors or to fail requests; the default is {@link hashedEmbedding}. */
  embedder: Embedder = (inputs) => inputs.map((text) => hashedEmbedding(text));
  private readonly steps: Step[] = [];
  private server?: Server;

  constructor(private readonly fallback?: (req: ChatRequestBody) => Step) {}

  script(...steps: Step[]): this {
    this.steps.push(...steps);
    return this;
  }

  get pending(): number {
    return this.steps.length;
  }

  get baseUrl(): string {
    const address = this.server?.address() as AddressInfo | null;
    if (!address) throw new Error('scripted LLM is not listening');
    return `http://127.0.0.1:${address.port}/v1`;
  }

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      if (req.method === 'POST' && req.url?.endsWith('/embeddings')) {
        await this.answerEmbeddings(req, res);
        return;
      }
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
        res.writeHead(404).end();
        return;
      }
      const body = (await readJson(req)) as unknown as ChatRequestBody;
      this.requests.push(body);
      const step = this.steps.shift() ?? this.fallback?.(body);
      if (!step) {
        const message = `scripted LLM: script ran out at request ${this.requests.length} (last user message: ${JSON.stringify(body.messages.at(-1)?.content)})`;
        this.failures.push(message);
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message } }));
        return;
      }
      if ('hang' in step) return; // never answers; the client's timeout or cancellation ends it
      if ('status' in step) {
        res.writeHead(step.status, { 'content-type': 'application/json', ...step.headers });
        res.end(JSON.stringify(step.body ?? { error: { message: `scripted ${step.status}`, type: 'scripted' } }));
        return;
      }
      if (step.delayMs) await new Promise((r) => setTimeout(r, step.delayMs));
      const calls = 'toolCalls' in step
        ? step.toolCalls.map((c, i) => ({
          id: c.id ?? `call_${this.requests.length}_${i}`,
          name: c.name,
          arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments),
        }))
        : [];
      const content = 'reply' in step ? step.reply : (step.content ?? '');
      if (body.stream) {
        const chunks = chatCompletionChunks(body.model, content, estimateTokens(body.messages), calls, {
          usage: body.stream_options?.include_usage === true,
          chunkChars: step.chunkChars,
        });
        const hold = step.holdAfterChunks !== undefined ? { after: step.holdAfterChunks, until: step.release ?? new Promise(() => {}) } : undefined;
        await streamChunks(res, chunks, { delayMs: step.chunkDelayMs, dropAfter: step.dropAfterChunks, hold });
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(chatCompletionBody(body.model, content, estimateTokens(body.messages), calls)));
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return this;
  }

  /** The OpenAI wire format: `{ object: 'list', data: [{ object: 'embedding', index, embedding }], model, usage }`. */
  private async answerEmbeddings(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = (await readJson(req)) as unknown as EmbeddingsRequestBody;
    this.embeddingRequests.push(body);
    const inputs = typeof body.input === 'string' ? [body.input] : body.input;
    const answer = this.embedder(inputs, body);
    if ('status' in answer) {
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body ?? { error: { message: `scripted embeddings ${answer.status}`, type: 'scripted' } }));
      return;
    }
    // The SDK asks for base64 unless told otherwise: little-endian float32, as OpenAI sends it.
    const encode = (v: number[]) => (body.encoding_format === 'base64' ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v);
    const tokens = inputs.reduce((n, text) => n + (text.match(/\S+/g)?.length ?? 0), 0);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({
      object: 'list',
      data: answer.map((embedding, index) => ({ object: 'embedding', index, embedding: encode(embedding) })),
      model: body.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    }));
  }

  /** Requests that asked for a streamed answer. */
  get streamedRequests(): number {
    return this.requests.filter((r) => r.stream).length;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}
