import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { findPrlimit } from './child-process.js';
import { isolateHostSource } from './isolate-host-source.js';

/**
 * Runs JavaScript tools in isolated-vm isolates hosted by plain Node child processes ("hosts"), one call per
 * host at a time, a fresh isolate per call. Why not isolates in the worker itself: V8 ends the whole process on
 * some failures no memory limit catches (measured with isolated-vm 7 on Node 24: `'a'.repeat(2 ** 28)
 * .split('')` aborts with "Fatal JavaScript invalid size error"; `new Array(2 ** 28).fill(0)` leaves an
 * isolate isolated-vm cannot terminate), and the worker holds every tenant's in-flight work. A host that
 * dies takes only its own call with it, and that call learns why. Idle hosts are kept (`maxIdle`, for
 * `idleMs`) so a call costs a fresh isolate (a few ms), not a process start (~50 ms of CPU and more of wall
 * clock); a host is retired after `maxCallsPerHost`.
 *
 * Hosts start with `--no-node-snapshot` (isolated-vm's README still asks for it: isolates built from another
 * snapshot than Node's may crash V8), an empty environment (no DATABASE_URL, no keys), cwd `/`, no stdin or
 * stdout, no core dumps, and only the IPC channel and a stderr pipe; they exit when the worker does.
 */
export interface IsolateCall {
  code: string;
  argsJson: string;
  memoryMb: number;
  timeoutMs: number;
  /** The longest result the host may copy out of the isolate, in UTF-16 units of JSON. */
  maxResultChars: number;
}

export type IsolateReply =
  | { ok: true; json: string }
  | { ok: false; kind: 'invalid_input' | 'client_error' | 'timeout' | 'forbidden' | 'server_error'; message: string };

/** Why a host gave no reply: killed at the deadline or on cancellation, or it died (`crashed`, with its stderr). */
export class IsolateHostError extends Error {
  override readonly name = 'IsolateHostError';
  constructor(readonly reason: 'timeout' | 'cancelled' | 'crashed' | 'memory', message: string) {
    super(message);
  }
}

export interface IsolatePoolOptions {
  /** Idle hosts kept for the next calls (about 50 MB each); more concurrent calls start more hosts. */
  maxIdle?: number;
  /** How long an idle host waits for a call before it is ended. */
  idleMs?: number;
  maxCallsPerHost?: number;
  /** Time over the call's own deadline before the parent kills a host that has not answered. */
  graceMs?: number;
}

interface Host {
  child: ChildProcess;
  calls: number;
  stderr: string;
  idleTimer?: NodeJS.Timeout;
}

const STDERR_KEEP = 4096;
// Fatal V8 allocation failures and isolated-vm's catastrophic errors (an isolate it could not stop).
const MEMORY_DEATH = /invalid size error|out of memory|heap limit|Allocation failed|catastrophic/i;

