/**
 * Set-up shared by the benchmarks that run the whole stack in one process: a Temporal dev server (unless
 * TEMPORAL_ADDRESS is set), a throwaway migrated database, the real worker and the real gateway, and a few
 * readers of /proc to say where memory and CPU went. Everything started is registered in a cleanup list
 * that `runCleanup` undoes in reverse order, each step even if another failed.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, type Worker, type WorkerOptions } from '@temporalio/worker';
import type { Express } from 'express';
import postgres from 'postgres';
import { ensureTemporalCli } from '../scripts/ensure-temporal.mjs';
import { devServerDynamicConfigArgs } from '../scripts/lib/dev-server.mjs';
import { loadConfig, type Config } from '../src/config';
import { createDb, type DbHandle } from '../src/db/client';
import { ensureDatabase, runMigrations } from '../src/db/migrate';
import { createApp } from '../src/gateway/app';
import { createTurnStreams } from '../src/gateway/conversations/turn-stream';
import { createLogger } from '../src/logger';
import { createProject } from '../src/tenancy/projects-store';
import { connectTemporalClient } from '../src/temporal/client';
import { payloadCodecFromConfig } from '../src/temporal/data-converter';
import { createWorkerRuntime } from '../src/worker-runtime';
import { searchAttributes } from '../workflows/contracts/index';
import { round } from './load';
import { answers, freePort, serviceEnv, startService, waitUntil, workerPolling } from './processes';

export const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const progress = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

/**
 * Makes SIGINT/SIGTERM abort the run through the returned controller. The Temporal runtime would catch them
 * to stop the worker and leave requests hanging; this way cleanup still stops everything and drops the
 * database. A second signal exits at once. Call it at start-up, before any worker is created.
 */
export function abortOnSignals(): AbortController {
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const stopping = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      progress(`${signal}: stopping (again to exit at once)`);
      stopping.abort(new Error(`interrupted by ${signal}`));
      process.once(signal, () => process.exit(130));
    });
  }
  return stopping;
}

/**
 * Runs a benchmark's `main` under {@link abortOnSignals}: its exit code becomes the process's, an interrupt
 * exits 130 having printed nothing, a failure is reported and exits 1.
 */
export function runBench(main: (controller: AbortController) => Promise<number>): void {
  const stopping = abortOnSignals();
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
}

export function intEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name]?.trim();
  const n = raw ? Number(raw) : fallback;
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

/** Nearest-rank percentiles (an observed value, never an interpolation), rounded to 0.1 ms. */
export function percentiles(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const pct = (p: number) => (sorted.length ? sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN);
  const r = (n: number) => Math.round(n * 10) / 10;
  return { n: sorted.length, min: r(sorted[0] ?? NaN), p50: r(pct(50)), p95: r(pct(95)), p99: r(pct(99)), max: r(sorted.at(-1) ?? NaN) };
}

export type Cleanup = Array<[name: string, fn: () => Promise<unknown>]>;

