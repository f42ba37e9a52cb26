import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { CHILD_RUNNER_SOURCE } from './child-runner.js';

/**
 * Runs untrusted work (a tenant's document, code or template) in a throw-away Node child process, so that what
 * a V8 fatal error, a runaway loop or a memory hog takes down is that child, never the worker or the gateway
 * (a worker thread or an isolate shares its process's fate on a V8 out-of-memory).
 *
 * Limits, all required:
 * - `memoryMb`: the child's V8 heap (`--max-old-space-size`); reaching it fails with `memory_limit`.
 * - `cpuSeconds`: CPU time, enforced by the kernel (RLIMIT_CPU through `prlimit`, whole seconds) or, where
 *   `prlimit` is missing, by a watchdog thread in the child; `cpu_limit`. Both hold after the parent died.
 * - `timeoutMs`: wall clock; the parent SIGKILLs the child then; `timeout`.
 * - `maxOutputBytes`: the result's JSON; the child refuses a larger result before sending it, and the parent
 *   stops reading (and kills the child) past it whatever the child does; `output_limit`.
 * The child gets no environment, no stdin/stdout, and exits when the parent's IPC channel closes.
 */
export interface SandboxLimits {
  memoryMb: number;
  cpuSeconds: number;
  timeoutMs: number;
  maxOutputBytes: number;
}

/**
 * What the child runs with the input: `export` of a module (an absolute path; a `.ts` file is loaded through
 * tsx, which costs ~0.7 s of start-up), or `source`, the body of a CommonJS `function (input, require)`.
 * Either may return a promise; the result must be JSON.
 */
export type SandboxEntry = { module: string; exportName: string } | { source: string };

export type SandboxFailure = 'cpu_limit' | 'memory_limit' | 'timeout' | 'output_limit' | 'cancelled' | 'crashed' | 'task_error';

/** Why a sandboxed run produced no result; `errorName` is the name of the error the task threw (`task_error`). */
export class SandboxError extends Error {
  override readonly name = 'SandboxError';
  constructor(readonly reason: SandboxFailure, message: string, readonly errorName?: string) {
    super(message);
  }
}

export interface SandboxOptions {
  signal?: AbortSignal;
  /** Told the child's pid once it is spawned (tests and logs: the work ran in another process). */
  onSpawn?: (pid: number) => void;
  /** Forces the CPU-limit mechanism (tests); by default RLIMIT_CPU when `prlimit` exists, else the watchdog. */
  cpuLimitVia?: 'rlimit' | 'watchdog';
}

const STDERR_KEEP = 4096;
let prlimitPath: string | null | undefined;

/** `prlimit` from util-linux, looked up once in the usual places (the child gets no PATH). */
export function findPrlimit(): string | null {
  if (prlimitPath !== undefined) return prlimitPath;
  prlimitPath = null;
  for (const candidate of ['/usr/bin/prlimit', '/bin/prlimit', '/usr/local/bin/prlimit']) {
    try {
      accessSync(candidate, constants.X_OK);
      prlimitPath = candidate;
      break;
    } catch {
      // not here
    }
  }
  return prlimitPath;
}

function commandLine(entry: SandboxEntry, limits: SandboxLimits, useRlimit: boolean): [string, string[]] {
  // Resolved here, not by the child: the child's cwd need not be the project.
  const loader = 'module' in entry && /\.[cm]?ts$/.test(entry.module) ? ['--import', pathToFileURL(createRequire(__filename).resolve('tsx')).href] : [];
  const node = [`--max-old-space-size=${limits.memoryMb}`, '--max-semi-space-size=1', '--stack-size=4000', ...loader, '-e', CHILD_RUNNER_SOURCE];
  if (!useRlimit) return [process.execPath, node];
  const cpu = Math.max(1, Math.ceil(limits.cpuSeconds));
  // Soft limit: SIGXCPU (we name it); hard limit a second later: SIGKILL. No core files from SIGXCPU.
  return [findPrlimit()!, [`--cpu=${cpu}:${cpu + 1}`, '--core=0', '--', process.execPath, ...node]];
}

