/**
 * Escalations waiting on durable timers: starts N escalations through the gateway (a manual rule with two
 * in-app levels), then measures the creation rate, the time until every workflow waits on its level-1
 * timer, memory, acknowledgement latency, and how late the level-1 timers of the others fire. Each N gets
 * a fresh stack in this process (Temporal dev server unless TEMPORAL_ADDRESS is set, a throwaway database,
 * the real worker and gateway). Tables per N on stdout, one JSON line last, progress on stderr.
 * `npm run bench:escalations`; settings: BENCH_ESCALATIONS (comma list), BENCH_ACK_TIMEOUT_S,
 * BENCH_CONCURRENCY, BENCH_ACKS, BENCH_WORKER_OPTIONS (JSON), BENCH_DATABASE_ADMIN_URL; DATABASE_POOL_MAX and
 * WORKER_MAX_CONCURRENT_* pass through to the stack.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkerOptions } from '@temporalio/worker';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { escalationEvent, notification } from '../src/db/schema/index';
import { abortOnSignals, childPid, cpuMeter, intEnv, memorySnapshot as memory, percentiles, procMemory, progress, runCleanup, startBenchStack, type ApiCall, type BenchStack, type Cleanup } from './env';
import { formatTable, round } from './load';

const COUNTS = (process.env.BENCH_ESCALATIONS?.trim() || '1000').split(',').map((s) => {
  const n = Number(s.trim());
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_ESCALATIONS must list integers >= 1, got ${JSON.stringify(s)}`);
  return n;
});
const FIXED_TIMEOUT_S = process.env.BENCH_ACK_TIMEOUT_S?.trim() ? intEnv('BENCH_ACK_TIMEOUT_S', 0, 1) : null;
const CONCURRENCY = intEnv('BENCH_CONCURRENCY', 50, 1);
const ACKS = intEnv('BENCH_ACKS', 200, 0);
const CONVERSATIONS = 10;
/** Escalations started (and resolved) before measuring: warms the code paths and estimates the rate. */
const WARMUP_BATCH = 50;
/** Level 2 must not fire during the run: its `escalated`/notification rows are what level 1's timer left. */
const LEVEL2_TIMEOUT_S = 24 * 3600;
const POLL_MS = 500;
/** Fired escalations whose histories are read to split the lateness into its parts. */
const HISTORY_SAMPLE = 100;
const PASS_THROUGH = ['DATABASE_POOL_MAX', 'WORKER_MAX_CONCURRENT_ACTIVITIES', 'WORKER_MAX_CONCURRENT_WORKFLOW_TASKS'];
/** Extra Worker options as JSON, to try a bottleneck away (e.g. `{"nonStickyToStickyPollRatio":1}`). */
const WORKER_OPTIONS = JSON.parse(process.env.BENCH_WORKER_OPTIONS?.trim() || '{}') as Partial<WorkerOptions>;

type Counts = { notified: number; escalated: number; settled: number };
type Stop = AbortSignal;
const pause = async (ms: number, stop: Stop) => {
  await sleep(ms);
  stop.throwIfAborted();
};

/** Starts `count` escalations, CONCURRENCY requests at a time, round-robin over the conversations. */
async function createEscalations(api: ApiCall, conversations: string[], ruleId: string, count: number, stop: Stop) {
  const ids: (string | undefined)[] = new Array<string | undefined>(count);
  const latencies: number[] = [];
  const nonOk: Record<string, number> = {};
  let [next, firstOk, lastOk] = [0, NaN, NaN];
  const startedAt = Date.now();
  const started = performance.now();
  // allSettled: on abort, requests already sent still finish before the stack is torn down under them.
  const settled = await Promise.allSettled(Array.from({ length: Math.min(CONCURRENCY, count) }, async () => {
    while (next < count) {
      stop.throwIfAborted();
      const i = next++;
      const t0 = performance.now();
      const status = await api('POST', `/v1/conversations/${conversations[i % conversations.length]}/escalations`, { ruleId, reason: `bench ${i + 1}` })
        .then((res) => ((ids[i] = res.status === 201 ? String(res.body.id) : undefined), String(res.status)), () => 'network');
      const t1 = performance.now();
      if (status !== '201') nonOk[status] = (nonOk[status] ?? 0) + 1;
      else {
        latencies.push(t1 - t0);
        if (Number.isNaN(firstOk)) firstOk = t1;
        lastOk = t1;
      }
    }
  }));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  const ok = latencies.length;
  return {
    ids: ids.filter((id): id is string => id !== undefined), ok, nonOk, startedAt, wallMs: round(lastOk - started),
    /** From the first 201 to the last. */
    perSecond: round(ok > 1 ? ((ok - 1) * 1000) / (lastOk - firstOk) : NaN), latencyMs: percentiles(latencies),
  };
}

