import { performance } from 'node:perf_hooks';

/** Latency summary of one phase; times in milliseconds, throughput in successful turns per second. */
export interface PhaseStats {
  requests: number;
  ok: number;
  /** Responses other than 200, keyed by status code ("network" when the request itself failed). */
  nonOk: Record<string, number>;
  wallMs: number;
  throughput: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /**
   * Where the time went on this machine: the share of the phase the main event loop (load generator,
   * gateway, activities, baseline) was busy, and the CPU cores this process used in all its threads
   * (workflow threads and the Temporal core included). Near 1.0 / near the core count means the numbers
   * measure this one process more than the design.
   */
  eventLoopBusy: number;
  processCpuCores: number;
}

export interface LoadOptions {
  /** One messages URL per conversation; every conversation runs its turns one after another. */
  urls: string[];
  turns: number;
  headers?: Record<string, string>;
  /**
   * Checked between turns only: a request already sent is allowed to finish, so no gateway handler is
   * still waiting on Temporal when the benchmark closes the connections under it.
   */
  signal: AbortSignal;
}

/**
 * Closed-loop load: all conversations at once, each sending its next message only after the previous
 * answer arrived, the way a chat client behaves. Only 200 responses count as turns; their latencies are
 * the ones summarised, so a failing run shows up in `nonOk` rather than as fast errors in the percentiles.
 */
export async function runClosedLoop(options: LoadOptions): Promise<PhaseStats> {
  const latencies: number[] = [];
  const nonOk: Record<string, number> = {};
  let requests = 0;
  const started = performance.now();
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();

  // allSettled: on abort, every conversation's request in flight still finishes before this returns.
  const settled = await Promise.allSettled(
    options.urls.map(async (url, conv) => {
      for (let turn = 1; turn <= options.turns; turn++) {
        options.signal.throwIfAborted();
        requests++;
        const t0 = performance.now();
        let status: string;
        try {
          const res = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...options.headers },
            body: JSON.stringify({ content: `benchmark message ${turn} of conversation ${conv + 1}` }),
          });
          await res.arrayBuffer(); // the answer is part of the latency, and the connection goes back to the pool
          status = String(res.status);
        } catch {
          status = 'network';
        }
        const ms = performance.now() - t0;
        if (status === '200') latencies.push(ms);
        else nonOk[status] = (nonOk[status] ?? 0) + 1;
      }
    }),
  );
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;

  const wallMs = performance.now() - started;
  const busy = performance.eventLoopUtilization(elu).utilization;
  const cpuUsed = process.cpuUsage(cpu);
  return {
    ...summarise(latencies, requests, nonOk, wallMs),
    eventLoopBusy: round(busy, 2),
    processCpuCores: round((cpuUsed.user + cpuUsed.system) / 1000 / wallMs, 2),
  };
}

function summarise(latencies: number[], requests: number, nonOk: Record<string, number>, wallMs: number) {
  const sorted = [...latencies].sort((a, b) => a - b);
  // Nearest-rank percentile: an actual observed latency, never an interpolation between two.
  const pct = (p: number) => (sorted.length === 0 ? NaN : sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!);
  const mean = sorted.length === 0 ? NaN : sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return {
    requests,
    ok: sorted.length,
    nonOk,
    wallMs: round(wallMs),
    throughput: round((sorted.length / wallMs) * 1000, 2),
    mean: round(mean),
    p50: round(pct(50)),
    p95: round(pct(95)),
    p99: round(pct(99)),
    max: round(sorted.at(-1) ?? NaN),
  };
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Right-aligned plain-text table; the first column is left-aligned. */
export function formatTable(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export function describeNonOk(nonOk: Record<string, number>): string {
  const entries = Object.entries(nonOk);
  return entries.length === 0 ? '0' : entries.map(([status, n]) => `${n}x${status}`).join(',');
}
