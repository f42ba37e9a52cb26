/**
 * Escalations waiting on durable timers, through the real gateway and worker (a manual rule with two in-app
 * levels; level 2 waits a day, so level 1's timer is the one measured). Two cases, each on a fresh stack in
 * this process (Temporal dev server unless TEMPORAL_ADDRESS is set, a throwaway database):
 * - burst: N escalations as fast as BENCH_CONCURRENCY requests allow, then acknowledgements, then every
 *   level-1 timer fires at about the same time: creation rate, time until all wait, memory, ack latency,
 *   timer lateness under a backlog.
 * - steady (bench/escalations-steady.ts): escalations created at a constant rate R with a level-1 timeout
 *   of W/R seconds, so that W wait at any moment, their deadlines spread evenly, and R timers fire per
 *   second while R new ones arrive: creation -> waiting rate, timer lateness in that steady state, memory
 *   per waiting escalation.
 * Tables on stdout, one JSON line last with every number, progress on stderr.
 *
 * Quick (default): `npm run bench:escalations` (burst of 1,000; steady 1,000 waiting at 100/s).
 * The issue-14 case, 10,000 waiting with ~100 timers a second:
 *   BENCH_ESCALATIONS=1000 BENCH_STEADY_WAITING=10000 BENCH_STEADY_RATE=100 npm run bench:escalations
 * Settings: BENCH_CASES (burst,steady), BENCH_ESCALATIONS (burst sizes, comma list), BENCH_ACK_TIMEOUT_S,
 * BENCH_CONCURRENCY, BENCH_ACKS; BENCH_STEADY_WAITING, BENCH_STEADY_RATE, BENCH_STEADY_WINDOW_S,
 * BENCH_STEADY_IN_FLIGHT; BENCH_WORKER_OPTIONS (JSON), BENCH_DATABASE_ADMIN_URL; DATABASE_POOL_MAX,
 * WORKER_MAX_CACHED_WORKFLOWS and WORKER_MAX_CONCURRENT_* pass through to the stack.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { abortOnSignals, childPid, cpuMeter, intEnv, memorySnapshot as memory, procMemory, progress, runCleanup, type Cleanup } from './env';
import { analyse, CONCURRENCY, CONVERSATIONS, createEscalations, command, LEVEL2_TIMEOUT_S, pause, setUp, startEscalationStack, waitFor, warmUp, WARMUP_BATCH, WORKER_OPTIONS, type Counts } from './escalations-shared';
import { reportSteady, runSteady, STEADY } from './escalations-steady';
import { formatTable, round } from './load';

const CASES = (process.env.BENCH_CASES?.trim() || 'burst,steady').split(',').map((s) => s.trim());
if (CASES.some((c) => c !== 'burst' && c !== 'steady')) throw new Error(`BENCH_CASES lists burst and/or steady, got ${JSON.stringify(process.env.BENCH_CASES)}`);
const COUNTS = (process.env.BENCH_ESCALATIONS?.trim() || '1000').split(',').map((s) => {
  const n = Number(s.trim());
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_ESCALATIONS must list integers >= 1, got ${JSON.stringify(s)}`);
  return n;
});
const FIXED_TIMEOUT_S = process.env.BENCH_ACK_TIMEOUT_S?.trim() ? intEnv('BENCH_ACK_TIMEOUT_S', 0, 1) : null;
const ACKS = intEnv('BENCH_ACKS', 200, 0);

async function runOnce(n: number, controller: AbortController) {
  const stop = controller.signal;
  const cleanup: Cleanup = [];
  try {
    const stack = await startEscalationStack(cleanup, controller);
    const { conversations, rule } = await setUp(stack);
    const atStart = memory(stack, 'stack up, before warm-up');
    const loadAverageAtStart = os.loadavg().map((l) => round(l, 2));

    const warmRule = await rule('Warm-up', LEVEL2_TIMEOUT_S);
    const warm = await warmUp(stack, conversations, warmRule, stop);
    // Long enough that all N are waiting and the acks are done before the first level-1 timer fires.
    const timeoutS = FIXED_TIMEOUT_S ?? Math.max(30, Math.ceil(2 * (n / warm.waitingPerS + warm.firstWaitingS + (ACKS * warm.resolve.meanMs) / 1000)));
    progress(`N=${n}: warm-up: ${warm.waitingPerS} waiting/s, resolve mean ${warm.resolve.meanMs} ms; level-1 timeout ${timeoutS} s`);

    const ruleId = await rule('Bench', timeoutS);
    const before = memory(stack, 'before creation (after warm-up)');
    progress(`N=${n}: creating, concurrency ${CONCURRENCY}`);
    const creationCpu = await cpuMeter(stack);
    let [created, failed] = [undefined as number | undefined, false];
    const creating = createEscalations(stack.api, conversations, ruleId, n, stop).then((c) => ((created = c.ok), c));
    void creating.catch(() => (failed = true)); // awaited below, which rethrows; until then the poll stops on it
    const allIn = (c: Counts) => failed || (created !== undefined && c.notified >= created);
    const waited = await waitFor(stack, ruleId, 'creating', allIn, Date.now() + (timeoutS + 600) * 1000, stop);
    const creation = await creating;
    const allWaitingS = (Date.now() - creation.startedAt) / 1000;
    const allWaiting = memory(stack, 'all waiting on timers');
    const creationCores = await creationCpu();
    if (!waited.reached) progress(`N=${n}: only ${waited.counts.notified} of ${creation.ok} waiting; carrying on`);
    progress(`N=${n}: ${creation.ok} created at ${creation.perSecond}/s, all waiting after ${round(allWaitingS)} s`);

    const pick = Array.from({ length: Math.min(ACKS, creation.ids.length) }, (_, k) => creation.ids[Math.floor(((k + 0.5) * creation.ids.length) / Math.min(ACKS, creation.ids.length))]!);
    progress(`N=${n}: acknowledging ${pick.length}, one at a time`);
    const acks = await command(stack.api, pick, 'acknowledge', 'acknowledged', stop);
    const acksDoneAt = Date.now();
    const afterAcks = memory(stack, 'after the acknowledgements');

    progress(`N=${n}: waiting for ${creation.ok - acks.ok} level-1 timers (due ${timeoutS} s after each was notified)`);
    // CPU is measured from the first timer's due time, so the idle wait before it does not dilute it.
    const [{ first } = { first: null }] = await stack.gatewayDb.sql<{ first: string | null }[]>`
      select extract(epoch from min((t->>'at')::timestamptz)) * 1000 as first
      from escalation_event, jsonb_array_elements(timeline) t where escalation_rule_id = ${ruleId} and t->>'kind' = 'notified'`;
    const firstDue = Number(first ?? 0) + timeoutS * 1000;
    while (Date.now() < firstDue) await pause(Math.min(1000, firstDue - Date.now()), stop);
    const firingCpu = await cpuMeter(stack);
    const deadline = creation.startedAt + (timeoutS + allWaitingS) * 1000 + Math.max(120_000, 2 * allWaitingS * 1000);
    const fired = await waitFor(stack, ruleId, 'firing', (c) => c.settled >= creation.ok, deadline, stop);
    const firingCores = await firingCpu();
    const after = memory(stack, 'all fired');
    const timers = await analyse(stack, ruleId, timeoutS, acksDoneAt);
    const peak = { nodeMb: procMemory('self')?.peakMb ?? null, devServerMb: stack.temporalPid ? (procMemory(stack.temporalPid)?.peakMb ?? null) : null };
    return {
      n, temporal: stack.temporal, devServerPid: stack.temporalPid, timeoutS, timeoutSource: FIXED_TIMEOUT_S ? 'BENCH_ACK_TIMEOUT_S' : 'auto',
      maxCachedWorkflows: stack.worker.options.maxCachedWorkflows, poolMax: stack.config.DATABASE_POOL_MAX, workerOptions: WORKER_OPTIONS,
      workflowPollers: { max: stack.worker.options.workflowTaskPollerBehavior, nonStickyRatio: stack.worker.options.nonStickyToStickyPollRatio },
      workflowTaskSlots: stack.config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS, activitySlots: stack.config.WORKER_MAX_CONCURRENT_ACTIVITIES,
      warmup: warm, loadAverageAtStart,
      creation: {
        requests: n, created: creation.ok, nonOk: creation.nonOk, perSecond: creation.perSecond, wallMs: creation.wallMs, postMs: creation.latencyMs,
        allWaitingAfterS: round((timers.lastWaitingAt - creation.startedAt) / 1000), waitingPolledAfterS: round(allWaitingS), allWaitingReached: waited.reached,
        startToWaitingMs: timers.startToWaitingMs, cpuCores: creationCores,
      },
      memory: [atStart, before, allWaiting, afterAcks, after], peakRss: peak,
      acks,
      timers: { expected: creation.ok - acks.ok, settledReached: fired.reached, counts: fired.counts, ...timers, cpuCores: firingCores },
    };
  } finally {
    progress(`N=${n}: shutting down this stack`);
    if (!(await runCleanup(cleanup))) process.exitCode = 1;
    if (childPid('temporal') !== null) progress('warning: a temporal child process is still running');
  }
}

type Result = Awaited<ReturnType<typeof runOnce>>;

function report(r: Result): void {
  const out = (s = '') => process.stdout.write(`${s}\n`);
  const c = r.creation, t = r.timers;
  const cpu = (x: { node: number; devServer: number; postgres: number; other: number }) => [x.node, x.devServer, x.postgres, x.other];
  out();
  out(`Escalations benchmark, N = ${r.n}: ${os.cpus().length} CPUs, Node ${process.version}, Temporal ${r.temporal}`);
  out('The gateway, the worker and the load generator share this Node process; the dev server and Postgres run beside it on the same machine.');
  out(`Manual rule, 2 in-app levels: level 1 ack timeout ${r.timeoutS} s (${r.timeoutSource}), level 2 ${LEVEL2_TIMEOUT_S} s (never reached here).`);
  out(`Warm-up: ${r.warmup.escalations} escalations in 2 batches (2nd: ${r.warmup.waitingPerS} waiting/s), then resolved (resolve p50 ${r.warmup.resolve.latencyMs.p50} ms).`);
  out(`Load average when the stack was up: ${r.loadAverageAtStart.join(' ')} (the machine is shared; "other" CPU below is what none of the three used).`);
  const polls = r.workflowPollers.max.type === 'simple-maximum' ? `${r.workflowPollers.max.maximum} workflow task polls` : 'autoscaling workflow task polls';
  out(`Worker: max ${r.maxCachedWorkflows} cached workflows, ${r.workflowTaskSlots} workflow task / ${r.activitySlots} activity slots, ${polls} (non-sticky ratio ${r.workflowPollers.nonStickyRatio}); DB pool ${r.poolMax} per role.`);
  if (Object.keys(r.workerOptions).length) out(`BENCH_WORKER_OPTIONS: ${JSON.stringify(r.workerOptions)}`);
  out();
  out(`Creation: POST /v1/conversations/:id/escalations, ${CONCURRENCY} at a time over ${CONVERSATIONS} conversations; waiting = the workflow recorded 'notified' and sleeps on its level-1 timer`);
  out(formatTable(
    ['escalations', 'created', 'non-201', 'created/s', 'POST p50 ms', 'POST p95 ms', 'all waiting after s', 'waiting/s', 'start->waiting p50 ms', 'p95 ms', 'max ms', 'CPU node/server/pg/other'],
    [[c.requests, c.created, Object.entries(c.nonOk).map(([k, v]) => `${v}x${k}`).join(',') || '0', c.perSecond, c.postMs.p50, c.postMs.p95, c.allWaitingAfterS, round(c.created / c.allWaitingAfterS),
      c.startToWaitingMs.p50, c.startToWaitingMs.p95, c.startToWaitingMs.max, cpu(c.cpuCores).join(' / ')]],
  ));
  out();
  out('Memory: node = this whole process (gateway + worker + load generator); heap used is the main thread only (workflows run in a worker thread, counted in RSS)');
  out(formatTable(['stage', 'node RSS MB', 'node heap used MB', 'cached workflows', 'dev server RSS MB'],
    [...r.memory.map((m) => [m.stage, m.rssMb, m.heapUsedMb, m.cachedWorkflows, m.devServerRssMb ?? 'n/a']), ['peak (VmHWM)', r.peakRss.nodeMb ?? 'n/a', '', '', r.peakRss.devServerMb ?? 'n/a']]));
  out();
  out('Acknowledgement: POST /v1/escalations/:id/acknowledge one at a time (answers after the workflow took the Update and wrote it)');
  const a = r.acks;
  out(formatTable(['acks', 'ok', 'failed', 'mean ms', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
    [[a.requests, a.ok, Object.entries(a.nonOk).map(([k, v]) => `${v}x${k}`).join(',') || '0', a.meanMs, a.latencyMs.p50, a.latencyMs.p95, a.latencyMs.p99, a.latencyMs.max]]));
  out();
  out(`Timers (CPU from the first due time): lateness past notified + ${r.timeoutS} s; woke = workflow time of the task that saw the timer fire, recorded = 'escalated' entry (after level 2's notifications were stored)`);
  out(formatTable(['measure', 'expected', 'fired', 'min ms', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'fire window s', 'CPU node/server/pg/other'],
    (['wokeLateMs', 'recordedLateMs'] as const).map((k) => [k === 'wokeLateMs' ? 'woke' : 'recorded', t.expected, t.fired, t[k].min, t[k].p50, t[k].p95, t[k].p99, t[k].max, t.fireWindowS, cpu(t.cpuCores).join(' / ')])));
  const h = t.fromHistory;
  out(`woke lateness in parts, from ${h.sampled} sampled histories:`);
  out(formatTable(['part', 'min ms', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'], ([
    ['set: TimerStarted - notified', h.setMs], ['server: TimerFired - (TimerStarted + length)', h.serverMs], ['pickup: woke - TimerFired', h.pickupMs],
  ] as const).map(([label, p]) => [label, p.min, p.p50, p.p95, p.p99, p.max])));
  out(`fired before all were waiting: ${t.firedBeforeAllWaiting}; before the acks were done: ${t.firedBeforeAcksDone}; acknowledged after their timer fired: ${t.ackedAfterFire}${t.settledReached ? '' : '; NOT all settled before the cap'}`);
}

async function main(controller: AbortController): Promise<number> {
  const results: Result[] = [];
  for (const n of CASES.includes('burst') ? COUNTS : []) {
    const started = performance.now();
    const result = await runOnce(n, controller);
    results.push(result);
    report(result);
    process.stdout.write(`N=${n} took ${round((performance.now() - started) / 1000)} s in all (stack start and stop included)\n`);
  }
  let steady: Awaited<ReturnType<typeof runSteady>> | null = null;
  if (CASES.includes('steady')) {
    const started = performance.now();
    steady = await runSteady(controller);
    reportSteady(steady);
    process.stdout.write(`steady case took ${round((performance.now() - started) / 1000)} s in all (stack start and stop included)\n`);
  }
  process.stdout.write(`${JSON.stringify({
    benchmark: 'escalations',
    settings: {
      cases: CASES, counts: COUNTS, concurrency: CONCURRENCY, acks: ACKS, conversations: CONVERSATIONS, warmupBatch: Math.max(WARMUP_BATCH, CONCURRENCY), fixedTimeoutS: FIXED_TIMEOUT_S,
      steady: STEADY, cpus: os.cpus().length, node: process.version,
    },
    results,
    steady,
  })}\n`);
  const bad = results.some((r) => r.creation.created < r.n || r.acks.ok < r.acks.requests || !r.timers.settledReached || r.timers.fired < r.timers.expected);
  return bad || (steady && !steady.complete) ? 1 : 0;
}

const stopping = abortOnSignals();

main(stopping).then(
  (code) => void (process.exitCode ||= code),
  (err: unknown) => {
    progress(stopping.signal.aborted ? 'interrupted; nothing printed for the N in progress' : `failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = stopping.signal.aborted ? 130 : 1;
  },
);
