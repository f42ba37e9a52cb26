/**
 * Live turns: time to the first `message.delta` of a streamed turn (POST …/messages with Accept:
 * text/event-stream, through the gateway, Temporal, the worker and the Postgres event log) against the
 * non-durable baseline streaming the same model straight through (bench/baseline-app.ts), at each model
 * latency (the wait before the model's first byte); the events written per turn; and what streaming adds to
 * a turn's total time: the same turns with the answer awaited as JSON instead of streamed. One client, turns
 * one after another, each in a fresh conversation (same prompt every time). Runs on the shared bench stack
 * (bench/env.ts). `npm run bench:streaming`; settings: BENCH_DELAYS (default 0,300), BENCH_TURNS (default 20),
 * BENCH_DATABASE_ADMIN_URL. Prints a table to stdout and, last, one JSON line with every number.
 */
import { performance } from 'node:perf_hooks';
import { createParser } from 'eventsource-parser';
import { ScriptedLlm } from '../test/support/scripted-llm';
import { startBaseline } from './baseline-app';
import { intEnv, percentiles, progress, runBench, runCleanup, startBenchStack, type Cleanup } from './env';

const TURNS = intEnv('BENCH_TURNS', 20, 1);
const WARMUP = 3;
const DELAYS = (process.env.BENCH_DELAYS ?? '0,300').split(',').map((s) => {
  const n = Number(s.trim());
  if (s.trim() === '' || !Number.isInteger(n) || n < 0) throw new Error(`BENCH_DELAYS must list integers >= 0, got ${JSON.stringify(s)}`);
  return n;
});
// About 60 words, one word per chunk, 5 ms apart: a short answer streamed at a realistic pace.
const ANSWER = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
const CHUNK_DELAY_MS = 5;

interface Sample {
  firstDeltaMs?: number;
  totalMs: number;
}

/** One streamed turn as a client sees it: when the first delta arrived, when the stream ended. */
async function streamedTurn(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<Sample> {
  const t0 = performance.now();
  const res = await fetch(url, {
    method: 'POST', signal,
    headers: { ...headers, accept: 'text/event-stream', 'content-type': 'application/json' },
    body: JSON.stringify({ content: 'How do I reset my password?' }),
  });
  if (res.status !== 200 || !res.body) throw new Error(`streamed POST answered ${res.status}: ${await res.text()}`);
  let firstDeltaMs: number | undefined;
  let last: string | undefined;
  const parser = createParser({
    onEvent: (e) => {
      if (e.event === 'message.delta') firstDeltaMs ??= performance.now() - t0;
      last = e.event;
    },
  });
  const decoder = new TextDecoder();
  for await (const chunk of res.body) parser.feed(decoder.decode(chunk, { stream: true }));
  if (last !== 'turn.completed') throw new Error(`the stream ended with ${last ?? 'nothing'}, not turn.completed`);
  return { firstDeltaMs, totalMs: performance.now() - t0 };
}

/** One turn whose answer is awaited as JSON. */
async function jsonTurn(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<Sample> {
  const t0 = performance.now();
  const res = await fetch(url, {
    method: 'POST', signal,
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ content: 'How do I reset my password?' }),
  });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`POST answered ${res.status}: ${body}`);
  return { totalMs: performance.now() - t0 };
}

type Mode = 'durableStream' | 'baselineStream' | 'durableJson' | 'baselineJson';

