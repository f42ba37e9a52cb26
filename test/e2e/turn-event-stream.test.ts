import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger';
import { openSse } from '../support/sse';
import { startGateway, startStack, testDb, testProject, type Stack } from '../support/stack';
import { delta, turnWithLog } from '../support/turn-log';

/*
 * The gateway side of live turns, over logs this file writes itself with `appendTurnEvents` (as the worker's
 * activities do): the SSE format, the JSON list, resuming, heartbeats, limits and tenancy. The safety re-read
 * is set to ten minutes, so an event that arrives at all arrived through LISTEN/NOTIFY.
 */
let stack: Stack;
let gateway: Awaited<ReturnType<typeof startGateway>>;
const NO_SAFETY_READ = { safetyReadMs: 600_000 };

beforeAll(async () => {
  stack = await startStack();
  gateway = await startGateway(stack.config, stack.db, stack.temporal.client, createLogger('silent'), NO_SAFETY_READ);
});
afterAll(async () => {
  await gateway?.close();
  await stack?.stop();
});

async function log() {
  const t = await turnWithLog(stack.db, gateway.url);
  return { ...t, eventsUrl: (base = gateway.url) => base + t.eventsPath };
}

const completed = { type: 'turn.completed' as const, data: { answer: 'Hello', usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 }, stopReason: 'stop' } };