export function createIsolatePool(options: IsolatePoolOptions = {}) {
  const { maxIdle = 8, idleMs = 60_000, maxCallsPerHost = 500, graceMs = 2_000 } = options;
  const source = isolateHostSource(createRequire(__filename).resolve('isolated-vm'));
  const idle: Host[] = [];
  const spawned = new Set<number>();

  function startHost(): Host {
    const node = [process.execPath, '--no-node-snapshot', '--max-old-space-size=128', '-e', source];
    const prlimit = findPrlimit();
    const [cmd, ...args] = prlimit ? [prlimit, '--core=0', '--', ...node] : node;
    const child = spawn(cmd!, args, { env: {}, cwd: '/', stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'json' });
    const host: Host = { child, calls: 0, stderr: '' };
    child.stderr?.on('data', (chunk: Buffer) => {
      if (host.stderr.length < STDERR_KEEP) host.stderr += chunk.toString('utf8');
    });
    child.on('error', () => undefined); // reported through 'exit' or the send callback
    if (child.pid !== undefined) spawned.add(child.pid);
    child.once('exit', () => {
      if (child.pid !== undefined) spawned.delete(child.pid);
      const at = idle.indexOf(host);
      if (at >= 0) idle.splice(at, 1);
    });
    return host;
  }

  const alive = (host: Host) => host.child.exitCode === null && host.child.signalCode === null && host.child.connected;

  function acquire(): Host {
    for (let host = idle.pop(); host; host = idle.pop()) {
      if (alive(host)) return host;
    }
    return startHost();
  }

  function release(host: Host): void {
    if (!alive(host)) return;
    if (host.calls >= maxCallsPerHost || idle.length >= maxIdle) return retire(host);
    setIdle(host, true);
    idle.push(host);
  }

  function retire(host: Host): void {
    const at = idle.indexOf(host);
    if (at >= 0) idle.splice(at, 1);
    if (host.child.connected) host.child.disconnect(); // it exits on its own
  }

  /** An idle host keeps neither the worker's event loop nor a test process alive. */
  function setIdle(host: Host, isIdle: boolean): void {
    const channel = host.child.channel as { ref(): void; unref(): void } | undefined;
    clearTimeout(host.idleTimer);
    if (isIdle) {
      host.child.unref();
      channel?.unref();
      host.idleTimer = setTimeout(() => retire(host), idleMs).unref();
    } else {
      host.child.ref();
      channel?.ref();
    }
  }

  /** After a host was killed, starts its successor now, so the next call does not wait for a process start. */
  function replenish(): void {
    if (idle.length > 0) return;
    const host = startHost();
    setIdle(host, true);
    idle.push(host);
  }

  /**
   * Runs one call in a host; resolves to the host's reply, or rejects with {@link IsolateHostError} when the
   * host had to be killed (deadline, cancellation) or died on its own.
   */
  function run(call: IsolateCall, signal?: AbortSignal): Promise<IsolateReply> {
    if (signal?.aborted) return Promise.reject(new IsolateHostError('cancelled', 'cancelled before it started'));
    const host = acquire();
    setIdle(host, false);
    host.calls += 1;
    host.stderr = '';
    const { child } = host;
    return new Promise<IsolateReply>((resolve, reject) => {
      let settled = false;
      const finish = (error: IsolateHostError | null, reply?: IsolateReply) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (error) {
          child.kill('SIGKILL');
          replenish();
          reject(error);
        } else {
          release(host);
          resolve(reply!);
        }
      };
      const onMessage = (reply: IsolateReply) => finish(null, reply);
      const onExit = (code: number | null, sig: NodeJS.Signals | null) => {
        // Let stderr's last chunk arrive before reading why it died.
        setImmediate(() => finish(exitError(host.stderr, code, sig)));
      };
      const onAbort = () => finish(new IsolateHostError('cancelled', 'cancelled'));
      const timer = setTimeout(() => finish(new IsolateHostError('timeout', 'the sandbox host did not answer by the deadline')), call.timeoutMs + graceMs);
      child.on('message', onMessage);
      child.once('exit', onExit);
      signal?.addEventListener('abort', onAbort, { once: true });
      child.send(call, (err) => {
        if (err) finish(new IsolateHostError('crashed', `could not hand the call to the sandbox host: ${err.message}`));
      });
    });
  }

  /** Ends every idle host (tests, shutdown); busy ones end with their calls. */
  function close(): void {
    for (const host of idle.splice(0)) host.child.kill('SIGKILL');
  }

  return { run, close, hostPids: () => [...spawned] };
}

export type IsolatePool = ReturnType<typeof createIsolatePool>;

function exitError(stderr: string, code: number | null, sig: NodeJS.Signals | null): IsolateHostError {
  if (MEMORY_DEATH.test(stderr)) return new IsolateHostError('memory', `the sandbox host died of a fatal V8 error: ${firstLine(stderr)}`);
  return new IsolateHostError('crashed', `the sandbox host exited (${sig ?? `exit code ${code}`})${stderr ? `: ${stderr.slice(0, 500)}` : ''}`);
}

function firstLine(stderr: string): string {
  return stderr.split('\n').map((l) => l.replace(/^#\s*/, '').trim()).find((l) => l && !/^Fatal error in/.test(l)) ?? 'unknown';
}