/** Undoes `cleanup` in reverse; returns false when a step failed (each failure is reported). */
export async function runCleanup(cleanup: Cleanup): Promise<boolean> {
  let ok = true;
  for (const [name, fn] of cleanup.splice(0).reverse()) {
    try {
      await fn();
    } catch (err) {
      ok = false;
      progress(`cleanup of ${name} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return ok;
}

export async function listen(app: Express) {
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  const close = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return { url: `http://127.0.0.1:${port}`, close };
}

export async function dropDatabase(name: string): Promise<void> {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${name}" with (force)`).finally(() => admin.end({ timeout: 5 }));
}

export type ApiCall = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: Record<string, unknown> }>;

interface StackParts {
  config: Config;
  dbName: string;
  /**
   * A pool on the bench database: the gateway's own in single mode; in split mode the benchmark's (the
   * gateway process has its own), for set-up and checks.
   */
  gatewayDb: DbHandle;
  /** A Temporal client: the gateway's in single mode, the benchmark's in split mode. */
  client: Client;
  gatewayUrl: string;
  /** Calls the gateway with the project's admin key. */
  api: ApiCall;
  /** That admin key, for load generators that call the gateway themselves. */
  apiKey: string;
  /** Pid of the dev server child process; null with an external server (or when it cannot be found). */
  temporalPid: number | null;
  temporal: string;
}

/** Worker and gateway in this process: one event loop with the load generator. */
export interface BenchStack extends StackParts {
  processes: 'single';
  worker: Worker;
}

/** Worker and gateway each in a process of its own (src/worker.ts, src/server.ts), as production runs them. */
export interface SplitBenchStack extends StackParts {
  processes: 'split';
  pids: { gateway: number; worker: number };
}

export type AnyBenchStack = BenchStack | SplitBenchStack;
export type Processes = AnyBenchStack['processes'];

/** BENCH_PROCESSES: `split` (worker and gateway in processes of their own) or `single` (all in this one). */
export function processesEnv(fallback: Processes): Processes {
  const raw = process.env.BENCH_PROCESSES?.trim() || fallback;
  if (raw !== 'split' && raw !== 'single') throw new Error(`BENCH_PROCESSES must be split or single, got ${JSON.stringify(raw)}`);
  return raw;
}

interface StackParams {
  dbPrefix: string;
  env?: Record<string, string>;
  /** Worker options the config does not cover; single mode only (a worker process takes its config only). */
  worker?: Partial<WorkerOptions>;
  /** Default `single`. */
  processes?: Processes;
}

/**
 * Starts the stack and registers every part in `cleanup`. A worker (or, split, a gateway) that dies aborts
 * `controller`, so a benchmark waiting on it stops instead of timing out. `env` overrides config settings
 * (e.g. pool sizes), `worker` Worker options the config does not cover (e.g. pollers).
 */
export async function startBenchStack(cleanup: Cleanup, controller: AbortController, p: StackParams & { processes: 'split' }): Promise<SplitBenchStack>;
export async function startBenchStack(cleanup: Cleanup, controller: AbortController, p: StackParams & { processes?: 'single' }): Promise<BenchStack>;
export async function startBenchStack(cleanup: Cleanup, controller: AbortController, p: StackParams): Promise<AnyBenchStack>;
export async function startBenchStack(cleanup: Cleanup, controller: AbortController, p: StackParams): Promise<AnyBenchStack> {
  const external = process.env.TEMPORAL_ADDRESS?.trim() || undefined;
  let address = external;
  if (!address) {
    progress('starting a Temporal dev server');
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: await ensureTemporalCli() },
        searchAttributes: Object.values(searchAttributes),
        // Same server flags as the test suite, so the gateway behaves here as it does under test.
        extraArgs: devServerDynamicConfigArgs(),
      },
    });
    cleanup.push(['temporal dev server', () => env.teardown()]);
    address = env.address;
  }
  controller.signal.throwIfAborted();

  const dbName = `${p.dbPrefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const dbUrl = new URL(ADMIN_URL);
  dbUrl.pathname = `/${dbName}`;
  progress(`creating database ${dbName}`);
  cleanup.push(['database', () => dropDatabase(dbName)]);
  await ensureDatabase(dbUrl.toString());
  await runMigrations(dbUrl.toString());

  // An external server may need its namespace and TLS settings; the dev server takes the defaults.
  const temporalEnv = external ? Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('TEMPORAL_'))) : {};
  // OTEL_EXPORTER_OTLP_ENDPOINT & co. reach the worker and gateway processes, so tracing's cost is measured by setting it.
  const otelEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('OTEL_')));
  const configEnv: Record<string, string | undefined> = {
    ...temporalEnv,
    ...otelEnv,
    DATABASE_URL: dbUrl.toString(),
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TASK_QUEUE: `bench-${randomUUID()}`,
    OPENAI_API_KEY: 'bench-unused',
    OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
    LOG_LEVEL: 'silent',
    // Histories encrypted as in production, with a key of this run; BENCH_PAYLOAD_ENCRYPTION=off measures without.
    ...payloadEncryptionEnv(),
    ...p.env,
  };
  const config = loadConfig(configEnv);
  const pool = (appName: string, max = config.DATABASE_POOL_MAX): DbHandle => {
    const handle = createDb(config.DATABASE_URL, { max, appName });
    cleanup.push([`${appName} pool`, () => handle.close()]);
    return handle;
  };
  const connectClient = async () => {
    const { client, connection } = await connectTemporalClient(config);
    cleanup.push(['Temporal connection', () => connection.close()]);
    return client;
  };

  let parts: { gatewayDb: DbHandle; client: Client; gatewayUrl: string } & ({ processes: 'single'; worker: Worker } | { processes: 'split'; pids: SplitBenchStack['pids'] });
  if (p.processes === 'split') {
    if (p.worker) throw new Error('worker options need the single-process stack: a worker process takes its config only');
    const client = await connectClient();
    const services = await startSplitServices(cleanup, controller, configEnv, config, client);
    parts = { processes: 'split', gatewayDb: pool('bench', 2), client, ...services };
  } else {
    // One pool per role, as the separate gateway and worker processes have in production.
    const gatewayDb = pool('bench-gateway');
    const worker = await startWorkerHere(cleanup, controller, config, pool('bench-worker'), p.worker);
    const client = await connectClient();
    parts = { processes: 'single', gatewayDb, client, worker, gatewayUrl: await startGatewayHere(cleanup, config, gatewayDb, client) };
  }

  const { apiKey } = await createProject(parts.gatewayDb.db, { name: 'Benchmark', slug: `bench-${randomUUID()}` });
  const api: ApiCall = async (method, path, body) => {
    const res = await fetch(parts.gatewayUrl + path, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
  return {
    ...parts, config, dbName, api, apiKey,
    temporalPid: external ? null : childPid('temporal'),
    temporal: external ? `external ${external}` : 'dev server (temporal server start-dev, in-memory)',
  };
}

/** BENCH_PAYLOAD_ENCRYPTION=on (default) | off: the payload codec's cost is the difference of two runs. */
function payloadEncryptionEnv(): Record<string, string> {
  const setting = process.env.BENCH_PAYLOAD_ENCRYPTION?.trim() || 'on';
  if (setting !== 'on' && setting !== 'off') throw new Error(`BENCH_PAYLOAD_ENCRYPTION must be on or off, got ${JSON.stringify(setting)}`);
  progress(`payload encryption ${setting} (BENCH_PAYLOAD_ENCRYPTION)`);
  return setting === 'off'
    ? { TEMPORAL_PAYLOAD_ENCRYPTION: 'off' }
    : { TEMPORAL_PAYLOAD_ENCRYPTION: 'on', TEMPORAL_PAYLOAD_KEYS: `bench:${randomBytes(32).toString('base64')}` };
}

async function startWorkerHere(cleanup: Cleanup, controller: AbortController, config: Config, workerDb: DbHandle, options?: Partial<WorkerOptions>): Promise<Worker> {
  progress('starting the worker (bundles the workflow code)');
  const runtime = await createWorkerRuntime(config, workerDb.db, { worker: options });
  const worker = runtime.worker;
  cleanup.push(['worker connections', () => runtime.close()]);
  const running = worker.run();
  cleanup.push(['worker', async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running;
  }]);
  running.catch((err: unknown) => {
    progress(`worker failed: ${err instanceof Error ? err.message : String(err)}`);
    controller.abort(err);
  });
  return worker;
}

async function startGatewayHere(cleanup: Cleanup, config: Config, gatewayDb: DbHandle, client: Client): Promise<string> {
  const logger = createLogger(config.LOG_LEVEL);
  const streams = createTurnStreams(gatewayDb.sql, logger, config);
  cleanup.push(['gateway streams', () => streams.hub.close()]);
  const gateway = await listen(createApp({
    db: gatewayDb.db,
    temporal: client,
    logger,
    keyring: null,
    streams,
    codec: { payloadCodec: payloadCodecFromConfig(config), namespace: config.TEMPORAL_NAMESPACE, uiOrigins: [], trustLocalUi: false },
    settings: { taskQueue: config.TEMPORAL_TASK_QUEUE, turnWaitMs: config.TURN_WAIT_MS },
  }));
  cleanup.push(['gateway', () => gateway.close()]);
  return gateway.url;
}

/**
 * The worker and the gateway from their entry files, each in its own process with the config env the
 * single-process stack parses. Resolves once the worker polls both task queues and the gateway answers
 * /healthz. Either exiting before cleanup aborts `controller`.
 */
async function startSplitServices(cleanup: Cleanup, controller: AbortController, configEnv: Record<string, string | undefined>, config: Config, client: Client) {
  const port = await freePort();
  progress('starting the worker process (bundles the workflow code) and the gateway process');
  const worker = startService('worker', 'src/worker.ts', serviceEnv(configEnv));
  const gateway = startService('gateway', 'src/server.ts', serviceEnv(configEnv, { PORT: String(port), HOST: '127.0.0.1' }));
  let stopping = false;
  // Reverse order at cleanup: the gateway stops first (its requests in flight finish), then the worker drains.
  for (const service of [worker, gateway]) {
    cleanup.push([`${service.name} process`, () => ((stopping = true), service.stop())]);
    void service.exited.then((how) => {
      if (stopping) return;
      progress(`${service.name} process exited (${how})`);
      controller.abort(new Error(`${service.name} process exited (${how})`));
    });
  }
  const gatewayUrl = `http://127.0.0.1:${port}`;
  await Promise.all([
    waitUntil('the worker polls its task queue', worker, () => workerPolling(client, config.TEMPORAL_TASK_QUEUE)),
    waitUntil('the gateway answers /healthz', gateway, () => answers(`${gatewayUrl}/healthz`)),
  ]);
  return { gatewayUrl, pids: { gateway: gateway.pid, worker: worker.pid } };
}

