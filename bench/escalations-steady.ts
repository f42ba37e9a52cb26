/**
 * The steady-state case of `bench:escalations` (see bench/escalations.ts): escalations are created at a
 * constant rate R (open loop, paced by the clock, at most BENCH_STEADY_IN_FLIGHT requests outstanding)
 * with a level-1 timeout of T = W / R seconds. After T seconds about W escalations wait, their deadlines
 * evenly spread over the next T seconds, and from then on R timers fire per second while R new escalations
 * arrive (Little's law). Creation goes on for T + BENCH_STEADY_WINDOW_S seconds; the timers due in that
 * window are the steady-state ones whose lateness is reported.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuMeter, intEnv, memorySnapshot as memory, percentiles, progress, runCleanup, type BenchStack, type Cleanup } from './env';
import { countEvents, eventTimes, pause, setUp, startEscalationStack, timerHistories, warmUp, type FiredEvent, type Stop } from './escalations-shared';
import { formatTable, round } from './load';

const WAITING = intEnv('BENCH_STEADY_WAITING', 1000, 1);
const RATE = intEnv('BENCH_STEADY_RATE', 100, 1);
const TIMEOUT_S = Math.max(1, Math.ceil(WAITING / RATE));
export const STEADY = {
  waiting: WAITING, rate: RATE, timeoutS: TIMEOUT_S,
  windowS: intEnv('BENCH_STEADY_WINDOW_S', Math.max(10, Math.ceil(TIMEOUT_S / 2)), 1),
  inFlight: intEnv('BENCH_STEADY_IN_FLIGHT', 200, 1),
};

type Sample = { atMs: number; sent: number; notified: number; escalated: number; waiting: number; rssMb: number; heapUsedMb: number; cachedWorkflows: number; devServerRssMb: number | null };

/** Sends `total` creations paced at RATE per second; never more than `inFlight` outstanding (then it falls behind, which is counted). */
async function pacedCreation(stack: BenchStack, conversations: string[], ruleId: string, total: number, progressOf: { sent: number }, stop: Stop) {
  const latencies: number[] = [];
  const nonOk: Record<string, number> = {};
  const outstanding = new Set<Promise<void>>();
  let [sent, maxBehindMs] = [0, 0];
  const t0 = performance.now();
  const startedAt = Date.now();
  for (let i = 0; i < total; i++) {
    stop.throwIfAborted();
    const due = t0 + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    while (outstanding.size >= STEADY.inFlight) await Promise.race(outstanding);
    maxBehindMs = Math.max(maxBehindMs, performance.now() - due);
    const t1 = performance.now();
    const p = stack.api('POST', `/v1/conversations/${conversations[i % conversations.length]}/escalations`, { ruleId, reason: `steady ${i + 1}` })
      .then((res) => String(res.status), () => 'network')
      .then((status) => {
        if (status === '201') latencies.push(performance.now() - t1);
        else nonOk[status] = (nonOk[status] ?? 0) + 1;
        outstanding.delete(p);
      });
    outstanding.add(p);
    progressOf.sent = ++sent;
  }
  const lastSentAt = Date.now();
  await Promise.all(outstanding);
  return { sent, created: latencies.length, nonOk, startedAt, lastSentAt, sendS: round((lastSentAt - startedAt) / 1000), maxBehindMs: round(maxBehindMs), postMs: percentiles(latencies) };
}

/** Every second: how many escalations were notified, fired and are waiting, and the process's memory. */
function sampler(stack: BenchStack, ruleId: string, sent: () => number, stop: Stop) {
  const samples: Sample[] = [];
  let running = true;
  const loop = (async () => {
    while (running && !stop.aborted) {
      const c = await countEvents(stack, ruleId);
      const m = memory(stack, '');
      samples.push({ atMs: Date.now(), sent: sent(), notified: c.notified, escalated: c.escalated, waiting: c.notified - c.escalated, rssMb: m.rssMb, heapUsedMb: m.heapUsedMb, cachedWorkflows: m.cachedWorkflows, devServerRssMb: m.devServerRssMb });
      if (samples.length % 10 === 0) progress(`  steady: ${JSON.stringify({ sent: sent(), notified: c.notified, fired: c.escalated, waiting: c.notified - c.escalated, rssMb: m.rssMb, cached: m.cachedWorkflows })}`);
      await sleep(1000);
    }
  })();
  return { samples, stop: async () => ((running = false), await loop) };
}

/** Timers due in [from, to] that have fired / are due, counted in SQL (polled while they drain). */
async function dueAndFired(stack: BenchStack, ruleId: string, from: number, to: number) {
  const [row] = await stack.gatewayDb.sql<{ due: number; fired: number }[]>`
    with e as (
      select timeline @> '[{"kind":"escalated"}]'::jsonb as fired,
        (select (t->>'at')::timestamptz from jsonb_array_elements(timeline) t where t->>'kind' = 'notified' limit 1) + ${`${TIMEOUT_S} seconds`}::interval as due
      from escalation_event where escalation_rule_id = ${ruleId})
    select count(*)::int as due, (count(*) filter (where fired))::int as fired from e
    where due between to_timestamp(${from / 1000}) and to_timestamp(${to / 1000})`;
  return row!;
}

