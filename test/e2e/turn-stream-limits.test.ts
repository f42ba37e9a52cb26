import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../../src/db/client';
import { createLogger } from '../../src/logger';
import { openSse } from '../support/sse';
import { startGateway, startStack, type Stack } from '../support/stack';
import { turnWithLog } from '../support/turn-log';

/*
 * What bounds and protects the streams: the per-gateway and per-project limits, refusals that stay JSON, and
 * the LISTEN connection coming back after Postgres drops it. The safety re-read is ten minutes away, so every
 * event here arrives through LISTEN/NOTIFY.
 */
let stack: Stack;
let gateway: Awaited<ReturnType<typeof startGateway>>;
const NO_SAFETY_READ = { safetyReadMs: 600_000 };

beforeAll(async () => {
  stack = await startStack();
  const limited = { ...stack.config, STREAM_MAX_PER_GATEWAY: 2, STREAM_MAX_PER_PROJECT: 1 };
  gateway = await startGateway(limited, stack.db, stack.temporal.client, createLogger('silent'), { ...NO_SAFETY_READ, drainTimeoutMs: 300 });
});
afterAll(async () => {
  await gateway?.close();
  await stack?.stop();
});

async function log(baseUrl = gateway.url) {
  const t = await turnWithLog(stack.db, baseUrl);
  await t.append({ type: 'turn.started' });
  return { ...t, open: () => openSse(baseUrl + t.eventsPath, { headers: t.auth }) };
}

const done = { type: 'turn.completed' as const, data: { answer: '' } };

describe('stream limits', () => {
  it('refuses a stream beyond the project or the gateway limit with a JSON 429, before anything starts', async () => {
    const a = await log();
    const b = await log();
    const c = await log();
    const first = await a.open();
    expect(first.status).toBe(200);

    const second = await a.open();
    expect(second.status).toBe(429);
    expect(second.headers.get('content-type')).toMatch(/^application\/json/);
    expect(second.json).toMatchObject({ error: { code: 'too_many_streams', details: { scope: 'project', limit: 1 } } });
    // A streamed POST at the limit starts no turn.
    const post = await openSse(`${gateway.url}/v1/conversations/${a.conv.id}/messages`, { method: 'POST', headers: a.auth, body: { content: 'hi' } });
    expect(post.status).toBe(429);
    expect((await a.api('GET', `/v1/conversations/${a.conv.id}`)).body.lastTurnIndex).toBe(1);

    const other = await b.open();
    expect(other.status).toBe(200);
    const third = await c.open();
    expect(third.status).toBe(429);
    expect(third.json).toMatchObject({ error: { code: 'too_many_streams', details: { scope: 'gateway', limit: 2 } } });

    // A client that leaves gives its slot back; a stream that ends does too.
    await first.close();
    await expect.poll(async () => {
      const again = await a.open();
      if (again.status === 200) await again.close();
      return again.status;
    }, { timeout: 10_000, interval: 50 }).toBe(200);
    await b.append(done);
    await other.done;
    const afterEnd = await c.open();
    expect(afterEnd.status).toBe(200);
    await c.append(done);
    await afterEnd.done;
    expect(afterEnd.events.map((e) => e.event)).toEqual(['turn.started', 'turn.completed']);
  });
});

describe('slow clients', () => {
  it('drops a client that stops reading while events wait, and gives its slot back', async () => {
    const t = await log();
    // 16 MB of events: more than the socket buffers hold, so writes wait for a drain that never comes.
    const big = 'x'.repeat(80_000);
    for (let i = 0; i < 4; i++) await t.append(...Array.from({ length: 50 }, () => ({ type: 'message.delta' as const, data: { text: big } })));
    const url = new URL(`${gateway.url}/v1/conversations/${t.conv.id}/turns/1/events`);
    // A client that opens the stream and never reads (its socket is paused, so it never sees the server close).
    const stalled = await new Promise<ReturnType<typeof request>>((resolve, reject) => {
      const req = request(url, { headers: { ...t.auth, accept: 'text/event-stream' } }, (res) => {
        expect(res.statusCode).toBe(200);
        res.pause();
        resolve(req);
      });
      req.on('error', reject);
      req.end();
    });
    // The project may hold one stream: it can open another only once the gateway has dropped the stalled one.
    await expect.poll(async () => {
      const again = await t.open();
      if (again.status === 200) await again.close();
      return again.status;
    }, { timeout: 20_000, interval: 100 }).toBe(200);
    stalled.destroy();
  });
});

describe('refusals of a streamed POST stay JSON', () => {
  it('answers 404, 400 and 409 as JSON when the client asked for text/event-stream', async () => {
    const t = await log();
    const post = (convId: string, body: unknown) =>
      openSse(`${gateway.url}/v1/conversations/${convId}/messages`, { method: 'POST', headers: t.auth, body });
    const unknown = await post(randomUUID(), { content: 'hi' });
    expect([unknown.status, unknown.headers.get('content-type')]).toEqual([404, expect.stringMatching(/^application\/json/)]);
    const invalid = await post(t.conv.id, { content: '' });
    expect(invalid.status).toBe(400);
    expect(invalid.json).toMatchObject({ error: { code: 'validation_failed' } });
    expect((await t.api('PATCH', `/v1/conversations/${t.conv.id}`, { status: 'paused' })).status).toBe(200);
    const paused = await post(t.conv.id, { content: 'hi' });
    expect(paused.status).toBe(409);
    expect(paused.json).toMatchObject({ error: { code: 'conversation_paused' } });
    // Every refusal gave its slot back: this project can still stream.
    const sse = await t.open();
    expect(sse.status).toBe(200);
    await t.append(done);
    await sse.done;
  });
});

describe('the LISTEN connection', () => {
  it('listens again after Postgres drops the connection, and streams go on without a safety re-read', async () => {
    const appName = `stream-listen-${randomUUID()}`;
    const db = createDb(stack.config.DATABASE_URL, { max: 2, appName });
    const own = await startGateway(stack.config, db, stack.temporal.client, createLogger('silent'), NO_SAFETY_READ);
    try {
      const t = await log(own.url);
      const sse = await t.open();
      await sse.next();
      const listeners = () =>
        stack.db.sql<{ pid: number }[]>`select pid from pg_stat_activity where application_name = ${appName} and query ilike 'listen%'`;
      await expect.poll(async () => (await listeners()).length, { timeout: 10_000, interval: 50 }).toBe(1);
      const [old] = await listeners();
      await stack.db.sql`select pg_terminate_backend(${old!.pid})`;
      // Written while the listener may be down: the relisten re-reads every stream, so it is not lost.
      await t.append({ type: 'message.delta', data: { text: 'after the drop' } });
      expect((await sse.next()).data.text).toBe('after the drop');
      await expect.poll(async () => (await listeners()).map((r) => r.pid).filter((p) => p !== old!.pid).length, { timeout: 10_000, interval: 50 }).toBe(1);
      await t.append(done);
      await sse.done;
      expect(sse.events.map((e) => e.id)).toEqual(['1', '2', '3']);
    } finally {
      await own.close();
      await db.close();
    }
  });
});
