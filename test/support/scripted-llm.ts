import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readJson } from '../../src/llm/demo-server';
import { chatCompletionBody, estimateTokens } from '../../src/llm/wire';

export interface ChatRequestBody {
  model: string;
  messages: Array<{ role: string; content: string | null; tool_call_id?: string; tool_calls?: unknown[] }>;
  tools?: Array<{ type: 'function'; function: { name: string; description?: string; parameters: unknown } }>;
  temperature?: number;
  max_tokens?: number;
}

/** One scripted answer: a reply, an HTTP error, or a request that never answers. */
export type Step =
  | { reply: string; delayMs?: number }
  | { toolCalls: Array<{ id?: string; name: string; arguments: Record<string, unknown> | string }>; delayMs?: number }
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { hang: true };

/**
 * An OpenAI-compatible server for tests, driven through the real `openai` client. It answers from a queue
 * of scripted steps, records every request, and fails loudly (HTTP 500 plus an entry in `failures`) when
 * a request arrives after the script ran out, unless a `fallback` was given (benchmarks use one).
 */
export class ScriptedLlm {
  readonly requests: ChatRequestBody[] = [];
  readonly failures: string[] = [];
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
      if ('toolCalls' in step) {
        const calls = step.toolCalls.map((c, i) => ({
          id: c.id ?? `call_${this.requests.length}_${i}`,
          name: c.name,
          arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments),
        }));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(chatCompletionBody(body.model, '', estimateTokens(body.messages), calls)));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(chatCompletionBody(body.model, step.reply, estimateTokens(body.messages))));
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}
