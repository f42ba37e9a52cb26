/**
 * Profile of one escalation from creation to "waiting" on its level-1 timer (issue 14), through the real
 * gateway and worker in processes of their own: BENCH_PROFILE_N escalations (default 100), BENCH_CONCURRENCY
 * at a time (default 4), created after a warm-up, then per escalation: CPU ms of the gateway, the worker,
 * the Temporal dev server and this database's Postgres backends; SQL round trips per pool, counted on the
 * wire (bench/pg-counter.ts); Temporal RPCs the server answered; and one escalation's history (workflow
 * tasks, local activities, events). Add `--cpu-prof` for the services with
 * NODE_OPTIONS='--cpu-prof --cpu-prof-dir=/tmp/prof' (they write their profiles when they stop).
 * `flock /work/notes/bench.lock node scripts/bench.mjs --temporal bench/escalations-profile.ts`
 */
import { readdirSync, readFileSync } from 'node:fs';
import { startPgCounter } from './pg-counter';
import { historyCounts, metricsUrl, temporalRpcs } from './temporal-metrics';

const N = Number(process.env.BENCH_PROFILE_N ?? 100);
const IN_FLIGHT = Number(process.env.BENCH_CONCURRENCY ?? 4);
const ADMIN = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** CPU ms so far of each thread of a process, summed by thread name (`main` for the event-loop thread). */
function threadCpuMs(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const f = stat.slice(close + 2).split(' ');
      const name = Number(tid) === pid ? 'main' : stat.slice(stat.indexOf('(') + 1, close);
      out[name] = (out[name] ?? 0) + (Number(f[11]) + Number(f[12])) * 10;
    } catch { /* the thread ended meanwhile */ }
  }
  return out;
}

async function main(): Promise<void> {
  const counter = await startPgCounter(ADMIN);
  process.env.BENCH_DATABASE_ADMIN_URL = counter.url; // env.ts reads it at import
  const { abortOnSignals, cpuMsPerTurn, progress, runCleanup, sampleCpu, startBenchStack } = await import('./env.js');
  const { setUp, waitFor, LEVEL2_TIMEOUT_S } = await import('./escalations-shared.js');
  const controller = abortOnSignals();
  const cleanup: Array<[string, () => Promise<unknown>]> = [['pg counter', () => counter.close()]];
  try {
    const stack = await startBenchStack(cleanup, controller, { dbPrefix: 'sao_profile_esc', processes: 'split' });
    const { conversations, rule } = await setUp(stack);
    const ruleId = await rule('Profile', LEVEL2_TIMEOUT_S);
    let created = 0;
    const create = async (count: number) => {
      let next = 0;
      await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
        while (next < count) {
          const i = next++;
          const res = await stack.api('POST', `/v1/conversations/${conversations[i % conversations.length]}/escalations`, { ruleId, reason: `profile ${i}` });
          if (res.status !== 201) throw new Error(`create answered ${res.status}: ${JSON.stringify(res.body)}`);
          created++;
        }
      }));
      const all = await waitFor(stack, ruleId, 'waiting', (c) => c.notified >= created, Date.now() + 300_000, controller.signal);
      if (!all.reached) throw new Error(`only ${all.counts.notified} of ${created} reached waiting`);
    };
    await create(Math.max(20, IN_FLIGHT * 5)); // warm-up: pools, JIT, workflow bundle
    const metrics = await metricsUrl(stack.temporalPid);
    if (!metrics) progress('no Temporal metrics endpoint found: RPC counts left out');
    const load0 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    const [cpu0, rpc0, threads0] = [await sampleCpu(stack, [stack.dbName]), await temporalRpcs(metrics), threadCpuMs(stack.pids.worker)];
    counter.reset();
    await create(N);
    await new Promise((r) => setTimeout(r, 2000)); // what the server does after `notified` (task completion, visibility) is the escalation's too
    const [cpu1, rpc1, sql, threads1] = [await sampleCpu(stack, [stack.dbName]), await temporalRpcs(metrics), counter.counts(), threadCpuMs(stack.pids.worker)];
    const perEsc = (v: number) => Math.round((v / N) * 100) / 100;
    const [last] = await stack.gatewayDb.sql<{ id: string }[]>`select id from escalation_event where escalation_rule_id = ${ruleId} order by created_at desc limit 1`;
    const history = await stack.client.workflow.getHandle(`escalation:${last!.id}`).fetchHistory();
    const result = {
      benchmark: 'escalations-profile', escalations: N, inFlight: IN_FLIGHT,
      load: { before: load0, after: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ') },
      wallS: Math.round(cpu1.t - cpu0.t) / 1000, // 2 s of it settling after the last one waits
      cpuMsPerEscalation: cpuMsPerTurn(cpu0, cpu1, N),
      // The worker's threads: main (activities, the SDK's JS side), the workflow threads, Temporal core (tokio) and libuv.
      workerThreadsCpuMsPerEscalation: Object.fromEntries(Object.keys(threads1).map((k) => [k, perEsc((threads1[k] ?? 0) - (threads0[k] ?? 0))]).filter(([, v]) => v !== 0)),
      sqlRoundTripsPerEscalation: Object.fromEntries(Object.entries(sql).map(([k, v]) => [k, perEsc(v)])),
      temporalRpcsPerEscalation: Object.fromEntries(Object.keys(rpc1).map((k) => [k, perEsc((rpc1[k] ?? 0) - (rpc0[k] ?? 0))]).filter(([, v]) => v !== 0)),
      history: historyCounts(history.events ?? []),
    };
    process.stdout.write(`${JSON.stringify(result, null, 1)}\n`);
  } finally {
    await runCleanup(cleanup);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
