import { createServer, type IncomingMessage, type Server } from 'node:http';
import { chatCompletionBody, chatCompletionChunks, estimateTokens, streamChunks } from './wire.js';

/**
 * A tiny OpenAI-compatible model for running the system offline (`npm start` without an API key).
 * It is not an LLM: it answers with a fixed, clearly marked reply that quotes the user's message, streamed in a
 * few chunks when the request asks for `stream: true`.
 */
export function createDemoModelServer(): Server {
  return createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url?.endsWith('/models')) {
      return send(200, { object: 'list', data: [{ id: 'demo-model', object: 'model', owned_by: 'smart-agents' }] });
    }
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      return send(404, { error: { message: 'not found', type: 'invalid_request_error' } });
    }
    readJson(req)
      .then((body) => {
        const messages = Array.isArray(body.messages) ? (body.messages as Array<{ role?: string; content?: unknown }>) : [];
        const lastUser = [...messages].reverse().find((m) => m.role === 'user');
        const turns = messages.filter((m) => m.role === 'user').length;
        const reply = `[demo model] You said: "${String(lastUser?.content ?? '').slice(0, 500)}". This is message ${turns} of our conversation. Set OPENAI_API_KEY or OPENAI_BASE_URL to talk to a real model.`;
        const model = typeof body.model === 'string' ? body.model : 'demo-model';
        if (body.stream !== true) return send(200, chatCompletionBody(model, reply, estimateTokens(messages)));
        // Streamed in a few pieces, a little apart, so a client sees the answer arrive as from a real model.
        const usage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
        const chunks = chatCompletionChunks(model, reply, estimateTokens(messages), [], { usage, chunkChars: Math.ceil(reply.length / 5) });
        return streamChunks(res, chunks, { delayMs: 40 });
      })
      .catch(() => (res.headersSent ? res.destroy() : send(400, { error: { message: 'invalid JSON body', type: 'invalid_request_error' } })));
  });
}

export async function readJson(req: IncomingMessage, limit = 5_000_000): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
}

if (require.main === module) {
  const port = Number(process.env.DEMO_LLM_PORT ?? 11435);
  const server = createDemoModelServer().listen(port, '127.0.0.1', () => {
    console.log(`demo model server (NOT a real LLM) on http://127.0.0.1:${port}/v1`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
