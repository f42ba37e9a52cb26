/**
 * Turn latency and throughput: the durable path (gateway -> Temporal workflow -> worker activities) next
 * to a baseline that does the same turn in one request without Temporal, at several LLM delays. Starts
 * everything it needs in this process (Temporal dev server unless TEMPORAL_ADDRESS is set, a throwaway
 * database, a scripted LLM), prints a table to stdout and, last, one JSON line with every number.
 * Progress goes to stderr. `npm run bench:turns`; settings: BENCH_DELAYS, BENCH_CONVERSATIONS, BENCH_TURNS,
 * BENCH_DATABASE_ADMIN_URL.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { count } from 'drizzle-orm';
import type { Express } from 'express';
import postgres from 'postgres';
import { ensureTemporalCli } from '../scripts/ensure-temporal.mjs';
import { devServerDynamicConfigArgs } from '../scripts/lib/dev-server.mjs';
import { loadConfig } from '../src/config';
import { createDb, type DbHandle } from '../src/db/client';
import { ensureDatabase, runMigrations } from '../src/db/migrate';
import { agentExecutionHistory } from '../src/db/schema/index';
import { createApp } from '../src/gateway/app';
import { createLlmClient } from '../src/llm/client';
import { createLogger } from '../src/logger';
import { createProject } from '../src/tenancy/projects-store';
import { temporalConnectionOptions } from '../src/temporal/connection';
import { createWorkerRuntime } from '../src/worker-runtime';
import { ScriptedLlm, type Step } from '../test/support/scripted-llm';
import { createToolApp } from './tool-app';
import { searchAttributes } from '../workflows/contracts/index';
import { createBaselineApp } from './baseline-app';
import { describeNonOk, formatTable, round, runClosedLoop, type PhaseStats } from './load';

function intEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

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
const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const EXTERNAL_TEMPORAL = process.env.TEMPORAL_ADDRESS?.trim() || undefined;

const progress = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

interface DelayResult {
  delayMs: number;
  durable: PhaseStats;
  baseline: PhaseStats;
  /** Same as durable, with one `api` tool call per turn (two model calls). */
  durableTool: PhaseStats;
  toolCallOverheadP50Ms: number;
  ratio: { p50: number; p95: number; throughput: number };
}

