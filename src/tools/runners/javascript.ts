import { spawn } from 'node:child_process';
import { ToolError, type ResolvedTool, type ToolRunner } from '../types.js';

/**
 * Sandbox for user-written JavaScript tools.
 *
 * isolated-vm would be the stronger boundary, but no single release builds on every Node line we run:
 * 5.x fails to compile against Node 24's headers (C++20), 6.x+ fails against Node 20's V8, and on
 * Node 20 it also needs `--no-node-snapshot`. Until Node 20 is dropped, each call runs in its own
 * child process (heap capped by `--max-old-space-size`, killed at the deadline), and the code runs
 * there through `vm` in a context that holds only the ECMAScript built-ins.
 *
 * A process rather than a worker thread: V8 treats some out-of-memory failures (e.g. in the RegExp
 * compiler's zone) as fatal for the whole process, so a memory hog in a worker thread could take the
 * Temporal worker down with it (seen in CI). A child process dies alone, for ~50 ms more per call.
 */

const DEFAULT_MEMORY_MB = 32;
const MIN_MEMORY_MB = 8;
const MAX_MEMORY_MB = 1024;

interface JavascriptConfig {
  code: string;
  memoryMb: number;
}

type Outcome = { ok: true; json: string } | { ok: false; kind: 'invalid_input' | 'client_error'; message: string };

/**
 * Evaluated inside the vm context before the user's code. Typed arrays, ArrayBuffers and WebAssembly
 * are removed because their backing stores live outside the V8 heap, so the heap limit would not
 * stop `new Uint8Array(1e9)` in a loop from exhausting the machine.
 */
const STRIP_OFF_HEAP = `for (const name of Object.getOwnPropertyNames(globalThis)) {
  if (/^(?!Array$).*Array$|ArrayBuffer$|^(DataView|Atomics|WebAssembly)$/.test(name)) delete globalThis[name];
}`;

/**
 * Wraps the user's code as an async function and settles it into a JSON string. Everything it needs
 * (JSON, Reflect.apply, Promise#then) is captured before the user's code can replace it, and the only
 * thing handed back out is a function returning a primitive string, so no object of the outer realm
 * ever enters the context (such objects are the classic `constructor.constructor` escape).
 */
function buildScript(code: string, args: Record<string, unknown>): string {
  const harness = `((tool, argsJson) => {
  const stringify = JSON.stringify, parse = JSON.parse, apply = Reflect.apply, then = Promise.prototype.then;
  const describe = (error) => {
    try {
      if (error !== null && typeof error === 'object' && 'message' in error) return String(error.name || 'Error') + ': ' + String(error.message);
      return 'Thrown: ' + String(error);
    } catch { return 'the thrown value could not be described'; }
  };
  let report = 'pending';
  const fail = (error) => { report = stringify([false, describe(error)]); };
  const done = (value) => {
    try { report = stringify([true, stringify(value) ?? 'null']); }
    catch (error) { report = stringify([false, 'the result is not JSON-serialisable: ' + describe(error)]); }
  };
  try { apply(then, tool(parse(argsJson)), [done, fail]); } catch (error) { fail(error); }
  return () => report;
})`;
  return `${harness}(async function (args) {\n${code}\n}, ${JSON.stringify(JSON.stringify(args))})`;
}

/**
 * Runs inside the child process. Plain JavaScript in a string rather than a compiled module, so it does not
 * depend on how the host loads TypeScript (tsx, vitest, or compiled output). With
 * `microtaskMode: 'afterEvaluate'` every promise job the code queued has run when `runInContext`
 * returns; the context has no timers or I/O, so a promise still pending then will never settle.
 */
