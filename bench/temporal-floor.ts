/**
 * Temporal's floor for a durable turn on this machine: what the smallest workflow that does a turn's work in one
 * activity costs before that activity starts and until the client has its result, with no database and no model.
 * A workflow (bench/workflows/temporal-floor.ts) schedules one activity that returns at once, on the same dev
 * server flags as the product (eager activity dispatch on) and the turn's activity options. The worker runs in a
 * process of its own (bench/temporal-floor-worker.ts), as production runs it apart from the gateway; the activity
 * returns when it started on the machine's clock. Next to `npm run bench:turns`, it says how much of the durable turn's
 * overhead over the baseline is Temporal's (start RPC, workflow task dispatch and processing, activity
 * dispatch) and how much is ours.
 *
 *   npm run bench:temporal-floor                   # BENCH_TURNS=60 sequential workflows per variant
 *   BENCH_PAUSE_MS=0 npm run bench:temporal-floor  # back to back (default 100 ms between workflows)
 *
 * The pause matters: a workflow started the moment the previous one closed waited ~30 ms for each of its workflow
 * tasks to be dispatched on this box (scheduled -> started), against ~5 ms after a pause, with the SDK's default
 * pollers, more pollers, or one task-queue partition alike. People pause between messages; a load test does not.
 *
 * Rows: `plain` (one task, one activity) and `patched` (plus the patch marker and the TemporalChangeVersion
 * upsert Temporal's SDK adds to a workflow's first task that calls patched(), as the turn workflow does).
 * Columns (p50 / p95 ms): start RPC; start call to activity start (what a turn pays before its own work can
 * begin); start call to result (a client woken by the result long-poll, as it would be without our NOTIFY).
 * Prints a table, then one JSON line with every number, last.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ensureTemporalCli } from '../scripts/ensure-temporal.mjs';
import { devServerDynamicConfigArgs } from '../scripts/lib/dev-server.mjs';
import { intEnv, percentiles, progress, runBench, runCleanup, type Cleanup } from './env';
import { formatTable } from './load';
import { startService, waitUntil, workerPolling } from './processes';

const TURNS = intEnv('BENCH_TURNS', 60, 5);
const WARMUP = 5;
const { EventType } = temporal.api.enums.v1;
const PAUSE_MS = intEnv('BENCH_PAUSE_MS', 100, 0);

runBench(async (controller) => {
  const cleanup: Cleanup = [];
  try {
    progress('starting a Temporal dev server');
    const env = await TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'existing-path', path: await ensureTemporalCli() }, extraArgs: devServerDynamicConfigArgs() },
    });
    cleanup.push(['temporal dev server', () => env.teardown()]);
    const taskQueue = `floor-${process.pid}`;
    // The worker in a process of its own, as production runs it apart from the gateway that starts turns.
    const worker = startService('floor-worker', 'bench/temporal-floor-worker.ts', { ...process.env, FLOOR_TEMPORAL_ADDRESS: env.address, FLOOR_TASK_QUEUE: taskQueue });
    cleanup.push(['worker', () => worker.stop()]);
    const connection = await Connection.connect({ address: env.address });
    cleanup.push(['client connection', () => connection.close()]);
    const client = new Client({ connection });
    await waitUntil('the floor worker polling', worker, () => workerPolling(client, taskQueue));

    const variants = [['plain', false], ['patched', true]] as const;
    const samples = Object.fromEntries(variants.map(([name]) => [name, { startRpc: [] as number[], toActivity: [] as number[], toResult: [] as number[] }]));
    for (let i = 0; i < TURNS + WARMUP; i++) {
      // Alternating, so both variants see the same moments of a shared machine.
      for (const [name, withPatch] of variants) {
        controller.signal.throwIfAborted();
        // A pause between turns, as between a person's messages: a workflow started the moment the previous one
        // closed finds no poll waiting (the worker has not re-polled yet) and waits for the task queue's backlog.
        await sleep(PAUSE_MS);
        const label = `${name}-${i}`;
        const t0 = performance.now();
        const handle = await client.workflow.start('floorTurn', { taskQueue, workflowId: `floor-${process.pid}-${label}`, args: [label, withPatch] });
        const t1 = performance.now();
        const activityStartedAt = (await handle.result()) as number;
        const t2 = performance.now();
        if (i < WARMUP) continue;
        samples[name]!.startRpc.push(t1 - t0);
        samples[name]!.toActivity.push(activityStartedAt - performance.timeOrigin - t0);
        samples[name]!.toResult.push(t2 - t0);
      }
    }
    // One history's events with their times from the start (the workflow task's dispatch is scheduled -> started).
    const events = (await client.workflow.getHandle(`floor-${process.pid}-plain-${TURNS + WARMUP - 1}`).fetchHistory()).events ?? [];
    const at = (e: (typeof events)[number]) => Number(e.eventTime!.seconds) * 1000 + e.eventTime!.nanos! / 1e6;
    const timeline = events.map((e) => `${EventType[e.eventType!]?.replace('EVENT_TYPE_', '')} ${(at(e) - at(events[0]!)).toFixed(1)}`);
    const results = Object.fromEntries(
      Object.entries(samples).map(([name, s]) => [name, { startRpc: percentiles(s.startRpc), toActivity: percentiles(s.toActivity), toResult: percentiles(s.toResult) }]),
    );
    const cell = (p: { p50: number; p95: number }) => `${p.p50} / ${p.p95}`;
    console.log(`Temporal's floor for one turn: ${TURNS} sequential workflows per variant, dev server with the product's flags, load ${(await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log(
      formatTable(
        ['variant', 'start RPC p50 / p95 ms', 'start -> activity started', 'start -> result (long-poll)'],
        Object.entries(results).map(([name, r]) => [name, cell(r.startRpc), cell(r.toActivity), cell(r.toResult)]),
      ),
    );
    console.log(`last plain workflow's history (ms from its start): ${timeline.join(', ')}`);
    console.log(JSON.stringify({ benchmark: 'temporal-floor', turns: TURNS, pauseMs: PAUSE_MS, results, timeline }));
    return 0;
  } finally {
    await runCleanup(cleanup);
  }
});
