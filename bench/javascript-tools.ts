/**
 * JavaScript tool benchmark: calls per second, p50 and p95 of a small tool (sums its arguments) through the
 * real runner, one caller and BENCH_CONCURRENCY callers at once, for the current runner (isolated-vm
 * isolates in pooled sandbox hosts) and the old one (node:vm in a child process per call), which is taken
 * from git (BENCH_OLD_COMMIT, by default the last commit before the isolated-vm runner) into a temporary
 * directory, so no dead code stays in src/. CPU per call counts this process and its sandbox processes.
 * Prints a table, then one JSON line. `npm run bench:javascript-tools`; settings: BENCH_CALLS, BENCH_CONCURRENCY,
 * BENCH_OLD_COMMIT (empty: skip the old runner).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { createIsolatePool } from '../src/sandbox/isolate-pool';
import { createJavascriptRunner } from '../src/tools/runners/javascript';
import type { ResolvedTool, ToolRunner } from '../src/tools/types';
import { intEnv, percentiles, progress, runBench } from './env';
import { formatTable, round } from './load';

const CALLS = intEnv('BENCH_CALLS', 200, 4);
const CONCURRENCY = intEnv('BENCH_CONCURRENCY', 4, 1);
const OLD_COMMIT = process.env.BENCH_OLD_COMMIT ?? '6e63f0e915015e3d8257b93673ce989ec9ecea44';
const ROOT = path.resolve(__dirname, '..');

const tool: ResolvedTool = {
  id: 'bench', name: 'sum', toolType: 'javascript', timeoutMs: 10_000,
  config: { code: 'return { sum: args.values.reduce((a, b) => a + b, 0) };' },
};
const args = { values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] };

/** CPU time in ms of this process, its reaped children, and the given live processes (/proc, clock ticks). */
function cpuMs(pids: number[]): number {
  const ticks = (file: string, fields: number[]) => {
    try {
      const stat = readFileSync(file, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return fields.reduce((sum, f) => sum + Number(rest[f - 3]), 0); // field numbers as in proc(5)
    } catch {
      return 0; // the process is gone
    }
  };
  const self = ticks('/proc/self/stat', [14, 15, 16, 17]);
  const live = pids.reduce((sum, pid) => sum + ticks(`/proc/${pid}/stat`, [14, 15]), 0);
  return ((self + live) * 1000) / 100;
}

async function measure(run: ToolRunner, callers: number, livePids: () => number[], signal: AbortSignal) {
  const latencies: number[] = [];
  const cpuBefore = cpuMs(livePids());
  const started = performance.now();
  const perCaller = Math.ceil(CALLS / callers);
  await Promise.all(Array.from({ length: callers }, async () => {
    for (let i = 0; i < perCaller; i++) {
      signal.throwIfAborted();
      const t0 = performance.now();
      const result = (await run(tool, args, { signal: new AbortController().signal, idempotencyKey: `b${i}`, attempt: 1 })) as { sum: number };
      if (result.sum !== 55) throw new Error(`wrong result ${JSON.stringify(result)}`);
      latencies.push(performance.now() - t0);
    }
  }));
  const wallMs = performance.now() - started;
  const { n, p50, p95 } = percentiles(latencies);
  return { calls: n, perSecond: round((n / wallMs) * 1000, 1), p50, p95, cpuMsPerCall: round((cpuMs(livePids()) - cpuBefore) / n) };
}

/** The old runner's files from git, with its `../types.js` pointing at today's (same ToolError class). */
async function loadOldRunner(dir: string): Promise<ToolRunner> {
  const files = ['src/tools/runners/javascript.ts', 'src/sandbox/child-process.ts', 'src/sandbox/child-runner.ts'];
  for (const file of files) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), execFileSync('git', ['show', `${OLD_COMMIT}:${file}`], { cwd: ROOT }));
  }
  writeFileSync(path.join(dir, 'src/tools/types.ts'), `export * from ${JSON.stringify(path.join(ROOT, 'src/tools/types.ts'))};\n`);
  const mod = (await import(pathToFileURL(path.join(dir, 'src/tools/runners/javascript.ts')).href)) as { runJavascriptTool: ToolRunner };
  return mod.runJavascriptTool;
}

async function main(stopping: AbortController): Promise<number> {
  const rows: Array<[string, Awaited<ReturnType<typeof measure>>]> = [];
  const pool = createIsolatePool();
  const runners: Array<[string, ToolRunner, () => number[]]> = [['isolated-vm (new)', createJavascriptRunner(pool), pool.hostPids]];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-js-old-'));
  try {
    if (OLD_COMMIT) runners.push([`vm + child per call (${OLD_COMMIT.slice(0, 7)})`, await loadOldRunner(dir), () => []]);
    for (const [name, run, pids] of runners) {
      // Warm up as many sandbox hosts as there will be callers: process starts are not what is measured.
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        for (let i = 0; i < 3; i++) await run(tool, args, { signal: new AbortController().signal, idempotencyKey: 'warm', attempt: 1 });
      }));
      for (const callers of [1, CONCURRENCY]) {
        progress(`${name}: ${CALLS} calls, ${callers} caller(s)`);
        rows.push([`${name}, ${callers} caller(s)`, await measure(run, callers, pids, stopping.signal)]);
      }
    }
  } finally {
    pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`${os.cpus().length} CPUs, Node ${process.version}`);
  console.log(formatTable(['runner', 'calls', 'calls/s', 'p50 ms', 'p95 ms', 'CPU ms/call'],
    rows.map(([name, r]) => [name, r.calls, r.perSecond, r.p50, r.p95, r.cpuMsPerCall])));
  console.log(JSON.stringify(Object.fromEntries(rows)));
  return 0;
}

runBench(main);