export async function runSteady(controller: AbortController) {
  const stop = controller.signal;
  const cleanup: Cleanup = [];
  try {
    const stack = await startEscalationStack(cleanup, controller);
    const { conversations, rule } = await setUp(stack);
    const warm = await warmUp(stack, conversations, await rule('Warm-up', 24 * 3600), stop);
    const ruleId = await rule('Steady', TIMEOUT_S);
    const total = RATE * (TIMEOUT_S + STEADY.windowS);
    progress(`steady: ${total} escalations at ${RATE}/s, level-1 timeout ${TIMEOUT_S} s (${WAITING} waiting), window ${STEADY.windowS} s`);
    const before = memory(stack, 'before creation (after warm-up)');
    const sending = { sent: 0 };
    const sampling = sampler(stack, ruleId, () => sending.sent, stop);
    const creating = pacedCreation(stack, conversations, ruleId, total, sending, stop);
    // The steady window opens when the first timers fall due; CPU is measured over it.
    await pause(TIMEOUT_S * 1000, stop);
    const windowCpu = await cpuMeter(stack);
    const creation = await creating;
    const cores = await windowCpu();
    const from = creation.startedAt + TIMEOUT_S * 1000, to = creation.lastSentAt;
    progress(`steady: ${creation.created} created; waiting for the timers due up to the end of creation`);
    const cap = Date.now() + Math.max(120_000, 2 * TIMEOUT_S * 1000);
    let drained = await dueAndFired(stack, ruleId, from, to);
    while (drained.fired < drained.due && Date.now() < cap) {
      await pause(1000, stop);
      drained = await dueAndFired(stack, ruleId, from, to);
    }
    const drainedAt = Date.now();
    await sampling.stop();
    const times = await eventTimes(stack, ruleId);
    const { firedEvents, ...summary } = summarise(stack, times, sampling.samples, before, { from, to, drainedAt });
    const fromHistory = await timerHistories(stack, firedEvents);
    return { ...summary, timers: { ...summary.timers, fromHistory }, creation, warmup: warm, cpuCores: cores, complete: drained.fired >= drained.due && creation.created === total };
  } finally {
    progress('steady: shutting down this stack');
    if (!(await runCleanup(cleanup))) process.exitCode = 1;
  }
}

function summarise(stack: BenchStack, times: Awaited<ReturnType<typeof eventTimes>>, samples: Sample[], before: ReturnType<typeof memory>, w: { from: number; to: number; drainedAt: number }) {
  const inWindow = (t: number) => t >= w.from && t <= w.to;
  const notified = times.filter((e) => !Number.isNaN(e.notified));
  const dueInWindow = notified.filter((e) => inWindow(e.notified + TIMEOUT_S * 1000));
  const fired = dueInWindow.filter((e) => !Number.isNaN(e.woke));
  // A timer still unfired when the wait gave up counts with the lateness it had reached by then (a floor).
  const wokeLate = dueInWindow.map((e) => (Number.isNaN(e.woke) ? w.drainedAt : e.woke) - (e.notified + TIMEOUT_S * 1000));
  const recordedLate = fired.filter((e) => !Number.isNaN(e.escalated)).map((e) => e.escalated - (e.notified + TIMEOUT_S * 1000));
  const windowS = (w.to - w.from) / 1000;
  const steadySamples = samples.filter((s) => inWindow(s.atMs));
  // Memory is read where the most escalations waited (the best denominator); per cached workflow too,
  // since the worker's cache holds fired escalations as well as waiting ones.
  const mid = steadySamples.reduce<Sample | undefined>((best, s) => (!best || s.waiting > best.waiting ? s : best), undefined) ?? samples.at(-1)!;
  const perWaiting = (mb: number) => (mid.waiting > 0 ? round((mb * 1024) / mid.waiting, 1) : NaN);
  const perCachedKb = mid.cachedWorkflows > 0 ? round(((mid.rssMb - before.rssMb) * 1024) / mid.cachedWorkflows, 1) : NaN;
  return {
    settings: STEADY, maxCachedWorkflows: stack.worker.options.maxCachedWorkflows,
    waiting: {
      windowS: round(windowS), min: Math.min(...steadySamples.map((s) => s.waiting)), max: Math.max(...steadySamples.map((s) => s.waiting)), mid: mid.waiting,
      /** Escalations that reached "waiting" per second inside the window, and over the whole run. */
      perSecondInWindow: round(notified.filter((e) => inWindow(e.notified)).length / windowS), perSecond: round(notified.length / ((Math.max(...notified.map((e) => e.notified)) - Math.min(...notified.map((e) => e.created))) / 1000)),
      startToWaitingMs: percentiles(notified.filter((e) => inWindow(e.notified)).map((e) => e.notified - e.created)),
    },
    timers: { due: dueInWindow.length, fired: fired.length, notFired: dueInWindow.length - fired.length, wokeLateMs: percentiles(wokeLate), recordedLateMs: percentiles(recordedLate) },
    firedEvents: fired.map((e): FiredEvent => ({ id: e.id, notified: e.notified, woke: e.woke })),
    memory: {
      before: { rssMb: before.rssMb, heapUsedMb: before.heapUsedMb, devServerRssMb: before.devServerRssMb }, mid,
      peak: { rssMb: Math.max(...samples.map((s) => s.rssMb)), cachedWorkflows: Math.max(...samples.map((s) => s.cachedWorkflows)) },
      perCachedWorkflowRssKb: perCachedKb,
      perWaitingKb: { rss: perWaiting(mid.rssMb - before.rssMb), heapUsed: perWaiting(mid.heapUsedMb - before.heapUsedMb), devServerRss: mid.devServerRssMb !== null && before.devServerRssMb !== null ? perWaiting(mid.devServerRssMb - before.devServerRssMb) : null },
    },
    samples: samples.map((s) => ({ ...s, atS: round((s.atMs - (w.from - TIMEOUT_S * 1000)) / 1000) })),
  };
}

