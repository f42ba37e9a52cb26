import type { Request, Response } from 'express';
import { parseRequestPart } from '../route.js';
import { chatChunk, chatCompletion, chatCompletionBody, finishReason, parseChatRequest } from '../../openai-compat/chat.js';
import { turnId } from '../../openai-compat/ids.js';
import type { GatewayDeps } from '../deps.js';
import type { SseWriter } from '../conversations/sse.js';
import { authOf } from './auth.js';
import { OpenAiError } from './errors.js';
import { awaitTurnEnd } from './turn-follow.js';
import { runTurnStream } from './stream-frame.js';
import { OPENAI_WAIT_MS, startTurn, turnEndError, waitSignal } from './turn-request.js';
import { turnText } from './turn-text.js';

/** `POST /v1/chat/completions`: one turn of a new or continued conversation, answered or streamed. */
export function chatCompletionsHandler(deps: GatewayDeps) {
  return async (req: Request, res: Response) => {
    const auth = authOf(req);
    const parsed = parseChatRequestBody(req);
    // A slot is taken before the turn starts (a 429 must not leave a turn running that nobody watches), streamed
    // or not: a waiting request follows the turn's log for minutes, like a stream.
    const release = deps.streams.slots.acquire(auth.projectId);
    try {
      const turn = await startTurn(deps, req, auth, parsed, 'chat.completions');
      const head = { id: turnId('chatcmpl-', turn), created: Math.floor(Date.now() / 1000), model: parsed.model };
      if (!parsed.stream) {
        const wait = waitSignal(req, OPENAI_WAIT_MS);
        const row = await awaitTurnEnd(deps, turn, wait.signal).finally(wait.done);
        if (res.destroyed) return;
        if (row?.status !== 'completed') throw turnEndError(row?.status, row?.error, req.get('idempotency-key') !== undefined);
        const usage = { promptTokens: row.promptTokens, completionTokens: row.completionTokens, totalTokens: row.totalTokens };
        res.json(chatCompletion(head, row.agentResponse ?? '', row.stopReason, usage));
        return;
      }
      await streamChat(deps, req, res, { ...turn, head, includeUsage: parsed.includeUsage });
    } finally {
      release();
    }
  };
}

function parseChatRequestBody(req: Request) {
  const body = parseRequestPart(chatCompletionBody, req.body, 'body');
  return parseChatRequest(body, req.get('x-conversation-id'));
}

interface ChatStream {
  conversationId: string;
  turnIndex: number;
  head: { id: string; created: number; model: string };
  includeUsage: boolean;
}

/**
 * Streams the turn as `chat.completion.chunk`s: the role first, the answer's text as it is written (growing
 * only, see ResetSafeText), the finish reason, the usage chunk when asked, then `[DONE]`. A failed or canceled
 * turn, or a retried attempt that diverged, ends the stream with an error event the SDK raises as an APIError.
 */
async function streamChat(deps: GatewayDeps, req: Request, res: Response, s: ChatStream): Promise<void> {
  const event = 'chat.completion.chunk';
  let seq = 0;
  await runTurnStream(deps, req, res, s, async (writer, signal) => {
    await writer.event(++seq, event, chatChunk(s.head, { role: 'assistant', content: '' }));
    for await (const e of turnText(deps, s, signal)) {
      if (e.type === 'text') await writer.event(++seq, event, chatChunk(s.head, { content: e.text }));
      else if (e.type === 'diverged') return await writeError(writer, ++seq, new OpenAiError(500, 'server_error', 'stream_diverged', 'a retried model attempt answered differently from what was streamed; retry with the same Idempotency-Key for the stored answer'));
      else if (e.row?.status !== 'completed') return await writeError(writer, ++seq, turnEndError(e.row?.status, e.row?.error, false));
      else {
        await writer.event(++seq, event, chatChunk(s.head, {}, finishReason(e.row.stopReason)));
        const usage = { promptTokens: e.row.promptTokens, completionTokens: e.row.completionTokens, totalTokens: e.row.totalTokens };
        if (s.includeUsage) await writer.event(++seq, event, chatChunk(s.head, null, null, usage));
        if (!writer.closed) res.write('data: [DONE]\n\n');
      }
    }
  });
}

async function writeError(writer: SseWriter, seq: number, e: OpenAiError): Promise<void> {
  await writer.event(seq, 'error', { error: { message: e.message, type: e.type, code: e.code, param: e.param } });
}
