/**
 * Overhead of the OpenAI-compatible endpoint over our own messages endpoint for the same turn: one agent,
 * one conversation per endpoint, BENCH_TURNS sequential turns each, alternating endpoints so load and
 * warm-up hit both alike. Measures client-side wall time of a non-streamed request (our POST …/messages
 * with the fetch client; POST /v1/chat/completions continuing its conversation, through the official
 * `openai` client) and time to first content of a streamed one (our SSE vs chat.completion.chunk).
 * Prints p50/p95 of each and the differences, then one JSON line. Progress goes to stderr.
 * `npm run bench:openai-compat`; settings: BENCH_TURNS, BENCH_LLM_DELAY_MS, BENCH_DATABASE_ADMIN_URL.
 */
import OpenAI from 'openai';
import { ScriptedLlm } from '../test/support/scripted-llm';
import { intEnv, percentiles, progress, runBench, runCleanup, startBenchStack, type Cleanup } from './env';

const TURNS = intEnv('BENCH_TURNS', 40, 1);
const LLM_DELAY_MS = intEnv('BENCH_LLM_DELAY_MS', 0, 0);
const WARMUP = 3;

/** Time until the first `message.delta` of our SSE stream, then the stream to its end. */
async function ownStreamed(url: string, key: string, conversationId: string, content: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${url}/v1/conversations/${conversationId}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ content }),
  });
  if (res.status !== 200 || !res.body) throw new Error(`own stream: ${res.status}`);
  let first = NaN;
  const decoder = new TextDecoder();
  for await (const chunk of res.body) {
    if (Number.isNaN(first) && decoder.decode(chunk as Uint8Array, { stream: true }).includes('event: message.delta')) first = performance.now() - started;
  }
  return first;
}

async function main(controller: AbortController): Promise<number> {
  const cleanup: Cleanup = [];
  try {
    const llm = await new ScriptedLlm(() => ({ reply: 'benchmark answer in a few words', delayMs: LLM_DELAY_MS, chunkChars: 8 })).start();
    cleanup.push(['scripted LLM', () => llm.stop()]);
    const stack = await startBenchStack(cleanup, controller, { dbPrefix: 'sao_bench_openai', env: { OPENAI_BASE_URL: llm.baseUrl, OPENAI_API_KEY: 'bench' } });
    const agent = await stack.api('POST', '/v1/agents', { name: 'Bench', goal: 'Answer', systemPrompt: 'Be brief.' });
    const agentId = String(agent.body.id);
    const own = String((await stack.api('POST', '/v1/conversations', { agentId })).body.id);
    const client = new OpenAI({ baseURL: `${stack.gatewayUrl}/v1`, apiKey: stack.apiKey, maxRetries: 0 });
    const model = `agent-${agentId}`;
    const opened = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'start' }] }).withResponse();
    const compat = opened.response.headers.get('x-conversation-id')!;
    const ownStreamConv = String((await stack.api('POST', '/v1/conversations', { agentId })).body.id);
    const compatStreamConv = (await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'start' }] }).withResponse()).response.headers.get('x-conversation-id')!;

    const times = { own: [] as number[], compat: [] as number[], ownFirst: [] as number[], compatFirst: [] as number[] };
    progress(`${TURNS} turns per endpoint (plus ${WARMUP} warm-up), model delay ${LLM_DELAY_MS} ms`);
    for (let i = 0; i < TURNS + WARMUP; i++) {
      controller.signal.throwIfAborted();
      const keep = i >= WARMUP;
      let t = performance.now();
      const reply = await stack.api('POST', `/v1/conversations/${own}/messages`, { content: `question ${i}` });
      if (reply.status !== 200) throw new Error(`own endpoint: ${reply.status} ${JSON.stringify(reply.body)}`);
      if (keep) times.own.push(performance.now() - t);
      t = performance.now();
      await client.chat.completions.create({ model, messages: [{ role: 'user', content: `question ${i}` }], metadata: { conversation_id: compat } });
      if (keep) times.compat.push(performance.now() - t);

      const ownFirst = await ownStreamed(stack.gatewayUrl, stack.apiKey, ownStreamConv, `streamed ${i}`);
      t = performance.now();
      let compatFirst = NaN;
      const stream = await client.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: `streamed ${i}` }], metadata: { conversation_id: compatStreamConv } });
      for await (const chunk of stream) if (Number.isNaN(compatFirst) && chunk.choices[0]?.delta.content) compatFirst = performance.now() - t;
      if (keep) {
        times.ownFirst.push(ownFirst);
        times.compatFirst.push(compatFirst);
      }
    }
    const stats = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, percentiles(v)])) as Record<keyof typeof times, ReturnType<typeof percentiles>>;
    const diff = (a: keyof typeof times, b: keyof typeof times) => ({ p50: Math.round((stats[a].p50 - stats[b].p50) * 10) / 10, p95: Math.round((stats[a].p95 - stats[b].p95) * 10) / 10 });
    const rows = [
      ['whole turn, own POST …/messages', stats.own],
      ['whole turn, POST /v1/chat/completions', stats.compat],
      ['first content, own SSE', stats.ownFirst],
      ['first content, chat.completion.chunk', stats.compatFirst],
    ] as const;
    console.log(`OpenAI-compatible endpoint vs own messages endpoint (${TURNS} turns each, model delay ${LLM_DELAY_MS} ms, ${stack.temporal})`);
    console.log('measure                                   p50 ms    p95 ms');
    for (const [name, s] of rows) console.log(`${name.padEnd(40)} ${String(s.p50).padStart(8)} ${String(s.p95).padStart(9)}`);
    const whole = diff('compat', 'own');
    const first = diff('compatFirst', 'ownFirst');
    console.log(`overhead, whole turn:    p50 ${whole.p50} ms, p95 ${whole.p95} ms`);
    console.log(`overhead, first content: p50 ${first.p50} ms, p95 ${first.p95} ms`);
    console.log(JSON.stringify({ turns: TURNS, llmDelayMs: LLM_DELAY_MS, stats, overhead: { wholeTurn: whole, firstContent: first } }));
    return 0;
  } finally {
    if (!(await runCleanup(cleanup))) process.exitCode = 1;
  }
}

runBench(main);
