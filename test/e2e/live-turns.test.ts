import { describe, expect, it } from 'vitest';
import { projectWithApi, stackPerFile } from '../support/file-stack';
import { ScriptedLlm } from '../support/scripted-llm';
import { openSse, type SseStream } from '../support/sse';
import type { Stack } from '../support/stack';

/*
 * Real turns streamed end to end: POST …/messages with Accept: text/event-stream through the real gateway,
 * worker, Temporal and Postgres, the scripted model streaming its answer; then the turns list.
 */
const llm = new ScriptedLlm();
let stack: Stack;
stackPerFile((s) => (stack = s), llm);

async function conversation() {
  const { api, adminKey } = await projectWithApi(stack);
  const agent = await api('POST', '/v1/agents', { name: 'Support', goal: 'Answer questions' });
  const conv = await api('POST', '/v1/conversations', { agentId: agent.body.id });
  const auth = { authorization: `Bearer ${adminKey}` };
  const send = (content: string, headers: Record<string, string> = {}) =>
    openSse(`${stack.gateway.url}/v1/conversations/${conv.body.id}/messages`, { method: 'POST', headers: { ...auth, ...headers }, body: { content } });
  return { api, conversationId: conv.body.id as string, send };
}

/** Releasable hold on the scripted model, so a test acts while the answer is half-streamed. */
function gate() {
  let open!: () => void;
  const release = new Promise<void>((resolve) => (open = resolve));
  return { release, open };
}

async function nextOfType(sse: SseStream, type: string) {
  for (;;) {
    const e = await sse.next();
    if (e.event === type) return e;
  }
}

describe('streamed turns', () => {
  it('streams a turn from turn.started: deltas arrive while it runs and concatenate to the stored answer', async () => {
    const { api, conversationId, send } = await conversation();
    const answer = 'Our opening hours are nine to five on weekdays.';
    const hold = gate();
    llm.script({ reply: answer, holdAfterChunks: 3, release: hold.release });
    const sse = await send('When are you open?');
    expect(sse.status).toBe(200);
    const started = await sse.next();
    expect(started).toMatchObject({ id: '1', event: 'turn.started', data: { seq: 1, type: 'turn.started', turnIndex: 1 } });
    const firstDelta = await nextOfType(sse, 'message.delta');
    // The model is held mid-answer: the client has text while the turn still runs.
    expect((await api('GET', `/v1/conversations/${conversationId}/turns/1`)).body.status).toBe('running');
    expect(answer.startsWith(firstDelta.data.text)).toBe(true);
    hold.open();
    await sse.done;
    const ids = sse.events.map((e) => Number(e.id));
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    const last = sse.events.at(-1)!;
    expect(last.event).toBe('turn.completed');
    expect(last.data).toMatchObject({ answer, turnIndex: 1, usage: { totalTokens: expect.any(Number) } });
    const text = sse.events.filter((e) => e.event === 'message.delta').map((e) => e.data.text).join('');
    expect(text).toBe(answer);
    const messages = await api('GET', `/v1/conversations/${conversationId}/messages`);
    expect(messages.body.items.at(-1)).toMatchObject({ role: 'assistant', content: answer });
  });

  it('attaches a retried POST (same Idempotency-Key) to the same turn\'s stream', async () => {
    const { conversationId, send, api } = await conversation();
    const hold = gate();
    llm.script({ reply: 'Just once.', holdAfterChunks: 2, release: hold.release });
    const before = llm.requests.length;
    const first = await send('Do it once', { 'idempotency-key': 'k-1' });
    await nextOfType(first, 'turn.started');
    const retry = await send('Do it once', { 'idempotency-key': 'k-1' });
    expect(retry.status).toBe(200);
    hold.open();
    await Promise.all([first.done, retry.done]);
    expect(retry.events.map((e) => [e.id, e.event])).toEqual(first.events.map((e) => [e.id, e.event]));
    expect(retry.events[0]!.data.turnIndex).toBe(1);
    expect(llm.requests.length - before).toBe(1);
    expect((await api('GET', `/v1/conversations/${conversationId}`)).body.lastTurnIndex).toBe(1);
  });

  it('lists a conversation\'s turns with status, timings, tools and tokens, filtered and paged', async () => {
    const { api, conversationId, send } = await conversation();
    llm.script({ reply: 'One.' }, { status: 400, body: { error: { message: 'bad request', type: 'invalid_request_error' } } });
    await (await send('first')).done;
    const failed = await send('second');
    await failed.done;
    expect(failed.events.at(-1)!.event).toBe('turn.failed');

    const all = await api('GET', `/v1/conversations/${conversationId}/turns`);
    expect(all.status).toBe(200);
    expect(all.body.items.map((t: { index: number; status: string }) => [t.index, t.status])).toEqual([[2, 'failed'], [1, 'completed']]);
    const done = all.body.items[1];
    expect(done).toMatchObject({ toolCount: 0, stopReason: 'stop', usage: { totalTokens: expect.any(Number) }, responseTimeMs: expect.any(Number) });
    expect(Date.parse(done.completedAt)).toBeGreaterThanOrEqual(Date.parse(done.startedAt));
    const onlyFailed = await api('GET', `/v1/conversations/${conversationId}/turns?status=failed`);
    expect(onlyFailed.body.items.map((t: { index: number }) => t.index)).toEqual([2]);
    const page = await api('GET', `/v1/conversations/${conversationId}/turns?limit=1`);
    const next = await api('GET', `/v1/conversations/${conversationId}/turns?limit=1&cursor=${page.body.nextCursor}`);
    expect([page.body.items[0].index, next.body.items[0].index, next.body.nextCursor]).toEqual([2, 1, null]);
  });
});