async function countEvents(stack: BenchStack, ruleId: string): Promise<Counts> {
  const has = (kind: string) => sql`${escalationEvent.timeline} @> ${JSON.stringify([{ kind }])}::jsonb`;
  const [row] = await stack.gatewayDb.db
    .select({
      notified: sql<number>`(count(*) filter (where ${has('notified')}))::int`,
      escalated: sql<number>`(count(*) filter (where ${has('escalated')}))::int`,
      settled: sql<number>`(count(*) filter (where ${has('escalated')} or ${has('acknowledged')}))::int`,
    })
    .from(escalationEvent)
    .where(eq(escalationEvent.escalationRuleId, ruleId));
  return row!;
}

/** Polls until `done` holds or `deadlineMs` (epoch) passes; returns the last counts and whether it got there. */
async function waitFor(stack: BenchStack, ruleId: string, label: string, done: (c: Counts) => boolean, deadlineMs: number, stop: Stop) {
  let [counts, lastLog] = [await countEvents(stack, ruleId), Date.now()];
  while (!done(counts) && Date.now() < deadlineMs) {
    await pause(POLL_MS, stop);
    counts = await countEvents(stack, ruleId);
    if (Date.now() - lastLog < 10_000) continue;
    lastLog = Date.now();
    progress(`  ${label}: ${JSON.stringify(counts)}`);
  }
  return { counts, reached: done(counts) };
}

/** Sequential round trips of `POST /v1/escalations/:id/<command>`; each answers after the workflow recorded it. */
async function command(api: ApiCall, ids: string[], name: 'acknowledge' | 'resolve', expect: string, stop: Stop) {
  const latencies: number[] = [];
  const nonOk: Record<string, number> = {};
  for (const id of ids) {
    stop.throwIfAborted();
    const t0 = performance.now();
    const res = await api('POST', `/v1/escalations/${id}/${name}`, {}).catch(() => ({ status: 0, body: {} as Record<string, unknown> }));
    const key = res.status === 200 && res.body.status === expect ? 'ok' : res.status ? `${res.status}:${String(res.body.status ?? '')}` : 'network';
    if (key === 'ok') latencies.push(performance.now() - t0);
    else nonOk[key] = (nonOk[key] ?? 0) + 1;
  }
  return { requests: ids.length, ok: latencies.length, nonOk, latencyMs: percentiles(latencies), meanMs: round(latencies.reduce((a, b) => a + b, 0) / latencies.length) };
}

