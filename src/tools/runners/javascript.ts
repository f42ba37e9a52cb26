import { runInSandbox, SandboxError } from '../../sandbox/child-process.js';
import { ToolError, type ResolvedTool, type ToolRunner } from '../types.js';

/**
 * Sandbox for user-written JavaScript tools.
 *
 * isolated-vm would be the stronger boundary, but no single release builds on every Node line we run:
 * 5.x fails to compile against Node 24's headers (C++20), 6.x+ fails against Node 20's V8, and on
 * Node 20 it also needs `--no-node-snapshot`. Until Node 20 is dropped, each call runs in its own
 * child process (`src/sandbox/child-process.ts`: heap capped, killed at the deadline, and with a deadline
 * of its own, vm's `timeout` plus RLIMIT_CPU, so it stops even when the worker was SIGKILLed), and the code
 * runs there through `vm` in a context that holds only the ECMAScript built-ins. Results are capped at
 * {@link MAX_RESULT_BYTES} in the child, and the worker reads no more than that.
 *
 * A process rather than a worker thread: V8 treats some out-of-memory failures (e.g. in the RegExp
 * compiler's zone) as fatal for the whole process, so a memory hog in a worker thread could take the
 * Temporal worker down with it (seen in CI). A child process dies alone, for ~50 ms more per call.
 */

const DEFAULT_MEMORY_MB = 32;
const MIN_MEMORY_MB = 8;
const MAX_MEMORY_MB = 1024;
/** The largest result a tool may return, in bytes of JSON; the worker never holds more of it than this. */
export const MAX_RESULT_BYTES = 1024 * 1024;

interface JavascriptConfig {
  code: string;
  memoryMb: number;
}

type Outcome = { ok: true; json: string } | { ok: false; kind: 'invalid_input' | 'client_error' | 'timeout'; message: string };

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
 * The body of the function the sandbox child runs (`src/sandbox/child-process.ts`). With
 * `microtaskMode: 'afterEvaluate'` every promise job the code queued has run when `runInContext` returns, and
 * vm's `timeout` covers those jobs too: it interrupts synchronous loops, so the child stops at the deadline on
 * its own even when the worker that started it was killed. The context has no timers or I/O, so a promise
 * still pending then will never settle. A result over `maxResultBytes` is refused here, before it is sent.
 */
const CHILD_SOURCE = `const vm = require('node:vm');
const context = vm.createContext(Object.create(null), {
  name: 'javascript-tool',
  codeGeneration: { strings: false, wasm: false },
  microtaskMode: 'afterEvaluate',
});
vm.runInContext(${JSON.stringify(STRIP_OFF_HEAP)}, context);
let script;
try {
  script = new vm.Script(input.source, { filename: 'tool.js' });
} catch (error) {
  return { ok: false, kind: 'invalid_input', message: String(error) };
}
let report;
try {
  report = script.runInContext(context, { timeout: input.timeoutMs })();
} catch (error) {
  if (error && error.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return { ok: false, kind: 'timeout', message: 'the code ran longer than ' + input.timeoutMs + ' ms' };
  throw error;
}
const settled = typeof report === 'string' && report !== 'pending' ? JSON.parse(report) : null;
if (!Array.isArray(settled) || typeof settled[1] !== 'string') {
  return { ok: false, kind: 'client_error', message: 'the code returned a promise that never settles' };
}
if (settled[0] !== true) return { ok: false, kind: 'client_error', message: settled[1] };
const bytes = Buffer.byteLength(settled[1]);
if (bytes > input.maxResultBytes) return { ok: false, kind: 'client_error', message: tooLarge(input.maxResultBytes) };
return { ok: true, json: settled[1] };
function tooLarge(max) { return 'the result is larger than ' + max + ' bytes of JSON'; }`;

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

/** The child's CPU time: the deadline plus a second of start-up; the kernel's backstop if vm's timeout fails. */
const cpuSeconds = (timeoutMs: number) => Math.ceil(timeoutMs / 1000) + 1;

/** Maps why the sandbox gave no result to the tool-call error kinds. */
function toToolError(err: unknown, memoryMb: number, timeoutMs: number): unknown {
  if (!(err instanceof SandboxError)) return err;
  switch (err.reason) {
    case 'timeout':
    case 'cpu_limit':
      return new ToolError('timeout', `the code ran longer than ${timeoutMs} ms`);
    case 'cancelled':
      return new ToolError('timeout', 'the tool call was cancelled');
    case 'memory_limit':
      return new ToolError('forbidden', `memory limit of ${memoryMb} MB exceeded`);
    case 'output_limit':
      return new ToolError('client_error', `the result is larger than ${MAX_RESULT_BYTES} bytes of JSON`);
    default:
      return new ToolError('server_error', `the sandbox failed: ${err.message}`);
  }
}

/**
 * Runs `config.code`, the body of an async function of `args`, and returns its JSON result.
 * Exceptions from the code come back as `client_error` with the code's own message, a syntax error
 * or bad config as `invalid_input`, the deadline (`tool.timeoutMs`) as `timeout`, and exceeding
 * `config.memoryMb` (default 32) as `forbidden`.
 */
export const runJavascriptTool: ToolRunner = async (tool: ResolvedTool, args, ctx) => {
  const { code, memoryMb } = parseConfig(tool.config);
  const input = { source: buildScript(code, args), timeoutMs: tool.timeoutMs, maxResultBytes: MAX_RESULT_BYTES };
  // The envelope quotes the result's JSON once more (at most doubling it), hence the parent's larger cap.
  const limits = { memoryMb, cpuSeconds: cpuSeconds(tool.timeoutMs), timeoutMs: tool.timeoutMs, maxOutputBytes: 2 * MAX_RESULT_BYTES + 4096 };
  const outcome = await runInSandbox<Outcome>({ source: CHILD_SOURCE }, input, limits, { signal: ctx.signal })
    .catch((err: unknown) => { throw toToolError(err, memoryMb, tool.timeoutMs); });
  if (!outcome.ok) throw new ToolError(outcome.kind, outcome.message);
  return JSON.parse(outcome.json) as unknown;
};