async function listen(app: Express) {
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function main(controller: AbortController): Promise<number> {
  const stop = controller.signal;
  // Cleanup steps in creation order; run in reverse in `finally`, each one even if another failed.
  const cleanup: Array<[string, () => Promise<unknown>]> = [];
  let cleanupFailed = false;
  try {
    let address: string;
    if (EXTERNAL_TEMPORAL) {
      address = EXTERNAL_TEMPORAL;
      progress(`using the Temporal server at ${address}`);
    } else {
      progress('starting a Temporal dev server');
      const cli = await ensureTemporalCli();
      const env = await TestWorkflowEnvironment.createLocal({
        server: {
          executable: { type: 'existing-path', path: cli },
          searchAttributes: Object.values(searchAttributes),
          // Same server flags as the test suite, so the gateway behaves here as it does under test.
          extraArgs: devServerDynamicConfigArgs(),
        },
      });
      cleanup.push(['temporal dev server', () => env.teardown()]);
      address = env.address;
    }
    stop.throwIfAborted();

    const dbName = `sao_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
    const dbUrl = new URL(ADMIN_URL);
    dbUrl.pathname = `/${dbName}`;
    progress(`creating database ${dbName}`);
    cleanup.push(['database', () => dropDatabase(dbName)]);
    await ensureDatabase(dbUrl.toString());
    await runMigrations(dbUrl.toString());

    let llmDelayMs = 0;
    // With tools offered and no tool result yet, the model asks for the tool once; otherwise it answers.
    const llm = await new ScriptedLlm((req): Step =>
      req.tools?.length && req.messages.at(-1)?.role !== 'tool'
        ? { toolCalls: [{ name: 'lookup_order', arguments: { orderId: 'A-1' } }], delayMs: llmDelayMs }
        : { reply: 'benchmark answer', delayMs: llmDelayMs },
    ).start();
    const toolApi = await listen(createToolApp());
    cleanup.push(['tool API', () => toolApi.close()]);
    cleanup.push(['scripted LLM', () => llm.stop()]);

    // An external server may need its namespace and TLS settings; the dev server takes the defaults.
    const temporalEnv = EXTERNAL_TEMPORAL
      ? Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('TEMPORAL_')))
      : {};
    const config = loadConfig({
      ...temporalEnv,
      DATABASE_URL: dbUrl.toString(),
      TEMPORAL_ADDRESS: address,
      TEMPORAL_TASK_QUEUE: `bench-${randomUUID()}`,
      OPENAI_BASE_URL: llm.baseUrl,
      OPENAI_API_KEY: 'bench',
      LOG_LEVEL: 'silent',
      TURN_WAIT_MS: '60000',
      TOOL_NETWORK_ALLOWLIST: new URL(toolApi.url).host,
    });

    // One pool per role, as the separate gateway and worker processes have in production.
    const pool = (appName: string): DbHandle => {
      const handle = createDb(config.DATABASE_URL, { max: config.DATABASE_POOL_MAX, appName });
      cleanup.push([`${appName} pool`, () => handle.close()]);
      return handle;
    };
    const gatewayDb = pool('bench-gateway');
    const workerDb = pool('bench-worker');
    const baselineDb = pool('bench-baseline');

    progress('starting the worker (bundles the workflow code)');
    const runtime = await createWorkerRuntime(config, workerDb.db);
    const worker = runtime.worker;
    cleanup.push(['worker connections', () => runtime.close()]);
    const running = worker.run();
    cleanup.push([
      'worker',
      async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running;
      },
    ]);
    // A worker that dies mid-run would leave requests waiting for the full TURN_WAIT_MS; stop instead.
    running.catch((err: unknown) => {
      progress(`worker failed: ${err instanceof Error ? err.message : String(err)}`);
      controller.abort(err);
    });

    const connection = await Connection.connect(temporalConnectionOptions(config));
    cleanup.push(['gateway Temporal connection', () => connection.close()]);
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const gateway = await listen(
      createApp({
        db: gatewayDb.db,
        temporal: client,
        logger: createLogger(config.LOG_LEVEL),
        keyring: null,
        settings: { taskQueue: config.TEMPORAL_TASK_QUEUE, turnWaitMs: config.TURN_WAIT_MS },
      }),
    );
    cleanup.push(['gateway', () => gateway.close()]);
    const baselineLlm = createLlmClient({ apiKey: config.OPENAI_API_KEY, baseURL: config.OPENAI_BASE_URL, timeoutMs: config.LLM_TIMEOUT_MS });
    const baseline = await listen(createBaselineApp({ db: baselineDb.db, llm: baselineLlm, defaultModel: config.OPENAI_MODEL }));
    cleanup.push(['baseline app', () => baseline.close()]);

    const { apiKey } = await createProject(gatewayDb.db, { name: 'Benchmark', slug: `bench-${randomUUID()}` });
    const auth = { authorization: `Bearer ${apiKey}` };
    const api = async (path: string, body: unknown): Promise<{ id: string }> => {
      const res = await fetch(gateway.url + path, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      if (res.status !== 201) throw new Error(`POST ${path} answered ${res.status}: ${text}`);
      return JSON.parse(text) as { id: string };
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

    const modes: Record<'durable' | 'baseline' | 'durableTool', { url: (id: string) => string; headers: Record<string, string>; agentId?: string }> = {
      durable: { url: (id: string) => `${gateway.url}/v1/conversations/${id}/messages`, headers: auth },
      baseline: { url: (id: string) => `${baseline.url}/baseline/conversations/${id}/messages`, headers: {} },
      durableTool: { url: (id: string) => `${gateway.url}/v1/conversations/${id}/messages`, headers: auth, agentId: toolAgent.id },
    };
    const runMode = async (mode: keyof typeof modes): Promise<PhaseStats> => {
      // Fresh conversations per phase, so no phase reads another's history or collides with its rows.
      const convs = await conversations(WARMUP_CONVERSATIONS + CONVERSATIONS, modes[mode].agentId);
      const urls = convs.map((c) => modes[mode].url(c.id));
      const common = { headers: modes[mode].headers, signal: stop };
      const warm = await runClosedLoop({ ...common, urls: urls.slice(0, WARMUP_CONVERSATIONS), turns: WARMUP_TURNS });
      if (warm.ok !== warm.requests) progress(`warning: ${mode} warm-up had non-200 answers: ${describeNonOk(warm.nonOk)}`);
      const stats = await runClosedLoop({ ...common, urls: urls.slice(WARMUP_CONVERSATIONS), turns: TURNS });
      llm.requests.length = 0; // the scripted server records every request; keep memory flat
      progress(`  ${mode}: ${stats.ok}/${stats.requests} ok, p50 ${stats.p50} ms, ${stats.throughput} turns/s`);
      return stats;
    };

    const results: DelayResult[] = [];
    for (const delayMs of DELAYS) {
      llmDelayMs = delayMs;
      progress(`LLM delay ${delayMs} ms: ${CONVERSATIONS} conversations x ${TURNS} turns per mode`);
      const durable = await runMode('durable');
      const base = await runMode('baseline');
      const durableTool = await runMode('durableTool');
      results.push({
        delayMs,
        durable,
        baseline: base,
        durableTool,
        // A tool turn makes two model calls; what is left after the second delay is the tool call's cost.
        toolCallOverheadP50Ms: round(durableTool.p50 - durable.p50 - delayMs),
        ratio: {
          p50: round(durable.p50 / base.p50, 2),
          p95: round(durable.p95 / base.p95, 2),
          throughput: round(durable.throughput / base.throughput, 2),
        },
      });
    }

    const rows = await gatewayDb.db
      .select({ status: agentExecutionHistory.status, n: count() })
      .from(agentExecutionHistory)
      .groupBy(agentExecutionHistory.status);
    const dbCheck = Object.fromEntries(rows.map((r) => [r.status, r.n]));
    const expectedRows = DELAYS.length * 3 * (CONVERSATIONS * TURNS + WARMUP_CONVERSATIONS * WARMUP_TURNS);

    report(results, { temporal: EXTERNAL_TEMPORAL ? `external ${EXTERNAL_TEMPORAL}` : 'dev server (temporal server start-dev)', dbCheck, expectedRows, llmFailures: llm.failures.length });

    const nonOk = results.reduce(
      (n, r) => n + [r.durable, r.baseline, r.durableTool].reduce((m, st) => m + st.requests - st.ok, 0),
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
    for (const [name, fn] of cleanup.reverse()) {
      try {
        await fn();
      } catch (err) {
        cleanupFailed = true;
        progress(`cleanup of ${name} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (cleanupFailed) process.exitCode = 1;
  }
}

async function dropDatabase(name: string): Promise<void> {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
  } finally {
    await admin.end({ timeout: 5 });
  }
}

