import { createIsolatePool, IsolateHostError, type IsolatePool, type IsolateReply } from '../../sandbox/isolate-pool.js';
import { ToolError, type ResolvedTool, type ToolRunner } from '../types.js';

/**
 * Sandbox for user-written JavaScript tools: each call runs in a fresh isolated-vm isolate (its own V8 heap,
 * capped at `memoryMb`), inside a sandbox host process (`src/sandbox/isolate-pool.ts`, which says why a
 * process and not the worker itself: some V8 failures end the whole process, whatever the isolate's limits).
 *
 * What tool code gets: the ECMAScript built-ins (with typed arrays, whose memory counts against the limit,
 * and `eval`, which compiles into the same isolate), `args` (a copy parsed from JSON inside the isolate) and
 * nothing else: no `require`, `import()`, `process`, timers, `fetch`, `console`, `WebAssembly`,
 * `SharedArrayBuffer` or `Atomics`, and no reference to any host object or function. Without timers a
 * promise still pending once the code's promise jobs have run can never settle, and is reported so. The
 * result leaves the isolate as one JSON string of at most {@link MAX_RESULT_BYTES}, checked before it is
 * copied out.
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

const tooLarge = () => new ToolError('client_error', `the result is larger than ${MAX_RESULT_BYTES} bytes of JSON`);
const overMemory = (memoryMb: number) => new ToolError('forbidden', `memory limit of ${memoryMb} MB exceeded`);
const overTime = (timeoutMs: number) => new ToolError('timeout', `the code ran longer than ${timeoutMs} ms`);

function fromReply(reply: IsolateReply, memoryMb: number, timeoutMs: number): unknown {
  if (!reply.ok) {
    if (reply.kind === 'forbidden') throw overMemory(memoryMb);
    if (reply.kind === 'timeout') throw overTime(timeoutMs);
    if (reply.message === 'too_large') throw tooLarge();
    throw new ToolError(reply.kind, reply.message);
  }
  // The isolate checked the length in UTF-16 units; a result of many multi-byte characters can still be over.
  if (Buffer.byteLength(reply.json) > MAX_RESULT_BYTES) throw tooLarge();
  return JSON.parse(reply.json) as unknown;
}

function fromHostError(err: unknown, memoryMb: number, timeoutMs: number): unknown {
  if (!(err instanceof IsolateHostError)) return err;
  switch (err.reason) {
    case 'timeout':
      return overTime(timeoutMs);
    case 'cancelled':
      return new ToolError('timeout', 'the tool call was cancelled');
    case 'memory':
      return overMemory(memoryMb);
    default:
      return new ToolError('server_error', `the sandbox failed: ${err.message}`);
  }
}

/**
 * A runner over `pool` (by default a pool of its own, made on the first call). It runs `config.code`, the
 * body of an async function of `args`, and returns its JSON result. Exceptions from the code come back as
 * `client_error` with the code's own message, a syntax error or bad config as `invalid_input`, the deadline
 * (`tool.timeoutMs`, wall clock, covering the code's promise jobs) as `timeout`, exceeding `config.memoryMb`
 * (default 32) as `forbidden`, a result over {@link MAX_RESULT_BYTES} as `client_error`. Cancellation kills
 * the call's host at once.
 */
export function createJavascriptRunner(pool?: IsolatePool): ToolRunner {
  let own = pool;
  return async (tool: ResolvedTool, args, ctx) => {
    const { code, memoryMb } = parseConfig(tool.config);
    own ??= createIsolatePool();
    const call = { code, argsJson: JSON.stringify(args), memoryMb, timeoutMs: tool.timeoutMs, maxResultChars: MAX_RESULT_BYTES };
    const reply = await own.run(call, ctx.signal).catch((err: unknown) => {
      throw fromHostError(err, memoryMb, tool.timeoutMs);
    });
    return fromReply(reply, memoryMb, tool.timeoutMs);
  };
}

/** The runner the worker uses: one pool of sandbox hosts per process. */
export const runJavascriptTool: ToolRunner = createJavascriptRunner();
