import type { Request, Response } from 'express';
import { messageItemId } from '../../openai-compat/ids.js';
import { outputMessage, outputText, responseObject, type ResponseHead } from '../../openai-compat/responses.js';
import type { GatewayDeps } from '../deps.js';
import type { SseWriter } from '../conversations/sse.js';
import { runTurnStream } from './stream-frame.js';
import { turnEndError } from './turn-request.js';
import { turnText } from './turn-text.js';

/**
 * Streams a turn as Responses events, in the order the SDK's ResponseStream accumulates them, each with its
 * `sequence_number`: created, in_progress, output_item.added, content_part.added, output_text.delta…,
 * output_text.done, content_part.done, output_item.done, then completed (or incomplete, or failed). A
 * canceled turn or a diverged retry ends with an `error` event.
 */
export async function streamResponse(deps: GatewayDeps, req: Request, res: Response, head: ResponseHead): Promise<void> {
  await runTurnStream(deps, req, res, head, (writer, signal) => writeResponseEvents(deps, writer, signal, head));
}

async function writeResponseEvents(deps: GatewayDeps, writer: SseWriter, signal: AbortSignal, head: ResponseHead): Promise<void> {
  let seq = 0;
  const emit = (type: string, fields: Record<string, unknown>) => writer.event(seq, type, { type, sequence_number: seq++, ...fields });
  const part = { item_id: messageItemId(head), output_index: 0, content_index: 0 };
  let text = '';
  let opened = false;
  await emit('response.created', { response: responseObject(head, undefined, 'in_progress') });
  await emit('response.in_progress', { response: responseObject(head, undefined, 'in_progress') });
  const open = async () => {
    if (opened) return;
    opened = true;
    await emit('response.output_item.added', { output_index: 0, item: outputMessage(head, '', 'in_progress') });
    await emit('response.content_part.added', { ...part, part: outputText('') });
  };
  for await (const e of turnText(deps, head, signal)) {
    if (e.type === 'text') {
      await open();
      text += e.text;
      await emit('response.output_text.delta', { ...part, delta: e.text, logprobs: [] });
    } else if (e.type === 'diverged') {
      await emit('error', { code: 'stream_diverged', message: 'a retried model attempt answered differently from what was streamed; GET the response for the stored answer', param: null });
    } else if (e.row?.status === 'failed') {
      await emit('response.failed', { response: responseObject(head, e.row) });
    } else if (e.row?.status !== 'completed') {
      const err = turnEndError(e.row?.status, e.row?.error, false);
      await emit('error', { code: err.code, message: err.message, param: null });
    } else {
      await open();
      const done = responseObject(head, e.row);
      await emit('response.output_text.done', { ...part, text, logprobs: [] });
      await emit('response.content_part.done', { ...part, part: outputText(text) });
      await emit('response.output_item.done', { output_index: 0, item: done.output[0] });
      await emit(done.status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response: done });
    }
  }
}