/** The newest child process of this one whose command name is `comm` (Linux /proc only). */
export function childPid(comm: string): number | null {
  let found: number | null = null;
  for (const entry of safeReaddir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = procStat(pid);
    if (stat && stat.comm === comm && stat.ppid === process.pid && (found === null || pid > found)) found = pid;
  }
  return found;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Command name, parent and CPU seconds used (user + system) of a process; null if it is gone. */
export function procStat(pid: number): { comm: string; ppid: number; cpuSeconds: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' '); // fields[0] is field 3 (state) of proc(5)
    const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime, in USER_HZ (100 on Linux)
    return { comm: stat.slice(stat.indexOf('(') + 1, close), ppid: Number(fields[1]), cpuSeconds: ticks / 100 };
  } catch {
    return null;
  }
}

/** Resident and peak resident memory of a process in MB, from /proc/<pid>/status; null if unreadable. */
export function procMemory(pid: number | 'self'): { rssMb: number; peakMb: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMb: Math.round(kb('VmRSS') / 1024), peakMb: Math.round(kb('VmHWM') / 1024) };
  } catch {
    return null;
  }
}

/** CPU seconds the whole machine spent busy (all cores, everything but idle and iowait), from /proc/stat. */
export function machineBusySeconds(): number {
  try {
    const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
    const [idle = 0, iowait = 0] = [ticks[3], ticks[4]];
    // user nice system idle iowait irq softirq steal; guest time is already inside user.
    return (ticks.slice(0, 8).reduce((a, b) => a + b, 0) - idle - iowait) / 100;
  } catch {
    return NaN;
  }
}

