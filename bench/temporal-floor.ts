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
 * The pause used to matter: a workflow started the moment the previous one closed waited ~37 ms for each of its
 * workflow tasks to be dispatched (scheduled -> started), against ~3 ms after a pause. The dev server's one history
 * shard read its queue of ready tasks at most 20 times a second (`history.transferProcessorMaxPollRPS`); the
 * project's dev servers now raise that (scripts/lib/dev-server.mjs), and the dispatch columns show the effect.
 *
 * Rows: `plain` (one task, one activity) and `patched` (plus the patch marker and the TemporalChangeVersion
 * upsert Temporal's SDK adds to a workflow's first task that calls patched(), as the turn workflow does).
 * Columns (p50 / p95 ms): start RPC; start call to activity start (what a turn pays before its own work can
 * begin); start call to result (a client woken by the result long-poll, as it would be without our NOTIFY); each
 * workflow task's dispatch, scheduled -> started in the history (the first from the task queue, the second, after
 * the activity, from the worker's sticky queue).
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
    const samples = Object.fromEntries(
      variants.map(([name]) => [name, { startRpc: [] as number[], toActivity: [] as number[], toResult: [] as number[], firstDispatch: [] as number[], secondDispatch: [] as number[] }]),
    );
    const measured: Array<[variant: string, workflowId: string]> = [];
    for (let i = 0; i < TURNS + WARMUP; i++) {
      // Alternating, so both variants see the same moments of a shared machine.
      for (const [name, withPatch] of variants) {
        controller.signal.throwIfAborted();
        // A pause between turns, as between a person's messages (BENCH_PAUSE_MS=0: back to back, as a load test).
        await sleep(PAUSE_MS);
        const label = `${name}-${i}`;
        const t0 = performance.now();
        const workflowId = `floor-${process.pid}-${label}`;
        const handle = await client.workflow.start('floorTurn', { taskQueue, workflowId, args: [label, withPatch] });
        const t1 = performance.now();
        const activityStartedAt = (await handle.result()) as number;
        const t2 = performance.now();
        if (i < WARMUP) continue;
        samples[name]!.startRpc.push(t1 - t0);
        samples[name]!.toActivity.push(activityStartedAt - performance.timeOrigin - t0);
        samples[name]!.toResult.push(t2 - t0);
        measured.push([name, workflowId]);
      }
    }
    // Each workflow task's dispatch (scheduled -> started) from the histories, after the runs so reading them
    // does not share the moments measured: the first task goes to the task queue, the second (after the activity)
    // to the worker's sticky queue.
    for (const [name, workflowId] of measured) {
      const [first, second] = taskDispatches((await client.workflow.getHandle(workflowId).fetchHistory()).events ?? []);
      if (first !== undefined) samples[name]!.firstDispatch.push(first);
      if (second !== undefined) samples[name]!.secondDispatch.push(second);
    }
    // One history's events with their times from the start.
    const events = (await client.workflow.getHandle(`floor-${process.pid}-plain-${TURNS + WARMUP - 1}`).fetchHistory()).events ?? [];
    const timeline = events.map((e) => `${EventType[e.eventType!]?.replace('EVENT_TYPE_', '')} ${(eventMs(e) - eventMs(events[0]!)).toFixed(1)}`);
    const results = Object.fromEntries(
      Object.entries(samples).map(([name, s]) => [
        name,
        {
          startRpc: percentiles(s.startRpc),
          toActivity: percentiles(s.toActivity),
          toResult: percentiles(s.toResult),
          firstTaskDispatch: percentiles(s.firstDispatch),
          secondTaskDispatch: percentiles(s.secondDispatch),
        },
      ]),
    );
    const cell = (p: { p50: number; p95: number }) => `${p.p50} / ${p.p95}`;
    console.log(`Temporal's floor for one turn: ${TURNS} sequential workflows per variant, dev server with the product's flags, load ${(await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log(
      formatTable(
        ['variant', 'start RPC p50 / p95 ms', 'start -> activity started', 'start -> result (long-poll)', '1st task dispatch', '2nd task dispatch'],
        Object.entries(results).map(([name, r]) => [name, cell(r.startRpc), cell(r.toActivity), cell(r.toResult), cell(r.firstTaskDispatch), cell(r.secondTaskDispatch)]),
      ),
    );
    console.log(`last plain workflow's history (ms from its start): ${timeline.join(', ')}`);
    console.log(JSON.stringify({ benchmark: 'temporal-floor', turns: TURNS, pauseMs: PAUSE_MS, results, timeline }));
    return 0;
  } finally {
    await runCleanup(cleanup);
  }
});

type HistoryEvent = NonNullable<temporal.api.history.v1.IHistory['events']>[number];

function eventMs(e: HistoryEvent): number {
  return Number(e.eventTime!.seconds) * 1000 + e.eventTime!.nanos! / 1e6;
}

/** Milliseconds from each workflow task's scheduled event to its started event, in history order. */
function taskDispatches(events: HistoryEvent[]): number[] {
  const scheduled = events.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  const started = events.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED);
  return started.map((e, i) => eventMs(e) - eventMs(scheduled[i]!));
}