/** Per event, from the timeline (workflow clock) and level 2's notification (`sent_at` = workflow time the timer woke it). */
async function analyse(stack: BenchStack, ruleId: string, timeoutS: number, acksDoneAt: number) {
  const { db } = stack.gatewayDb;
  const events = await db.select({ id: escalationEvent.id, timeline: escalationEvent.timeline }).from(escalationEvent).where(eq(escalationEvent.escalationRuleId, ruleId));
  const level2 = await db
    .select({ eventId: notification.escalationEventId, sentAt: notification.sentAt })
    .from(notification)
    .innerJoin(escalationEvent, eq(notification.escalationEventId, escalationEvent.id))
    .where(and(eq(escalationEvent.escalationRuleId, ruleId), eq(notification.level, 1)));
  const woke = new Map(level2.map((r) => [r.eventId, r.sentAt?.getTime() ?? NaN]));
  const at = (timeline: Array<Record<string, unknown>>, kind: string) => Date.parse(String(timeline.find((t) => t.kind === kind)?.at ?? ''));
  const toWaiting: number[] = [], recorded: number[] = [], wokeLate: number[] = [], fireTimes: number[] = [];
  const firedEvents: FiredEvent[] = [];
  let [lastWaiting, ackedAfterFire] = [0, 0];
  for (const e of events) {
    const [created, notified, escalated, acked] = ['created', 'notified', 'escalated', 'acknowledged'].map((k) => at(e.timeline, k)) as [number, number, number, number];
    if (!Number.isNaN(notified)) {
      lastWaiting = Math.max(lastWaiting, notified);
      toWaiting.push(notified - created);
    }
    if (Number.isNaN(escalated)) continue;
    const due = notified + timeoutS * 1000;
    recorded.push(escalated - due);
    wokeLate.push((woke.get(e.id) ?? NaN) - due);
    firedEvents.push({ id: e.id, notified, woke: woke.get(e.id) ?? NaN });
    fireTimes.push(escalated);
    if (escalated < acked) ackedAfterFire++;
  }
  fireTimes.sort((a, b) => a - b);
  return {
    lastWaitingAt: lastWaiting, startToWaitingMs: percentiles(toWaiting), fired: fireTimes.length,
    firedBeforeAllWaiting: fireTimes.filter((t) => t < lastWaiting).length, firedBeforeAcksDone: fireTimes.filter((t) => t < acksDoneAt).length, ackedAfterFire,
    fireWindowS: round(((fireTimes.at(-1) ?? NaN) - (fireTimes[0] ?? NaN)) / 1000),
    wokeLateMs: percentiles(wokeLate.filter((v) => !Number.isNaN(v))), recordedLateMs: percentiles(recorded),
    fromHistory: await timerHistories(stack, firedEvents),
  };
}

type FiredEvent = { id: string; notified: number; woke: number };
const msOf = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(t?.seconds ?? NaN) * 1000 + (t?.nanos ?? 0) / 1e6;

/**
 * Splits "woke" lateness using the histories of a sample of fired escalations: set = TimerStarted after
 * `notified` (the timer starts when the workflow task completes, but its length counts from `notified`),
 * server = TimerFired past TimerStarted + its length, pickup = the waking workflow task's time past TimerFired.
 */
async function timerHistories(stack: BenchStack, fired: FiredEvent[]) {
  const sample = Array.from({ length: Math.min(HISTORY_SAMPLE, fired.length) }, (_, k) => fired[Math.floor((k * fired.length) / Math.min(HISTORY_SAMPLE, fired.length))]!);
  const set: number[] = [], server: number[] = [], pickup: number[] = [];
  for (const e of sample) {
    const events = (await stack.client.workflow.getHandle(`escalation:${e.id}`).fetchHistory()).events ?? [];
    const started = events.find((ev) => ev.timerStartedEventAttributes);
    const firedEv = events.find((ev) => ev.timerFiredEventAttributes?.timerId === started?.timerStartedEventAttributes?.timerId);
    if (!started || !firedEv) continue;
    const length = msOf(started.timerStartedEventAttributes!.startToFireTimeout);
    set.push(msOf(started.eventTime) - e.notified);
    server.push(msOf(firedEv.eventTime) - msOf(started.eventTime) - length);
    pickup.push(e.woke - msOf(firedEv.eventTime));
  }
  return { sampled: set.length, setMs: percentiles(set), serverMs: percentiles(server), pickupMs: percentiles(pickup) };
}

/**
 * Two batches, then resolved: the first pays for cold code paths; the second estimates how fast
 * escalations reach "waiting" once the pipeline is full (first to last `notified` of the batch), and how
 * long the first one takes, so the level-1 timeout can be sized before the real run.
 */