/** This process's memory (RSS covers every thread, heap used only the main one), the worker's cache and the dev server's RSS. */
export function memorySnapshot(stack: BenchStack, stage: string) {
  const m = process.memoryUsage();
  const mb = (b: number) => Math.round(b / 2 ** 20);
  const server = stack.temporalPid ? procMemory(stack.temporalPid) : null;
  return { stage, rssMb: mb(m.rss), heapUsedMb: mb(m.heapUsed), externalMb: mb(m.external), cachedWorkflows: stack.worker.getStatus().numCachedWorkflows, devServerRssMb: server?.rssMb ?? null };
}

/**
 * CPU cores used since the call by this process (all threads), the dev server, this database's Postgres
 * backends, and everything else on the machine (the benchmark shares it).
 */
export async function cpuMeter(stack: BenchStack) {
  const read = async () => {
    const pids = await stack.gatewayDb.sql<{ pid: number }[]>`select pid from pg_stat_activity where datname = current_database()`;
    return {
      t: performance.now(), node: process.cpuUsage(),
      server: stack.temporalPid ? (procStat(stack.temporalPid)?.cpuSeconds ?? NaN) : NaN,
      pg: new Map(pids.map(({ pid }) => [pid, procStat(pid)?.cpuSeconds ?? 0])),
      machine: machineBusySeconds(),
    };
  };
  const start = await read();
  return async () => {
    const end = await read();
    const s = (end.t - start.t) / 1000;
    const node = process.cpuUsage(start.node);
    const pg = [...end.pg].reduce((sum, [pid, cpu]) => sum + cpu - (start.pg.get(pid) ?? 0), 0);
    const cores = { node: (node.user + node.system) / 1e6 / s, devServer: (end.server - start.server) / s, postgres: pg / s };
    const other = (end.machine - start.machine) / s - cores.node - (Number.isNaN(cores.devServer) ? 0 : cores.devServer) - cores.postgres;
    return { node: round(cores.node, 2), devServer: round(cores.devServer, 2), postgres: round(cores.postgres, 2), other: round(Math.max(0, other), 2) };
  };
}

