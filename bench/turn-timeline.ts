/**
 * One turn's timeline: the stack as production runs it (worker and gateway in processes of their own, unless
 * BENCH_PROCESSES=single), 12 sequential turns of one conversation against a model that waits PROBE_DELAY ms
 * (default 300), the client's latency of each, and the last turn's history events with their times. For reading
 * where a turn's time goes, next to bench/profile-turn.ts' counts.
 * `node scripts/bench.mjs --temporal bench/turn-timeline.ts`.
 */
import { performance } from 'node:perf_hooks';
import { ScriptedLlm } from '../test/support/scripted-llm';
import { runBench, runCleanup, startBenchStack, type Cleanup } from './env';

runBench(async (controller) => {
  const cleanup: Cleanup = [];
  try {
    const delay = Number(process.env.PROBE_DELAY ?? 300);
    const llm = await new ScriptedLlm(() => ({ reply: 'benchmark answer', delayMs: delay })).start();
    cleanup.push(['llm', () => llm.stop()]);
    const stack = await startBenchStack(cleanup, controller, { dbPrefix: 'sao_timeline', processes: (process.env.BENCH_PROCESSES as 'split') ?? 'split', env: { OPENAI_BASE_URL: llm.baseUrl, OPENAI_API_KEY: 'x', TURN_WAIT_MS: '60000' } } as never);
    const agent = (await stack.api('POST', '/v1/agents', { name: 'p', goal: 'g' })).body as { id: string };
    const conv = (await stack.api('POST', '/v1/conversations', { agentId: agent.id })).body as { id: string };
    const lat: number[] = [];
    for (let i = 0; i < 12; i++) {
      const t = performance.now();
      const res = await stack.api('POST', `/v1/conversations/${conv.id}/messages`, { content: `hi ${i}` });
      lat.push(performance.now() - t);
      if (res.status !== 200) throw new Error(String(res.status));
    }
    console.log('latencies', lat.map((x) => Math.round(x)).join(' '));
    const h = await stack.client.workflow.getHandle(`turn:${conv.id}:12`).fetchHistory();
    const t0 = Number(h.events![0]!.eventTime!.seconds) * 1000 + h.events![0]!.eventTime!.nanos! / 1e6;
    for (const e of h.events!) console.log(((Number(e.eventTime!.seconds) * 1000 + e.eventTime!.nanos! / 1e6) - t0).toFixed(1), e.eventType);
    return 0;
  } finally {
    await runCleanup(cleanup);
  }
});
