/**
 * Profile of the durable turn (issue 14): N sequential turns of one conversation through the real gateway
 * and worker, and per turn: CPU ms of this process's threads (main thread = gateway + worker activities +
 * this driver; Temporal core and workflow threads apart), of the Temporal dev server and of the bench
 * database's Postgres backends; SQL round trips per pool, counted on the wire (bench/pg-counter.ts);
 * `pg_stat_database` deltas; and one turn's history (workflow tasks, activities, local activities, with
 * times). The machine's load average sits next to every phase: the box is shared.
 * `node scripts/node.mjs --import tsx bench/profile-turn.ts`; settings: BENCH_TURNS (40), BENCH_DELAYS (0,300).
 */
import { readdirSync, readFileSync } from 'node:fs';
import postgres from 'postgres';
import { ScriptedLlm, type Step } from '../test/support/scripted-llm';
import { startPgCounter } from './pg-counter';
import { metricsUrl, temporalRpcs } from './temporal-metrics';

const TURNS = Number(process.env.BENCH_TURNS ?? 40);
const DELAYS = (process.env.BENCH_DELAYS ?? '0,300').split(',').map(Number);
const ADMIN = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

function ticks(path: string): { comm: string; cpuMs: number } | null {
  try {
    const stat = readFileSync(path, 'utf8');
    const close = stat.lastIndexOf(')');
    const f = stat.slice(close + 2).split(' ');
    return { comm: stat.slice(stat.indexOf('(') + 1, close), cpuMs: (Number(f[11]) + Number(f[12])) * 10 };
  } catch {
    return null;
  }
}

/** CPU ms per thread group of this process: `main` is the event-loop thread, the rest by thread name. */
function threadCpu(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const tid of readdirSync('/proc/self/task')) {
    const t = ticks(`/proc/self/task/${tid}/stat`);
    if (!t) continue;
    const key = Number(tid) === process.pid ? 'main' : t.comm;
    out[key] = (out[key] ?? 0) + t.cpuMs;
  }
  return out;
}

/** History event types a turn has (temporal.api.enums.v1.EventType), by number. */
const EVENT_NAMES: Record<number, string> = {
  1: 'WorkflowExecutionStarted', 2: 'WorkflowExecutionCompleted', 5: 'WorkflowTaskScheduled', 6: 'WorkflowTaskStarted',
  7: 'WorkflowTaskCompleted', 10: 'ActivityTaskScheduled', 11: 'ActivityTaskStarted', 12: 'ActivityTaskCompleted',
  25: 'MarkerRecorded', 26: 'WorkflowExecutionSignaled', 40: 'UpsertWorkflowSearchAttributes',
  47: 'WorkflowExecutionUpdateAccepted', 48: 'WorkflowExecutionUpdateRejected', 49: 'WorkflowExecutionUpdateCompleted',
};

const diff = (a: Record<string, number>, b: Record<string, number>, per: number) =>
  Object.fromEntries(Object.keys(b).map((k) => [k, Math.round(((b[k] ?? 0) - (a[k] ?? 0)) / per * 10) / 10]).filter(([, v]) => v !== 0));