/** CPU seconds used so far by each part of the stack (Linux /proc), for per-turn deltas with {@link cpuMsPerTurn}. */
export interface CpuSample {
  t: number;
  bench: number;
  gateway: number | null;
  worker: number | null;
  devServer: number | null;
  postgres: Map<number, number>;
  machine: number;
}

/**
 * Samples this process (all threads: in single mode the gateway and worker too), the gateway and worker
 * processes in split mode, the dev server, and every Postgres backend connected to one of `databases`.
 */
export async function sampleCpu(stack: AnyBenchStack, databases: string[]): Promise<CpuSample> {
  const pids = await stack.gatewayDb.sql<{ pid: number }[]>`select pid from pg_stat_activity where datname = any(${stack.gatewayDb.sql.array(databases)})`;
  const own = process.cpuUsage();
  const of = (pid: number | null | undefined) => (pid ? (procStat(pid)?.cpuSeconds ?? NaN) : null);
  return {
    t: performance.now(),
    bench: (own.user + own.system) / 1e6,
    gateway: stack.processes === 'split' ? of(stack.pids.gateway) : null,
    worker: stack.processes === 'split' ? of(stack.pids.worker) : null,
    devServer: of(stack.temporalPid),
    postgres: new Map(pids.map(({ pid }) => [pid, procStat(pid)?.cpuSeconds ?? 0])),
    machine: machineBusySeconds(),
  };
}

/** CPU milliseconds per turn between two samples; `others` is what the rest of the machine used meanwhile. */
export function cpuMsPerTurn(start: CpuSample, end: CpuSample, turns: number) {
  const ms = (a: number | null, b: number | null) => (a === null || b === null ? null : round(((b - a) * 1000) / turns, 1));
  const pg = [...end.postgres].reduce((sum, [pid, cpu]) => sum + cpu - (start.postgres.get(pid) ?? 0), 0);
  const parts = {
    gateway: ms(start.gateway, end.gateway),
    worker: ms(start.worker, end.worker),
    bench: ms(start.bench, end.bench)!,
    devServer: ms(start.devServer, end.devServer),
    postgres: round((pg * 1000) / turns, 1),
  };
  const all = round(Object.values(parts).reduce<number>((sum, v) => sum + (v === null || Number.isNaN(v) ? 0 : v), 0), 1);
  return { ...parts, all, others: round(Math.max(0, ((end.machine - start.machine) * 1000) / turns - all), 1) };
}
export type CpuPerTurn = ReturnType<typeof cpuMsPerTurn>;
