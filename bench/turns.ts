/**
 * Turn latency and throughput: the durable path (gateway -> Temporal workflow -> worker activities) next
 * to a baseline that does the same turn in one request without Temporal, at several LLM delays. Runs on
 * the shared bench stack (bench/env.ts: Temporal dev server unless TEMPORAL_ADDRESS is set, a throwaway
 * database, the real worker and gateway) plus a scripted LLM and a tool API, all in this process; prints
 * a table to stdout and, last, one JSON line with every number. Progress goes to stderr.
 * BENCH_PROCESSES=split (the default) runs the worker and the gateway as processes of their own, as production
 * does; the load generator, the baseline and the DBOS peer stay in this process. `single` runs them all here.
 * Every phase also reports CPU milliseconds per turn of each process (gateway, worker, this one, the dev
 * server, the bench databases' Postgres backends).
 * A third row per delay runs the same turn as a DBOS Transact workflow (bench/dbos-peer.ts), durable on Postgres
 * alone; when DBOS cannot start, the output says why and the other rows still come.
 * `npm run bench:turns`; settings: BENCH_DELAYS, BENCH_CONVERSATIONS, BENCH_TURNS, BENCH_PROCESSES, BENCH_DATABASE_ADMIN_URL.
 */
import os from 'node:os';
import { count } from 'drizzle-orm';
import { agentExecutionHistory } from '../src/db/schema/index';
import { ScriptedLlm, type Step } from '../test/support/scripted-llm';
import { startBaseline } from './baseline-app';
import { startDbosPeer, type DbosPeer } from './dbos-peer';
import { cpuMsPerTurn, intEnv, listen, processesEnv, progress, runCleanup, sampleCpu, startBenchStack, type Cleanup, type CpuPerTurn, runBench } from './env';
import { describeNonOk, formatTable, round, runClosedLoop, type PhaseStats } from './load';
import { createToolApp } from './tool-app';

const CONVERSATIONS = intEnv('BENCH_CONVERSATIONS', 20, 1);
const TURNS = intEnv('BENCH_TURNS', 5, 1);
const DELAYS = (process.env.BENCH_DELAYS ?? '0,300').split(',').map((s) => {
  const n = Number(s.trim());
  if (s.trim() === '' || !Number.isInteger(n) || n < 0) throw new Error(`BENCH_DELAYS must list integers >= 0, got ${JSON.stringify(s)}`);
  return n;
});
// Enough to fill both connection pools, compile the hot paths and start the workflow threads.
const WARMUP_CONVERSATIONS = Math.min(CONVERSATIONS, 4);
const WARMUP_TURNS = 2;
const PROCESSES = processesEnv('split');
const MODES = ['durable', 'baseline', 'durableTool', 'dbos'] as const;

/** A phase's latencies with the CPU each process spent per successful turn (ms). */
type ModeStats = PhaseStats & { cpuMsPerTurn: CpuPerTurn };

interface DelayResult {
  delayMs: number;
  durable: ModeStats;
  baseline: ModeStats;
  /** Same as durable, with one `api` tool call per turn (two model calls). */
  durableTool: ModeStats;
  /** The DBOS peer; null when it could not run (see `dbosPeer` in the report). */
  dbos: ModeStats | null;
  toolCallOverheadP50Ms: number;
  /** p50 minus the baseline's p50: what durability costs a turn, ours and DBOS's. */
  overP50Ms: { durable: number; dbos: number | null };
  ratio: { p50: number; p95: number; throughput: number };
  dbosRatio: { p50: number; p95: number; throughput: number } | null;
}

const ratios = (a: PhaseStats, b: PhaseStats) => ({
  p50: round(a.p50 / b.p50, 2),
  p95: round(a.p95 / b.p95, 2),
  throughput: round(a.throughput / b.throughput, 2),
});