/**
 * Runs `entry` on `input` in a child process under `limits` and resolves to its result.
 * @throws SandboxError for every way the run can fail (a limit, cancellation, a crash, or the task's own error).
 */
export function runInSandbox<T = unknown>(entry: SandboxEntry, input: unknown, limits: SandboxLimits, opts: SandboxOptions = {}): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const { signal } = opts;
    if (signal?.aborted) return reject(new SandboxError('cancelled', 'cancelled before it started'));
    const useRlimit = opts.cpuLimitVia ? opts.cpuLimitVia === 'rlimit' : findPrlimit() !== null;
    const [cmd, args] = commandLine(entry, limits, useRlimit);
    const child = spawn(cmd, args, { env: {}, stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'ipc'], serialization: 'advanced' });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < STDERR_KEEP) stderr += chunk.toString('utf8');
    });
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const finish = (error: SandboxError | null, value?: T) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (error) reject(error);
      else resolve(value as T);
    };
    const timer = setTimeout(() => finish(new SandboxError('timeout', `ran longer than ${limits.timeoutMs} ms`)), limits.timeoutMs);
    const onAbort = () => finish(new SandboxError('cancelled', 'cancelled'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const output = child.stdio[3] as NodeJS.ReadableStream;
    output.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > limits.maxOutputBytes) finish(outputTooLarge(limits, received));
      else chunks.push(chunk);
    });
    child.once('error', (error) => finish(new SandboxError('crashed', `could not start the sandbox: ${error.message}`)));
    child.once('spawn', () => child.pid !== undefined && opts.onSpawn?.(child.pid));
    // 'close' comes after fd 3 has been read to its end, so the whole result is in `chunks`.
    child.once('close', (code, sig) => {
      if (settled) return;
      const reply = parseReply(Buffer.concat(chunks).toString('utf8'));
      if (reply) return settleReply(reply, limits, finish);
      finish(exitFailure(code, sig, stderr, limits));
    });
    child.send({ entry, input, maxOutputBytes: limits.maxOutputBytes, cpuMs: useRlimit ? undefined : limits.cpuSeconds * 1000 }, (err) => {
      if (err) finish(new SandboxError('crashed', `could not hand the work to the sandbox: ${err.message}`));
    });
  });
}

type Reply = { ok: true; value: unknown } | { ok: false; error?: { name: string; message: string }; limit?: 'output'; bytes?: number };

function parseReply(text: string): Reply | null {
  if (!text) return null;
  try {
    return JSON.parse(text) as Reply;
  } catch {
    return null;
  }
}

function settleReply<T>(reply: Reply, limits: SandboxLimits, finish: (e: SandboxError | null, v?: T) => void): void {
  if (reply.ok) return finish(null, reply.value as T);
  if (reply.limit === 'output') return finish(outputTooLarge(limits, reply.bytes ?? 0));
  const error = reply.error ?? { name: 'Error', message: 'unknown error' };
  finish(new SandboxError('task_error', error.message, error.name));
}

function outputTooLarge(limits: SandboxLimits, bytes: number): SandboxError {
  return new SandboxError('output_limit', `the result is larger than ${limits.maxOutputBytes} bytes${bytes ? ` (${bytes} bytes or more)` : ''}`);
}

/** Names the limit a child died of from how it exited: SIGXCPU/SIGKILL are RLIMIT_CPU, V8's OOM message the heap. */
function exitFailure(code: number | null, sig: NodeJS.Signals | null, stderr: string, limits: SandboxLimits): SandboxError {
  if (/heap limit|Allocation failed|out of memory|Invalid string length/i.test(stderr)) {
    return new SandboxError('memory_limit', `used more than the memory limit of ${limits.memoryMb} MB`);
  }
  if (sig === 'SIGXCPU' || sig === 'SIGKILL') return new SandboxError('cpu_limit', `used more than the CPU time limit of ${limits.cpuSeconds} s`);
  return new SandboxError('crashed', `the sandbox exited (${sig ?? `exit code ${code}`}) without a result${stderr ? `: ${stderr.slice(0, 500)}` : ''}`);
}