const CHILD_SOURCE = `'use strict';
const vm = require('node:vm');
const parentPort = { postMessage: (outcome) => process.send(outcome, () => process.exit(0)) };
process.once('message', (request) => {
const context = vm.createContext(Object.create(null), {
  name: 'javascript-tool',
  codeGeneration: { strings: false, wasm: false },
  microtaskMode: 'afterEvaluate',
});
vm.runInContext(${JSON.stringify(STRIP_OFF_HEAP)}, context);
let script;
try {
  script = new vm.Script(request.source, { filename: 'tool.js' });
} catch (error) {
  parentPort.postMessage({ ok: false, kind: 'invalid_input', message: String(error) });
}
if (script) {
  const report = script.runInContext(context)();
  const settled = typeof report === 'string' && report !== 'pending' ? JSON.parse(report) : null;
  if (!Array.isArray(settled) || typeof settled[1] !== 'string') {
    parentPort.postMessage({ ok: false, kind: 'client_error', message: 'the code returned a promise that never settles' });
  } else if (settled[0] === true) {
    parentPort.postMessage({ ok: true, json: settled[1] });
  } else {
    parentPort.postMessage({ ok: false, kind: 'client_error', message: settled[1] });
  }
}
});`;

function parseConfig(config: Record<string, unknown>): JavascriptConfig {
  const { code, memoryMb = DEFAULT_MEMORY_MB } = config;
  if (typeof code !== 'string' || code.trim() === '') {
    throw new ToolError('invalid_input', 'javascript tool config needs a non-empty "code" string');
  }
  if (typeof memoryMb !== 'number' || !Number.isInteger(memoryMb) || memoryMb < MIN_MEMORY_MB || memoryMb > MAX_MEMORY_MB) {
    throw new ToolError('invalid_input', `"memoryMb" must be an integer from ${MIN_MEMORY_MB} to ${MAX_MEMORY_MB}`);
  }
  return { code, memoryMb };
}

/** One sandboxed evaluation in its own process; settles exactly once and always kills the process. */
function runInChild(source: string, memoryMb: number, timeoutMs: number, signal: AbortSignal): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new ToolError('timeout', 'the tool call was cancelled before it started'));
    // Nothing of the host leaks in: no environment, no inherited flags, no stdin/stdout.
    const child = spawn(process.execPath, [`--max-old-space-size=${memoryMb}`, '--max-semi-space-size=1', '--stack-size=4000', '-e', CHILD_SOURCE], {
      env: {},
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString('utf8');
    });
    let settled = false;
    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (child.exitCode === null) child.kill('SIGKILL');
      settle();
    };
    const timer = setTimeout(
      () => finish(() => reject(new ToolError('timeout', `the code ran longer than ${timeoutMs} ms`))),
      timeoutMs,
    );
    const onAbort = () => finish(() => reject(new ToolError('timeout', 'the tool call was cancelled')));
    signal.addEventListener('abort', onAbort, { once: true });
    child.once('message', (outcome: Outcome) => finish(() => resolve(outcome)));
    child.once('error', (error) => finish(() => reject(new ToolError('server_error', `the sandbox failed: ${error.message}`))));
    child.once('exit', (code, sig) =>
      finish(() => {
        if (/out of memory|Allocation failed|heap limit/i.test(stderr)) reject(new ToolError('forbidden', `memory limit of ${memoryMb} MB exceeded`));
        else reject(new ToolError('server_error', `the sandbox exited (${sig ?? code}) without a result`));
      }),
    );
    child.send({ source });
  });
}

/**
 * Runs `config.code`, the body of an async function of `args`, and returns its JSON result.
 * Exceptions from the code come back as `client_error` with the code's own message, a syntax error
 * or bad config as `invalid_input`, the deadline (`tool.timeoutMs`) as `timeout`, and exceeding
 * `config.memoryMb` (default 32) as `forbidden`.
 */
export const runJavascriptTool: ToolRunner = async (tool: ResolvedTool, args, ctx) => {
  const { code, memoryMb } = parseConfig(tool.config);
  const outcome = await runInChild(buildScript(code, args), memoryMb, tool.timeoutMs, ctx.signal);
  if (!outcome.ok) throw new ToolError(outcome.kind, outcome.message);
  return JSON.parse(outcome.json) as unknown;
};