async function main(): Promise<void> {
  const counter = await startPgCounter(ADMIN);
  process.env.BENCH_DATABASE_ADMIN_URL = counter.url; // env.ts reads it at import
  const { startBenchStack, runCleanup, progress, abortOnSignals } = await import('./env.js');
  const direct = postgres(ADMIN, { max: 1, onnotice: () => {} });
  const controller = abortOnSignals();
  const cleanup: Array<[string, () => Promise<unknown>]> = [['pg counter', () => counter.close()], ['direct pg', () => direct.end({ timeout: 5 })]];
  const out = (s = '') => process.stdout.write(`${s}\n`);
  try {
    let delayMs = 0;
    const llm = await new ScriptedLlm((): Step => ({ reply: 'benchmark answer', delayMs })).start();
    cleanup.push(['scripted LLM', () => llm.stop()]);
    const stack = await startBenchStack(cleanup, controller, {
      dbPrefix: 'sao_profile',
      env: { OPENAI_BASE_URL: llm.baseUrl, OPENAI_API_KEY: 'bench', TURN_WAIT_MS: '60000' },
    });
    const post = async (path: string, body: unknown) => {
      const res = await stack.api('POST', path, body);
      if (res.status !== 201 && res.status !== 200) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body as { id: string };
    };
    const agent = await post('/v1/agents', { name: 'Profile agent', goal: 'Answer briefly.' });
    const conv = await post('/v1/conversations', { agentId: agent.id });
    const turn = () => post(`/v1/conversations/${conv.id}/messages`, { content: 'hello' });
    for (let i = 0; i < 3; i++) await turn(); // warm-up: pools, JIT, workflow bundle

    const pgPids = async () => (await direct<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${stack.dbName}`).map((r) => r.pid);
    const pgCpu = (pids: number[]) => pids.reduce((s, pid) => s + (ticks(`/proc/${pid}/stat`)?.cpuMs ?? 0), 0);
    const dbStats = async () => {
      await direct`select pg_stat_clear_snapshot()`;
      const [r] = await direct<Record<string, string>[]>`select xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted, blks_hit from pg_stat_database where datname = ${stack.dbName}`;
      return Object.fromEntries(Object.entries(r ?? {}).map(([k, v]) => [k, Number(v)]));
    };
    const metrics = await metricsUrl(stack.temporalPid);
    if (!metrics) progress('no Temporal metrics endpoint found: RPC counts left out');
    const phases = [];
    for (const d of DELAYS) {
      delayMs = d;
      await new Promise((r) => setTimeout(r, 11_000)); // idle backends flush their stats within 10 s
      const load0 = loadavg();
      const pids0 = await pgPids();
      const s0 = { threads: threadCpu(), server: stack.temporalPid ? ticks(`/proc/${stack.temporalPid}/stat`)!.cpuMs : NaN, pg: pgCpu(pids0), db: await dbStats(), t: performance.now() };
      const rpc0 = await temporalRpcs(metrics);
      counter.reset();
      const lat: number[] = [];
      for (let i = 0; i < TURNS; i++) {
        const t = performance.now();
        await turn();
        lat.push(performance.now() - t);
      }
      const wallMs = performance.now() - s0.t;
      const s1 = { threads: threadCpu(), server: stack.temporalPid ? ticks(`/proc/${stack.temporalPid}/stat`)!.cpuMs : NaN, pg: pgCpu(pids0), sql: counter.counts() };
      const load1 = loadavg();
      const rpc1 = await temporalRpcs(metrics);
      const newPids = (await pgPids()).filter((p) => !pids0.includes(p));
      await new Promise((r) => setTimeout(r, 11_000));
      const db1 = await dbStats();
      lat.sort((a, b) => a - b);
      const phase = {
        delayMs: d, turns: TURNS, load: { before: load0, after: load1 },
        p50Ms: Math.round(lat[Math.floor(TURNS / 2)]! * 10) / 10, wallMsPerTurn: Math.round(wallMs / TURNS * 10) / 10,
        cpuMsPerTurn: {
          process: diff(s0.threads, s1.threads, TURNS),
          temporalServer: Math.round((s1.server - s0.server) / TURNS * 10) / 10,
          postgresBackends: Math.round((s1.pg - s0.pg) / TURNS * 10) / 10,
          newPostgresBackendsDuringPhase: newPids.length,
        },
        sqlRoundTripsPerTurn: Object.fromEntries(Object.entries(s1.sql).map(([k, v]) => [k, Math.round(v / TURNS * 100) / 100])),
        temporalRpcsPerTurn: diff(rpc0, rpc1, TURNS),
        pgStatDatabasePerTurn: Object.fromEntries(Object.keys(db1).map((k) => [k, Math.round((db1[k]! - s0.db[k]!) / TURNS * 10) / 10])),
      };
      progress(`delay ${d}: p50 ${phase.p50Ms} ms, load ${load1}`);
      phases.push(phase);
    }

    const [{ workflow_id: workflowId } = { workflow_id: '' }] = await stack.gatewayDb.sql<{ workflow_id: string }[]>`select workflow_id from agent_execution_history order by message_index desc limit 1`;
    const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
    const events = history.events ?? [];
    const t0 = Number(events[0]?.eventTime?.seconds ?? 0) * 1000 + (events[0]?.eventTime?.nanos ?? 0) / 1e6;
    const timeline = events.map((e) => {
      const ms = Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6 - t0;
      const type = EVENT_NAMES[Number(e.eventType)] ?? String(e.eventType);
      const marker = e.markerRecordedEventAttributes?.details?.data?.payloads?.[0]?.data;
      const name = e.activityTaskScheduledEventAttributes?.activityType?.name
        ?? (marker ? /"activity_?[tT]ype":\s*"(\w+)"/.exec(Buffer.from(marker).toString())?.[1] : undefined);
      const markerName = e.markerRecordedEventAttributes?.markerName ?? undefined; // core_local_activity | core_patch
      return { ms: Math.round(ms * 10) / 10, type, ...(name ? { name } : {}), ...(markerName ? { markerName } : {}) };
    });
    const countOf = (re: RegExp) => timeline.filter((e) => re.test(e.type)).length;
    const historyCounts = {
      events: timeline.length,
      workflowTasks: countOf(/^WorkflowTaskCompleted$/),
      activities: countOf(/^ActivityTaskScheduled$/),
      localActivities: timeline.filter((e) => e.markerName === 'core_local_activity').length,
      patchMarkers: timeline.filter((e) => e.markerName === 'core_patch').length,
    };
    out(JSON.stringify({ benchmark: 'profile-turn', temporal: stack.temporal, phases, lastTurn: { workflowId, ...historyCounts, timeline } }, null, 1));
  } finally {
    await runCleanup(cleanup);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
