/**
 * What both cases of `bench:escalations` share (see bench/escalations.ts): the stack, the rules, creating
 * escalations through the gateway, counting them by their timelines, and reading timer lateness back.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkerOptions } from '@temporalio/worker';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { escalationEvent, notification } from '../src/db/schema/index';
import { intEnv, percentiles, progress, startBenchStack, type AnyBenchStack, type ApiCall, type BenchStack, type Cleanup } from './env';
import { round } from './load';

export const CONCURRENCY = intEnv('BENCH_CONCURRENCY', 50, 1);
export const CONVERSATIONS = 10;
/** Escalations started (and resolved) before measuring: warms the code paths and estimates the rate. */
export const WARMUP_BATCH = 50;
/** Level 2 must not fire during the run: its `escalated`/notification rows are what level 1's timer left. */
export const LEVEL2_TIMEOUT_S = 24 * 3600;
const POLL_MS = 500;
/** Fired escalations whose histories are read to split the lateness into its parts. */
const HISTORY_SAMPLE = 100;
const PASS_THROUGH = ['DATABASE_POOL_MAX', 'WORKER_MAX_CONCURRENT_ACTIVITIES', 'WORKER_MAX_CONCURRENT_WORKFLOW_TASKS', 'WORKER_MAX_CACHED_WORKFLOWS'];
/** Extra Worker options as JSON, to try a bottleneck away (e.g. `{"nonStickyToStickyPollRatio":1}`). */
export const WORKER_OPTIONS = JSON.parse(process.env.BENCH_WORKER_OPTIONS?.trim() || '{}') as Partial<WorkerOptions>;

/** A fresh stack (dev server, database, worker, gateway) with the pass-through settings applied. */
export function startEscalationStack(cleanup: Cleanup, controller: AbortController): Promise<BenchStack> {
  const env = Object.fromEntries(PASS_THROUGH.flatMap((k) => (process.env[k] ? [[k, process.env[k]!]] : [])));
  return startBenchStack(cleanup, controller, { dbPrefix: 'sao_bench_esc', env, worker: WORKER_OPTIONS });
}

export type Counts = { notified: number; escalated: number; settled: number };
export type Stop = AbortSignal;
export const pause = async (ms: number, stop: Stop) => {
  await sleep(ms);
  stop.throwIfAborted();
};

/** Starts `count` escalations, CONCURRENCY requests at a time, round-robin over the conversations. */
export async function createEscalations(api: ApiCall, conversations: string[], ruleId: string, count: number, stop: Stop) {
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

export async function countEvents(stack: AnyBenchStack, ruleId: string): Promise<Counts> {
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
export async function waitFor(stack: AnyBenchStack, ruleId: string, label: string, done: (c: Counts) => boolean, deadlineMs: number, stop: Stop) {
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
export async function command(api: ApiCall, ids: string[], name: 'acknowledge' | 'resolve', expect: string, stop: Stop) {
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

/** One escalation's clock readings (epoch ms, NaN when absent): timeline entries and level 2's notification `sent_at`. */
export type EventTimes = { id: string; created: number; notified: number; escalated: number; acked: number; woke: number };

/**
 * Per event of the rule, from the timeline (workflow clock) and level 2's notification (`sent_at` = the
 * workflow time of the task the level-1 timer woke).
 */
export async function eventTimes(stack: BenchStack, ruleId: string): Promise<EventTimes[]> {
  const { db } = stack.gatewayDb;
  const events = await db.select({ id: escalationEvent.id, timeline: escalationEvent.timeline }).from(escalationEvent).where(eq(escalationEvent.escalationRuleId, ruleId));
  const level2 = await db
    .select({ eventId: notification.escalationEventId, sentAt: notification.sentAt })
    .from(notification)
    .innerJoin(escalationEvent, eq(notification.escalationEventId, escalationEvent.id))
    .where(and(eq(escalationEvent.escalationRuleId, ruleId), eq(notification.level, 1)));
  const woke = new Map(level2.map((r) => [r.eventId, r.sentAt?.getTime() ?? NaN]));
  const at = (timeline: Array<Record<string, unknown>>, kind: string) => Date.parse(String(timeline.find((t) => t.kind === kind)?.at ?? ''));
  return events.map((e) => ({
    id: e.id, created: at(e.timeline, 'created'), notified: at(e.timeline, 'notified'), escalated: at(e.timeline, 'escalated'),
    acked: at(e.timeline, 'acknowledged'), woke: woke.get(e.id) ?? NaN,
  }));
}

/** The burst case's timer analysis: lateness of every level-1 timer that fired, past notified + `timeoutS`. */
export async function analyse(stack: BenchStack, ruleId: string, timeoutS: number, acksDoneAt: number) {
  const toWaiting: number[] = [], recorded: number[] = [], wokeLate: number[] = [], fireTimes: number[] = [];
  const firedEvents: FiredEvent[] = [];
  let [lastWaiting, ackedAfterFire] = [0, 0];
  for (const { id, created, notified, escalated, acked, woke } of await eventTimes(stack, ruleId)) {
    if (!Number.isNaN(notified)) {
      lastWaiting = Math.max(lastWaiting, notified);
      toWaiting.push(notified - created);
    }
    if (Number.isNaN(escalated)) continue;
    const due = notified + timeoutS * 1000;
    recorded.push(escalated - due);
    wokeLate.push(woke - due);
    firedEvents.push({ id, notified, woke });
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

export type FiredEvent = { id: string; notified: number; woke: number };
const msOf = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(t?.seconds ?? NaN) * 1000 + (t?.nanos ?? 0) / 1e6;

/**
 * Splits "woke" lateness using the histories of a sample of fired escalations: set = TimerStarted after
 * `notified` (the timer starts when the workflow task completes, but its length counts from `notified`),
 * server = TimerFired past TimerStarted + its length, pickup = the waking workflow task's time past TimerFired.
 */
export async function timerHistories(stack: BenchStack, fired: FiredEvent[]) {
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
export async function warmUp(stack: BenchStack, conversations: string[], ruleId: string, stop: Stop) {
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

export async function setUp(stack: AnyBenchStack) {
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