export function reportSteady(r: Awaited<ReturnType<typeof runSteady>>): void {
  const out = (s = '') => process.stdout.write(`${s}\n`);
  const { waiting: wt, timers: t, memory: m, creation: c } = r;
  out();
  out(`Steady state: ${r.settings.rate}/s created with a level-1 timeout of ${r.settings.timeoutS} s, so ~${r.settings.waiting} wait and ${r.settings.rate} timers fire per second; window ${wt.windowS} s after the first deadline. Worker cache ${r.maxCachedWorkflows} workflows.`);
  out(formatTable(
    ['sent', 'created', 'non-201', 'sent over s', 'max behind ms', 'POST p50 ms', 'p99 ms', 'waiting/s (window)', 'waiting/s (run)', 'start->waiting p50 ms', 'p95 ms', 'p99 ms', 'waiting min/mid/max'],
    [[c.sent, c.created, Object.entries(c.nonOk).map(([k, v]) => `${v}x${k}`).join(',') || '0', c.sendS, c.maxBehindMs, c.postMs.p50, c.postMs.p99, wt.perSecondInWindow, wt.perSecond,
      wt.startToWaitingMs.p50, wt.startToWaitingMs.p95, wt.startToWaitingMs.p99, `${wt.min} / ${wt.mid} / ${wt.max}`]],
  ));
  out();
  out(`Timer lateness of the timers due in the window (woke = workflow time of the task the timer woke; recorded = 'escalated' entry); CPU over the window node/server/pg/other: ${[r.cpuCores.node, r.cpuCores.devServer, r.cpuCores.postgres, r.cpuCores.other].join(' / ')}`);
  out(formatTable(['measure', 'due', 'fired', 'not fired', 'min ms', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
    (['wokeLateMs', 'recordedLateMs'] as const).map((k) => [k === 'wokeLateMs' ? 'woke' : 'recorded', t.due, t.fired, t.notFired, t[k].min, t[k].p50, t[k].p95, t[k].p99, t[k].max])));
  const h = t.fromHistory;
  out(`woke lateness in parts, from ${h.sampled} sampled histories:`);
  out(formatTable(['part', 'min ms', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'], ([
    ['set: TimerStarted - notified', h.setMs], ['server: TimerFired - (TimerStarted + length)', h.serverMs], ['pickup: woke - TimerFired', h.pickupMs],
  ] as const).map(([label, p]) => [label, p.min, p.p50, p.p95, p.p99, p.max])));
  out();
  out(`Memory where most waited (${m.mid.waiting} waiting, ${m.mid.cachedWorkflows} cached) against before creation; per waiting escalation in KB (node RSS covers the gateway and the workflow threads; heap is the main thread only); node RSS per cached workflow ${m.perCachedWorkflowRssKb} KB`);
  out(formatTable(['stage', 'node RSS MB', 'heap used MB', 'cached workflows', 'dev server RSS MB'], [
    ['before', m.before.rssMb, m.before.heapUsedMb, '', m.before.devServerRssMb ?? 'n/a'],
    ['most waiting', m.mid.rssMb, m.mid.heapUsedMb, m.mid.cachedWorkflows, m.mid.devServerRssMb ?? 'n/a'],
    ['per waiting KB', m.perWaitingKb.rss, m.perWaitingKb.heapUsed, '', m.perWaitingKb.devServerRss ?? 'n/a'],
  ]));
  if (!r.complete) out('NOT complete: some creations failed or some timers due in the window had not fired when the wait gave up');
}