async function warmUp(stack: BenchStack, conversations: string[], ruleId: string, stop: Stop) {
  const size = Math.max(WARMUP_BATCH, CONCURRENCY);
  progress(`warm-up: 2 x ${size} escalations`);
  const ids: string[] = [];
  let batch: Awaited<ReturnType<typeof createEscalations>> | undefined;
  for (let i = 0; i < 2; i++) {
    batch = await createEscalations(stack.api, conversations, ruleId, size, stop);
    ids.push(...batch.ids);
    await waitFor(stack, ruleId, 'warm-up', (c) => c.notified >= ids.length, Date.now() + 120_000, stop);
  }
  const rows = await stack.gatewayDb.db.select({ timeline: escalationEvent.timeline }).from(escalationEvent).where(inArray(escalationEvent.id, batch!.ids));
  const notified = rows.map((r) => Date.parse(String(r.timeline.find((t) => t.kind === 'notified')?.at))).sort((a, b) => a - b);
  const resolve = await command(stack.api, ids, 'resolve', 'resolved', stop);
  return {
    escalations: ids.length,
    waitingPerS: round((notified.length - 1) / ((notified.at(-1)! - notified[0]!) / 1000), 1),
    firstWaitingS: round((notified[0]! - batch!.startedAt) / 1000, 2),
    resolve,
  };
}

async function setUp(stack: BenchStack) {
  const post = async (path: string, body: unknown) => {
    const res = await stack.api('POST', path, body);
    if (res.status !== 201) throw new Error(`POST ${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
    return String(res.body.id);
  };
  const oncall = await post('/v1/users', { name: 'On call', email: 'oncall@bench.test' });
  const manager = await post('/v1/users', { name: 'Manager', email: 'manager@bench.test' });
  const agentId = await post('/v1/agents', { name: 'Bench agent', goal: 'Be escalated about.' });
  const conversations: string[] = [];
  for (let i = 0; i < CONVERSATIONS; i++) conversations.push(await post('/v1/conversations', { agentId }));
  const level = (target: string, ackTimeoutSeconds: number) => ({ targets: [target], channels: ['in_app'], ackTimeoutSeconds });
  const rule = (name: string, timeoutS: number) =>
    post('/v1/escalation-rules', { name, agentId, ruleType: 'manual', escalationAction: 'notify', policy: { levels: [level(oncall, timeoutS), level(manager, LEVEL2_TIMEOUT_S)] } });
  return { conversations, rule };
}

async function runOnce(n: number, controller: AbortController) {
  const stop = controller.signal;
  const cleanup: Cleanup = [];
  try {
    const env = Object.fromEntries(PASS_THROUGH.flatMap((k) => (process.env[k] ? [[k, process.env[k]!]] : [])));
    const stack = await startBenchStack(cleanup, controller, { dbPrefix: 'sao_bench_esc', env, worker: WORKER_OPTIONS });
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
  for (const n of COUNTS) {
    const started = performance.now();
    const result = await runOnce(n, controller);
    results.push(result);
    report(result);
    process.stdout.write(`N=${n} took ${round((performance.now() - started) / 1000)} s in all (stack start and stop included)\n`);
  }
  process.stdout.write(`${JSON.stringify({
    benchmark: 'escalations',
    settings: { counts: COUNTS, concurrency: CONCURRENCY, acks: ACKS, conversations: CONVERSATIONS, warmupBatch: Math.max(WARMUP_BATCH, CONCURRENCY), fixedTimeoutS: FIXED_TIMEOUT_S, cpus: os.cpus().length, node: process.version },
    results,
  })}\n`);
  const bad = results.some((r) => r.creation.created < r.n || r.acks.ok < r.acks.requests || !r.timers.settledReached || r.timers.fired < r.timers.expected);
  return bad ? 1 : 0;
}

const stopping = abortOnSignals();

main(stopping).then(
  (code) => void (process.exitCode ||= code),
  (err: unknown) => {
    progress(stopping.signal.aborted ? 'interrupted; nothing printed for the N in progress' : `failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = stopping.signal.aborted ? 130 : 1;
  },
);
