import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLlmClient, type ChatRequest } from '../../src/llm/client';
import { readJson } from '../../src/llm/demo-server';
import { IncompleteStreamError } from '../../src/llm/stream';
import { chatCompletionBody, chatCompletionChunks, streamChunks } from '../../src/llm/wire';

type Body = { stream?: boolean; stream_options?: unknown };
type Answer = (body: Body) => { status: number; json: unknown } | { chunks: unknown[]; dropAfter?: number; noDone?: boolean };

let server: Server | undefined;
const seen: Body[] = [];
afterEach(async () => {
  seen.length = 0;
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
});

/** A model server answering each request as `answer` says. */
async function model(answer: Answer) {
  server = createServer(async (req, res) => {
    const body = (await readJson(req)) as Body;
    seen.push(body);
    const a = answer(body);
    if ('status' in a) return res.writeHead(a.status, { 'content-type': 'application/json' }).end(JSON.stringify(a.json));
    if (a.noDone) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const c of a.chunks) res.write(`data: ${JSON.stringify(c)}\n\n`);
      return res.end(); // a clean end, but no finish reason and no [DONE]
    }
    await streamChunks(res, a.chunks, { dropAfter: a.dropAfter });
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return createLlmClient({ baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, timeoutMs: 5000 });
}

const request: ChatRequest = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };
const calls = [{ id: 'c1', name: 'lookup', arguments: '{"city":"Lyon","days":[1,2,3]}' }, { id: 'c2', name: 'other', arguments: '{}' }];

describe('streamed model calls through the openai client', () => {
  it('assembles text, tool calls, usage and finish reason into what a plain call returns', async () => {
    const llm = await model((b) => (b.stream ? { chunks: chatCompletionChunks('m', 'Let me check.', 5, calls, { usage: true }) } : { status: 200, json: chatCompletionBody('m', 'Let me check.', 5, calls) }));
    const pieces: string[] = [];
    const streamed = await llm.chat(request, undefined, (t) => pieces.push(t));
    const plain = await llm.chat(request);
    expect(streamed).toEqual(plain);
    expect(streamed).toMatchObject({ content: 'Let me check.', toolCalls: calls, finishReason: 'tool_calls', usage: { promptTokens: 5 } });
    expect(pieces.join('')).toBe('Let me check.');
    expect(pieces.length).toBeGreaterThan(1);
    expect(seen[0]).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('steps down to a stream without usage when the server refuses stream_options, and stays there', async () => {
    const llm = await model((b) =>
      b.stream_options ? { status: 400, json: { error: { message: 'Unrecognized request argument supplied: stream_options' } } } : { chunks: chatCompletionChunks('m', 'Fine.', 1) });
    expect(await llm.chat(request, undefined, () => {})).toMatchObject({ content: 'Fine.', usage: null });
    expect(await llm.chat(request, undefined, () => {})).toMatchObject({ content: 'Fine.' });
    expect(seen.map((b) => [b.stream, b.stream_options !== undefined])).toEqual([[true, true], [true, false], [true, false]]);
  });

  it('falls back to a plain call when the server refuses streaming, and takes a JSON answer to a stream request', async () => {
    const refusing = await model((b) => (b.stream ? { status: 400, json: { error: { message: 'streaming is not supported' } } } : { status: 200, json: chatCompletionBody('m', 'Whole.', 1) }));
    const pieces: string[] = [];
    expect(await refusing.chat(request, undefined, (t) => pieces.push(t))).toMatchObject({ content: 'Whole.' });
    expect(pieces).toEqual(['Whole.']);
    server!.closeAllConnections();
    await new Promise((r) => server!.close(r));

    const ignoring = await model(() => ({ status: 200, json: chatCompletionBody('m', 'Ignored stream.', 1) }));
    expect(await ignoring.chat(request, undefined, () => {})).toMatchObject({ content: 'Ignored stream.' });
  });

  it('does not step down on a refusal that is about the prompt', async () => {
    const llm = await model(() => ({ status: 400, json: { error: { message: 'context length exceeded' } } }));
    await expect(llm.chat(request, undefined, () => {})).rejects.toMatchObject({ status: 400 });
    expect(seen).toHaveLength(1);
  });

  it('fails (retryably) when the stream ends before a finish reason, cut or cleanly closed', async () => {
    const chunks = chatCompletionChunks('m', 'one two three four', 1);
    const cut = await model(() => ({ chunks, dropAfter: 3 }));
    await expect(cut.chat(request, undefined, () => {})).rejects.toThrow();
    server!.closeAllConnections();
    await new Promise((r) => server!.close(r));
    const closed = await model(() => ({ chunks: chunks.slice(0, 3), noDone: true }));
    await expect(closed.chat(request, undefined, () => {})).rejects.toBeInstanceOf(IncompleteStreamError);
  });

  it('reports a cancellation mid-stream as the abort, not as an answer or a broken stream', async () => {
    const llm = await model(() => ({ chunks: chatCompletionChunks('m', 'slow words here', 1) }));
    const abort = new AbortController();
    const chat = llm.chat(request, abort.signal, () => abort.abort());
    await expect(chat).rejects.toMatchObject({ name: 'AbortError' });
  });
});