async function main(controller: AbortController): Promise<number> {
  const stop = controller.signal;
  const cleanup: Cleanup = [];
  try {
    let llmDelayMs = 0;
    // With the order tool offered and no tool result yet, the model asks for it once; otherwise it answers. Only
    // that tool: every conversation turn also offers the built-in set_conversation_variable (variables_tool is on
    // by default), and asking for a tool whenever any is offered made the durable turn two model calls against
    // the baseline's and DBOS's one (the "300 ms pace" of bench/PROFILE.md item 8).
    const llm = await new ScriptedLlm((req): Step =>
      req.tools?.some((t) => t.function.name === 'lookup_order') && req.messages.at(-1)?.role !== 'tool'
        ? { toolCalls: [{ name: 'lookup_order', arguments: { orderId: 'A-1' } }], delayMs: llmDelayMs }
        : { reply: 'benchmark answer', delayMs: llmDelayMs },
    ).start();
    cleanup.push(['scripted LLM', () => llm.stop()]);
    const toolApi = await listen(createToolApp());
    cleanup.push(['tool API', () => toolApi.close()]);

    const stack = await startBenchStack(cleanup, controller, {
      dbPrefix: 'sao_bench',
      processes: PROCESSES,
      env: {
        OPENAI_BASE_URL: llm.baseUrl,
        OPENAI_API_KEY: 'bench',
        TURN_WAIT_MS: '60000',
        TOOL_NETWORK_ALLOWLIST: new URL(toolApi.url).host,
      },
    });
    const { config } = stack;
    const baseline = await startBaseline(cleanup, config);
    const peer = await startDbosPeer(cleanup, config, stack.dbName);
    // Postgres CPU: the backends of the product's database and of DBOS's system database.
    const databases = [stack.dbName, ...('systemDatabase' in peer ? [peer.systemDatabase] : [])];

    const auth = { authorization: `Bearer ${stack.apiKey}` };
    const api = async (path: string, body: unknown): Promise<{ id: string }> => {
      const res = await stack.api('POST', path, body);
      if (res.status !== 201) throw new Error(`POST ${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
      return res.body as { id: string };
    };
    const agent = await api('/v1/agents', { name: 'Benchmark agent', goal: 'Answer benchmark messages briefly.' });
    const toolAgent = await api('/v1/agents', { name: 'Benchmark agent with a tool', goal: 'Look orders up.' });
    const tool = await api('/v1/tools', {
      name: 'lookup_order', description: 'Looks an order up', category: 'data_source', toolType: 'api', status: 'active',
      inputSchema: { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] },
      config: { method: 'GET', url: `${toolApi.url}/orders/{orderId}` },
    });
    await api(`/v1/agents/${toolAgent.id}/tools`, { toolId: tool.id });
    const conversations = (n: number, agentId = agent.id) =>
      Promise.all(Array.from({ length: n }, () => api('/v1/conversations', { agentId })));

    const modes: Record<'durable' | 'baseline' | 'durableTool' | 'dbos', { url: (id: string) => string; headers: Record<string, string>; agentId?: string }> = {
      durable: { url: (id: string) => `${stack.gatewayUrl}/v1/conversations/${id}/messages`, headers: auth },
      baseline: { url: (id: string) => `${baseline.url}/baseline/conversations/${id}/messages`, headers: {} },
      durableTool: { url: (id: string) => `${stack.gatewayUrl}/v1/conversations/${id}/messages`, headers: auth, agentId: toolAgent.id },
      dbos: { url: (id: string) => `${'url' in peer ? peer.url : ''}/dbos/conversations/${id}/messages`, headers: {} },
    };
    const runMode = async (mode: keyof typeof modes): Promise<ModeStats> => {
      // Fresh conversations per phase, so no phase reads another's history or collides with its rows.
      const convs = await conversations(WARMUP_CONVERSATIONS + CONVERSATIONS, modes[mode].agentId);
      const urls = convs.map((c) => modes[mode].url(c.id));
      const common = { headers: modes[mode].headers, signal: stop };
      const warm = await runClosedLoop({ ...common, urls: urls.slice(0, WARMUP_CONVERSATIONS), turns: WARMUP_TURNS });
      if (warm.ok !== warm.requests) progress(`warning: ${mode} warm-up had non-200 answers: ${describeNonOk(warm.nonOk)}`);
      const before = await sampleCpu(stack, databases);
      const stats = await runClosedLoop({ ...common, urls: urls.slice(WARMUP_CONVERSATIONS), turns: TURNS });
      const cpu = cpuMsPerTurn(before, await sampleCpu(stack, databases), stats.ok);
      llm.requests.length = 0; // the scripted server records every request; keep memory flat
      progress(`  ${mode}: ${stats.ok}/${stats.requests} ok, p50 ${stats.p50} ms, ${stats.throughput} turns/s, CPU ${cpu.all} ms/turn`);
      return { ...stats, cpuMsPerTurn: cpu };
    };

    const results: DelayResult[] = [];
    for (const delayMs of DELAYS) {
      llmDelayMs = delayMs;
      progress(`LLM delay ${delayMs} ms: ${CONVERSATIONS} conversations x ${TURNS} turns per mode`);
      const durable = await runMode('durable');
      const base = await runMode('baseline');
      const durableTool = await runMode('durableTool');
      const dbos = 'url' in peer ? await runMode('dbos') : null;
      results.push({
        delayMs,
        durable,
        baseline: base,
        durableTool,
        dbos,
        // A tool turn makes two model calls; what is left after the second delay is the tool call's cost.
        toolCallOverheadP50Ms: round(durableTool.p50 - durable.p50 - delayMs),
        overP50Ms: { durable: round(durable.p50 - base.p50), dbos: dbos && round(dbos.p50 - base.p50) },
        ratio: ratios(durable, base),
        dbosRatio: dbos && ratios(dbos, base),
      });
    }

    const rows = await stack.gatewayDb.db
      .select({ status: agentExecutionHistory.status, n: count() })
      .from(agentExecutionHistory)
      .groupBy(agentExecutionHistory.status);
    const dbCheck = Object.fromEntries(rows.map((r) => [r.status, r.n]));
    const modesRun = 'url' in peer ? 4 : 3;
    const expectedRows = DELAYS.length * modesRun * (CONVERSATIONS * TURNS + WARMUP_CONVERSATIONS * WARMUP_TURNS);

    report(results, { processes: stack.processes, temporal: stack.temporal, dbCheck, expectedRows, llmFailures: llm.failures.length, peer });

    const nonOk = results.reduce(
      (n, r) => n + [r.durable, r.baseline, r.durableTool, r.dbos].reduce((m, st) => m + (st ? st.requests - st.ok : 0), 0),
      0,
    );
    const consistent = dbCheck.completed === expectedRows && Object.keys(dbCheck).length === 1 && llm.failures.length === 0;
    if (nonOk > 0 || !consistent) {
      progress(`FAILED: ${nonOk} non-200 answers; turn rows ${JSON.stringify(dbCheck)} (expected ${expectedRows} completed)`);
      return 1;
    }
    return 0;
  } finally {
    progress('shutting down');
    if (!(await runCleanup(cleanup))) process.exitCode = 1;
  }
}

function report(
  results: DelayResult[],
  extra: { processes: 'split' | 'single'; temporal: string; dbCheck: Record<string, number>; expectedRows: number; llmFailures: number; peer: DbosPeer },
): void {
  const out = (s = '') => process.stdout.write(`${s}\n`);
  out();
  out(`Turn benchmark: ${CONVERSATIONS} conversations x ${TURNS} sequential turns per mode, all conversations at once (closed loop)`);
  out(`warm-up ${WARMUP_CONVERSATIONS}x${WARMUP_TURNS} turns per mode, not counted; Temporal: ${extra.temporal}`);
  out(
    extra.processes === 'split'
      ? `${os.cpus().length} CPUs, Node ${process.version}; gateway and worker in processes of their own (src/server.ts, src/worker.ts), load generator, baseline and DBOS peer in the bench process (BENCH_PROCESSES=split)`
      : `${os.cpus().length} CPUs, Node ${process.version}; load generator, gateway, worker, baseline and DBOS peer share one process (BENCH_PROCESSES=single)`,
  );
  out('durable  = POST /v1/conversations/:id/messages: gateway (API-key auth, request logger) -> workflow -> one activity (answerTurn:');
  out("           start, request, model call, record; the gateway answers on the turn's end NOTIFY)");
  out('baseline = POST /baseline/conversations/:id/messages: same store functions and LLM client in one request;');
  out('           no Temporal, no auth, no request logger');
  out('durableTool = durable, with one api tool call per turn (tool activity + a second model call)');
  out('dbos     = POST /dbos/conversations/:id/messages: the baseline\'s turn as a DBOS Transact workflow (3 checkpointed steps),');
  out('           started and awaited in-process; DBOS system tables in their own database on the same Postgres;');
  out('           no auth, no request logger, no streamed-delta events (our durable turn writes them)');
  if ('unavailable' in extra.peer) out(`dbos     = NOT RUN: the DBOS peer could not start: ${extra.peer.unavailable}`);
  out();
  out(
    formatTable(
      ['LLM delay', 'mode', 'ok', 'non-200', 'turns/s', 'mean ms', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'loop busy', 'node CPU'],
      results.flatMap((r) =>
        MODES.flatMap((mode) => {
          const s = r[mode];
          if (!s) return [];
          return [[`${r.delayMs} ms`, mode, `${s.ok}/${s.requests}`, describeNonOk(s.nonOk), s.throughput, s.mean, s.p50, s.p95, s.p99, s.max, s.eventLoopBusy, s.processCpuCores]];
        }),
      ),
    ),
  );
  out();
  const ms = (v: number | null) => (v === null ? (extra.processes === 'split' ? 'n/a' : 'in bench') : v);
  out(
    formatTable(
      ['LLM delay', 'mode', 'gateway', 'worker', 'bench process', 'Temporal server', 'Postgres', 'all', 'rest of machine'],
      results.flatMap((r) =>
        MODES.flatMap((mode) => {
          const c = r[mode]?.cpuMsPerTurn;
          if (!c) return [];
          return [[`${r.delayMs} ms`, mode, ms(c.gateway), ms(c.worker), c.bench, c.devServer ?? 'external', c.postgres, c.all, c.others]];
        }),
      ),
    ),
  );
  out('CPU ms per turn of each process over the phase (idle pollers included: a baseline phase still charges the worker\'s polls);');
  out('rest of machine = busy CPU of everything else on the box in the same window, per turn (other agents, CI)');
  out();
  out(
    formatTable(
      ['LLM delay', 'p50 durable/baseline', 'p95 durable/baseline', 'throughput durable/baseline', 'p50 over LLM delay (durable | baseline)', 'tool call p50 overhead'],
      results.map((r) => [
        `${r.delayMs} ms`,
        `x${r.ratio.p50}`,
        `x${r.ratio.p95}`,
        `x${r.ratio.throughput}`,
        `+${round(r.durable.p50 - r.delayMs)} ms | +${round(r.baseline.p50 - r.delayMs)} ms`,
        `+${r.toolCallOverheadP50Ms} ms`,
      ]),
    ),
  );
  out();
  out(
    formatTable(
      ['LLM delay', 'p50 over baseline: durable', 'p50 over baseline: dbos', 'p50 dbos/baseline', 'p95 dbos/baseline', 'throughput dbos/baseline'],
      results.map((r) => [
        `${r.delayMs} ms`,
        `+${r.overP50Ms.durable} ms`,
        r.overP50Ms.dbos === null ? 'not run' : `+${r.overP50Ms.dbos} ms`,
        r.dbosRatio ? `x${r.dbosRatio.p50}` : 'not run',
        r.dbosRatio ? `x${r.dbosRatio.p95}` : 'not run',
        r.dbosRatio ? `x${r.dbosRatio.throughput}` : 'not run',
      ]),
    ),
  );
  out();
  out(`loop busy = share of the phase the bench process's event loop was busy; node CPU = cores the bench process used (of ${os.cpus().length})`);
  out(`turn rows in the database: ${JSON.stringify(extra.dbCheck)} (expected ${extra.expectedRows} completed)`);
  out(
    JSON.stringify({
      benchmark: 'turns',
      settings: {
        conversations: CONVERSATIONS,
        turnsPerConversation: TURNS,
        delaysMs: DELAYS,
        warmup: { conversations: WARMUP_CONVERSATIONS, turns: WARMUP_TURNS },
        temporal: extra.temporal,
        processes: extra.processes,
        cpus: os.cpus().length,
        node: process.version,
      },
      results,
      dbosPeer: 'unavailable' in extra.peer ? { ran: false, reason: extra.peer.unavailable } : { ran: true, systemDatabase: 'own database on the same Postgres' },
      dbCheck: { ...extra.dbCheck, expectedCompleted: extra.expectedRows },
      llmFailures: extra.llmFailures,
    }),
  );
}

runBench(main);