function report(
  results: DelayResult[],
  extra: { temporal: string; dbCheck: Record<string, number>; expectedRows: number; llmFailures: number },
): void {
  const out = (s = '') => process.stdout.write(`${s}\n`);
  out();
  out(`Turn benchmark: ${CONVERSATIONS} conversations x ${TURNS} sequential turns per mode, all conversations at once (closed loop)`);
  out(`warm-up ${WARMUP_CONVERSATIONS}x${WARMUP_TURNS} turns per mode, not counted; Temporal: ${extra.temporal}`);
  out(`${os.cpus().length} CPUs, Node ${process.version}; load generator, gateway, worker and baseline share one process`);
  out('durable  = POST /v1/conversations/:id/messages: gateway (API-key auth, request logger) -> workflow -> 3 activities');
  out('baseline = POST /baseline/conversations/:id/messages: same store functions and LLM client in one request;');
  out('           no Temporal, no auth, no request logger');
  out('durableTool = durable, with one api tool call per turn (tool activity + a second model call)');
  out();
  out(
    formatTable(
      ['LLM delay', 'mode', 'ok', 'non-200', 'turns/s', 'mean ms', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'loop busy', 'node CPU'],
      results.flatMap((r) =>
        (['durable', 'baseline', 'durableTool'] as const).map((mode) => {
          const s = r[mode];
          return [`${r.delayMs} ms`, mode, `${s.ok}/${s.requests}`, describeNonOk(s.nonOk), s.throughput, s.mean, s.p50, s.p95, s.p99, s.max, s.eventLoopBusy, s.processCpuCores];
        }),
      ),
    ),
  );
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
  out(`loop busy = share of the phase this process's event loop was busy; node CPU = cores this process used (of ${os.cpus().length})`);
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
        cpus: os.cpus().length,
        node: process.version,
      },
      results,
      dbCheck: { ...extra.dbCheck, expectedCompleted: extra.expectedRows },
      llmFailures: extra.llmFailures,
    }),
  );
}

// The Temporal runtime would catch SIGINT/SIGTERM to stop the worker and leave requests hanging; here a
// signal aborts the load instead, and cleanup still stops everything and drops the database.
Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
const stopping = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping (again to exit at once)`);
    stopping.abort(new Error(`interrupted by ${signal}`));
    process.once(signal, () => process.exit(130));
  });
}

main(stopping).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (stopping.signal.aborted && err === stopping.signal.reason) {
      progress('interrupted; nothing printed');
      process.exitCode = 130;
      return;
    }
    progress(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  },
);