async function main(controller: AbortController): Promise<number> {
  const stop = controller.signal;
  const cleanup: Cleanup = [];
  try {
    let delayMs = 0;
    const llm = await new ScriptedLlm(() => ({ reply: ANSWER, delayMs, chunkDelayMs: CHUNK_DELAY_MS })).start();
    cleanup.push(['scripted LLM', () => llm.stop()]);
    const stack = await startBenchStack(cleanup, controller, {
      dbPrefix: 'sao_bench_stream',
      env: { OPENAI_BASE_URL: llm.baseUrl, OPENAI_API_KEY: 'bench', TURN_WAIT_MS: '60000' },
    });
    const { config } = stack;
    const baseline = await startBaseline(cleanup, config);

    const created = await stack.api('POST', '/v1/agents', { name: 'Streaming bench', goal: 'Answer briefly.' });
    const agentId = created.body.id as string;
    const conversation = async () => (await stack.api('POST', '/v1/conversations', { agentId })).body.id as string;
    const auth = { authorization: `Bearer ${stack.apiKey}` };
    const run: Record<Mode, (id: string) => Promise<Sample>> = {
      durableStream: (id) => streamedTurn(`${stack.gatewayUrl}/v1/conversations/${id}/messages`, auth, stop),
      baselineStream: (id) => streamedTurn(`${baseline.url}/baseline/conversations/${id}/messages`, {}, stop),
      durableJson: (id) => jsonTurn(`${stack.gatewayUrl}/v1/conversations/${id}/messages`, auth, stop),
      baselineJson: (id) => jsonTurn(`${baseline.url}/baseline/conversations/${id}/messages`, {}, stop),
    };
    const modes = Object.keys(run) as Mode[];
    // The baseline writes its turn rows through the same store, events included: count the durable turns' only.
    const durableConversations: string[] = [];
    const phase = async (mode: Mode, n: number) => {
      const samples: Sample[] = [];
      for (let i = 0; i < n; i++) {
        stop.throwIfAborted();
        const id = await conversation();
        samples.push(await run[mode](id));
        if (mode.startsWith('durable')) durableConversations.push(id);
      }
      llm.requests.length = 0;
      return samples;
    };

    for (const mode of modes) await phase(mode, WARMUP);
    const results: Row[] = [];
    for (const delay of DELAYS) {
      delayMs = delay;
      progress(`model latency ${delay} ms: ${TURNS} turns per mode`);
      const row: Row = { delayMs: delay };
      for (const mode of modes) {
        const samples = await phase(mode, TURNS);
        row[mode] = {
          total: percentiles(samples.map((s) => s.totalMs)),
          ...(mode.endsWith('Stream') ? { firstDelta: percentiles(samples.map((s) => s.firstDeltaMs ?? NaN)) } : {}),
        };
        progress(`  ${mode}: total p50 ${(row[mode] as { total: { p50: number } }).total.p50} ms`);
      }
      results.push(row);
    }

    const durableTurns = durableConversations.length;
    const byType = await stack.gatewayDb.sql<{ type: string; n: number }[]>`
      select type, count(*)::int as n from turn_event where conversation_id = any(${durableConversations}::uuid[]) group by type order by type`;
    const events = Object.fromEntries(byType.map((r) => [r.type, Math.round((r.n / durableTurns) * 10) / 10]));
    const eventsPerTurn = Math.round((byType.reduce((n, r) => n + r.n, 0) / durableTurns) * 10) / 10;
    report(results, { eventsPerTurn, events, durableTurns });
    return llm.failures.length === 0 ? 0 : 1;
  } finally {
    progress('shutting down');
    if (!(await runCleanup(cleanup))) process.exitCode = 1;
  }
}

type Row = Record<string, unknown> & { delayMs: number };
const p = (row: Row, mode: Mode, what: 'total' | 'firstDelta', q: 'p50' | 'p95') => (row[mode] as Record<string, Record<string, number>>)[what]![q]!;

function report(results: Row[], log: { eventsPerTurn: number; events: Record<string, number>; durableTurns: number }) {
  const lines = [
    `Streaming: ${TURNS} turns per mode and latency, one at a time; answer ${ANSWER.split(' ').length} words, one chunk each, ${CHUNK_DELAY_MS} ms apart (ms, p50 / p95)`,
    'model latency | first delta durable | first delta baseline | added | total streamed durable | total JSON durable | streaming adds | total streamed baseline | total JSON baseline (plain model call)',
  ];
  for (const r of results) {
    const pair = (mode: Mode, what: 'total' | 'firstDelta') => `${p(r, mode, what, 'p50')} / ${p(r, mode, what, 'p95')}`;
    lines.push([
      `${r.delayMs}`, pair('durableStream', 'firstDelta'), pair('baselineStream', 'firstDelta'),
      `${Math.round((p(r, 'durableStream', 'firstDelta', 'p50') - p(r, 'baselineStream', 'firstDelta', 'p50')) * 10) / 10}`,
      pair('durableStream', 'total'), pair('durableJson', 'total'),
      `${Math.round((p(r, 'durableStream', 'total', 'p50') - p(r, 'durableJson', 'total', 'p50')) * 10) / 10}`,
      pair('baselineStream', 'total'), pair('baselineJson', 'total'),
    ].join(' | '));
  }
  lines.push(`Events written per durable turn: ${log.eventsPerTurn} (${Object.entries(log.events).map(([t, n]) => `${t} ${n}`).join(', ')}) over ${log.durableTurns} turns`);
  console.log(lines.join('\n'));
  console.log(JSON.stringify({ turns: TURNS, results, ...log }));
}

runBench(main);