describe('turn event streams', () => {
  it('streams the log as specified: id = seq from 1, event = type, data = JSON; live events follow; ends after the terminal event', async () => {
    const t = await log();
    await t.append({ type: 'turn.started' }, delta('Hel'));
    const sse = await openSse(t.eventsUrl(), { headers: t.auth });
    expect(sse.status).toBe(200);
    expect(sse.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(sse.headers.get('cache-control')).toBe('no-cache');
    expect(sse.headers.get('x-accel-buffering')).toBe('no');
    expect((await sse.next()).event).toBe('turn.started');
    await sse.next();
    // Written while the client waits: reaches it through NOTIFY (the safety re-read is ten minutes away).
    await t.append(delta('lo'), { type: 'tool.started', data: { name: 'lookup', callId: 'c1', attempt: 1 } });
    await t.append({ type: 'tool.completed', data: { name: 'lookup', callId: 'c1', attempt: 1, ms: 12 } }, completed);
    await sse.done;
    expect(sse.events.map((e) => [e.id, e.event])).toEqual([
      ['1', 'turn.started'], ['2', 'message.delta'], ['3', 'message.delta'], ['4', 'tool.started'], ['5', 'tool.completed'], ['6', 'turn.completed'],
    ]);
    for (const e of sse.events) {
      expect(e.data).toMatchObject({ seq: Number(e.id), type: e.event, turnIndex: 1 });
      expect(new Date(e.data.createdAt).toISOString()).toBe(e.data.createdAt);
    }
    expect(sse.events[1]!.data.text + sse.events[2]!.data.text).toBe('Hello');
    expect(sse.events[5]!.data).toMatchObject({ answer: 'Hello', usage: { totalTokens: 5 }, stopReason: 'stop' });
  });

  it('lists the log as JSON pages; Last-Event-ID wins over ?after=', async () => {
    const t = await log();
    await t.append({ type: 'turn.started' }, delta('a'), delta('b'), delta('c'), completed);
    const path = `/v1/conversations/${t.conv.id}/turns/1/events`;
    const first = await t.api('GET', `${path}?limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.items.map((e: { seq: number }) => e.seq)).toEqual([1, 2]);
    const second = await t.api('GET', `${path}?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.items.map((e: { seq: number }) => e.seq)).toEqual([3, 4]);
    const last = await t.api('GET', `${path}?limit=2&cursor=${second.body.nextCursor}`);
    expect(last.body).toMatchObject({ items: [{ seq: 5, type: 'turn.completed', answer: 'Hello' }], nextCursor: null });
    expect((await t.api('GET', `${path}?after=3`)).body.items.map((e: { seq: number }) => e.seq)).toEqual([4, 5]);
    expect((await t.api('GET', `${path}?after=1`, undefined, { 'last-event-id': '4' })).body.items.map((e: { seq: number }) => e.seq)).toEqual([5]);
    expect((await t.api('GET', path, undefined, { 'last-event-id': 'x1' })).status).toBe(400);
    // Beyond a Postgres integer: refused as a bad cursor, not a database error.
    expect((await t.api('GET', `${path}?cursor=9999999999`)).status).toBe(400);
  });

  it('resumes with Last-Event-ID on a second gateway while the turn runs, losing and repeating nothing', async () => {
    const t = await log();
    const otherDb = testDb(stack.config);
    const other = await startGateway(stack.config, otherDb, stack.temporal.client, createLogger('silent'), NO_SAFETY_READ);
    try {
      await t.append({ type: 'turn.started' }, delta('1'), delta('2'));
      const a = await openSse(t.eventsUrl(), { headers: t.auth });
      await a.next();
      await a.next();
      await a.close();
      await t.append(delta('3'));
      const seen = Number(a.events.at(-1)!.id);
      const b = await openSse(t.eventsUrl(other.url), { headers: { ...t.auth, 'last-event-id': String(seen) } });
      expect(Number((await b.next()).id)).toBe(seen + 1);
      await t.append(delta('4'), completed);
      await b.done;
      const ids = [...a.events, ...b.events].map((e) => Number(e.id));
      expect(ids).toEqual([1, 2, 3, 4, 5, 6]);
    } finally {
      await other.close();
      await otherDb.close();
    }
  });

  it('replays the rest of an ended turn from Last-Event-ID (or ?after=) and ends', async () => {
    const t = await log();
    await t.append({ type: 'turn.started' }, delta('a'), { type: 'turn.failed', data: { reason: 'model unavailable' } });
    const fromHeader = await openSse(t.eventsUrl(), { headers: { ...t.auth, 'last-event-id': '1' } });
    await fromHeader.done;
    expect(fromHeader.events.map((e) => e.id)).toEqual(['2', '3']);
    expect(fromHeader.events[1]!.data).toMatchObject({ type: 'turn.failed', reason: 'model unavailable' });
    const fromQuery = await openSse(`${t.eventsUrl()}?after=2`, { headers: t.auth });
    await fromQuery.done;
    expect(fromQuery.events.map((e) => e.id)).toEqual(['3']);
  });

  it('sends heartbeat comments while nothing happens', async () => {
    const t = await log();
    const beating = await startGateway(stack.config, stack.db, stack.temporal.client, createLogger('silent'), { ...NO_SAFETY_READ, heartbeatMs: 20 });
    try {
      await t.append({ type: 'turn.started' });
      const sse = await openSse(t.eventsUrl(beating.url), { headers: t.auth });
      await sse.next();
      await expect.poll(() => sse.comments.length, { timeout: 10_000, interval: 20 }).toBeGreaterThanOrEqual(2);
      expect(new Set(sse.comments.map((c) => c.trim()))).toEqual(new Set(['keep-alive']));
      await t.append(completed);
      await sse.done;
      expect(sse.events.map((e) => e.event)).toEqual(['turn.started', 'turn.completed']);
    } finally {
      await beating.close();
    }
  });

  it('ends the stream of a turn that is over but whose log has no terminal event (a pruned log), after two quiet re-reads', async () => {
    const t = await log(); // no workflow ever ran for it: the turn counts as over
    const quick = await startGateway(stack.config, stack.db, stack.temporal.client, createLogger('silent'), { safetyReadMs: 50 });
    try {
      await t.append({ type: 'turn.started' }, delta('cut short'));
      const sse = await openSse(t.eventsUrl(quick.url), { headers: t.auth });
      await sse.done;
      expect(sse.events.map((e) => e.event)).toEqual(['turn.started', 'message.delta']);
    } finally {
      await quick.close();
    }
  });

  it('answers 404 for another project\'s conversation or a turn not handed out, 403 without conversations:read', async () => {
    const t = await log();
    const stranger = await testProject(stack.db);
    const foreign = await openSse(t.eventsUrl(), { headers: { authorization: `Bearer ${stranger.adminKey}` } });
    expect(foreign.status).toBe(404);
    expect(foreign.json).toMatchObject({ error: { code: 'not_found' } });
    const later = await openSse(`${gateway.url}/v1/conversations/${t.conv.id}/turns/2/events`, { headers: t.auth });
    expect(later.status).toBe(404);
    const writeOnly = await t.project.key(['conversations:write']);
    expect((await openSse(t.eventsUrl(), { headers: { authorization: `Bearer ${writeOnly}` } })).status).toBe(403);
  });

  it('documents the routes, with the streamed answers as text/event-stream', async () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const doc: any = await (await fetch(`${gateway.url}/openapi.json`)).json();
    const events = doc.paths['/v1/conversations/{id}/turns/{index}/events'].get;
    expect(Object.keys(events.responses['200'].content)).toEqual(['application/json', 'text/event-stream']);
    expect(Object.keys(doc.paths['/v1/conversations/{id}/messages'].post.responses['200'].content)).toContain('text/event-stream');
    expect(doc.paths['/v1/conversations/{id}/turns'].get.responses['200'].content['application/json']).toBeDefined();
  });
});
