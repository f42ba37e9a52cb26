/**
 * The worker and the gateway of a benchmark as processes of their own, started from their real entry files
 * (src/worker.ts, src/server.ts) the way production runs them, so the numbers measure the product and not
 * one event loop shared with the load generator. Used by bench/env.ts when BENCH_PROCESSES=split.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { configSchema } from '../src/config';

const root = path.join(__dirname, '..');

export interface ServiceProcess {
  name: string;
  pid: number;
  /** Resolves when the process has exited, with how. */
  exited: Promise<string>;
  /** SIGTERM (the entry's own graceful shutdown), SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * The environment a service process starts with: this process's, without any setting the config schema
 * reads (so nothing set in the shell leaks past the bench's own choices), plus exactly the settings the
 * in-process stack parses (`configEnv`), logging only warnings.
 */
export function serviceEnv(configEnv: Record<string, string | undefined>, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(configSchema.shape)) delete env[key];
  for (const [key, value] of Object.entries(configEnv)) if (value !== undefined) env[key] = value;
  return { ...env, LOG_LEVEL: 'warn', ...extra };
}

/**
 * Node with tsx as a loader in the service's own process (a SIGKILL reaches the service itself) and the
 * exit-with-parent preload, so a benchmark that dies leaves nothing running. Its own process group: a
 * terminal's Ctrl-C reaches the benchmark only, which stops the services after its requests in flight.
 * Output goes to stderr with a `[name]` prefix; stdout is the benchmark's.
 */
export function startService(name: string, entry: string, env: NodeJS.ProcessEnv): ServiceProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', './scripts/lib/exit-with-parent.mjs', entry], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => process.stderr.write(`[${name}] ${line}\n`));
  }
  const exited = new Promise<string>((resolve) => {
    child.once('error', (err) => resolve(`could not start: ${err.message}`));
    child.once('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : `exit code ${code}`));
  });
  let gone = false;
  void exited.then(() => (gone = true));
  const stop = async (graceMs = 15_000) => {
    if (gone) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  if (child.pid === undefined) throw new Error(`${name} could not be started`);
  return { name, pid: child.pid, exited, stop };
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls `check` until it answers true, failing early when `service` exits or after `timeoutMs`. */
export async function waitUntil(what: string, service: ServiceProcess, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  let exited: string | undefined;
  void service.exited.then((how) => (exited = how));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new Error(`${service.name} exited (${exited}) before ${what}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

/** True once the task queue has a workflow poller and an activity poller: the worker is taking work. */
export async function workerPolling(client: Client, taskQueue: string): Promise<boolean> {
  const pollers = async (taskQueueType: number) =>
    (await client.workflowService.describeTaskQueue({ namespace: client.options.namespace, taskQueue: { name: taskQueue }, taskQueueType })).pollers ?? [];
  // TaskQueueType 1 = workflow, 2 = activity.
  return (await pollers(1)).length > 0 && (await pollers(2)).length > 0;
}

/** True once `url` answers 200. */
export async function answers(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.status === 200;
}
