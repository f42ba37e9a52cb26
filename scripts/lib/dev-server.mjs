// Dynamic config every dev server of the project runs with (npm start, tests, bench), so all three
// measure and behave alike. docker-compose sets the same in deploy/temporal/dynamicconfig.yaml.
export const devServerDynamicConfig = [
  // Hand the model-call activity straight to the worker that completed the workflow task, instead of a
  // round trip through the task queue: about a third of a turn's latency on the dev server.
  'system.enableActivityEagerExecution=true',
  // Task priority (escalations carry their rule's: critical 1 ... low 4) is honoured by matching only with the
  // new matcher in Server 1.29 (later servers and Temporal Cloud have it on): a critical page is dispatched
  // before a backlog of low ones (src/escalations/SCALING.md).
  'matching.useNewMatcher=true',
  // The history service reads each shard's queue of tasks to dispatch (workflow tasks to matching, fired timers)
  // at most 20 times a second by default. A dev server has one shard, so every workflow shares those 20 reads: a
  // workflow task that becomes ready within 50 ms of the previous read waits for the next one (~37 ms per task when
  // turns come back to back, `npm run bench:temporal-floor`). A cluster spreads workflows over hundreds of shards
  // and never meets the limit; one shard needs it raised.
  'history.transferProcessorMaxPollRPS=1000',
  'history.timerProcessorMaxPollRPS=1000',
];

/** `--dynamic-config-value k=v` pairs for `temporal server start-dev`. */
export function devServerDynamicConfigArgs() {
  return devServerDynamicConfig.flatMap((kv) => ['--dynamic-config-value', kv]);
}
