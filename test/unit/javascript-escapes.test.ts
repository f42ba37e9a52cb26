import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createIsolatePool } from '../../src/sandbox/isolate-pool';
import { createJavascriptRunner, runJavascriptTool } from '../../src/tools/runners/javascript';
import { ToolError, type ResolvedTool, type ToolCallContext, type ToolErrorKind } from '../../src/tools/types';

/**
 * Escape attempts against the real runner. Each must end as the tool's own failure of the right kind, and the
 * worker (this process) must stay healthy: the next call works and the hosts that ran the attempts are gone or
 * back to their size. No timings are asserted; generous deadlines only bound how long a failure takes.
 */

const tool = (code: string, memoryMb = 32, timeoutMs = 3_000): ResolvedTool =>
  ({ id: 't1', name: 'js', toolType: 'javascript', config: { code, memoryMb }, timeoutMs });
const ctx = (signal = new AbortController().signal): ToolCallContext => ({ signal, idempotencyKey: 'wf-1:call-1', attempt: 1 });

async function failure(promise: Promise<unknown>): Promise<ToolError> {
  const error: unknown = await promise.then((value) => value, (e: unknown) => e);
  expect(error).toBeInstanceOf(ToolError);
  return error as ToolError;
}

const run = (code: string, memoryMb?: number, timeoutMs?: number) => runJavascriptTool(tool(code, memoryMb, timeoutMs), { n: 1 }, ctx());

describe('JavaScript tool escapes: the host realm is out of reach', () => {
  it.each([
    ['this', "return this.constructor.constructor('return process')()"],
    ['args', "return args.constructor.constructor('return process')()"],
    ['an error', "try { null.x } catch (e) { return e.constructor.constructor('return process')() }"],
    ['a promise', "return Promise.resolve().constructor.constructor('return process')()"],
    ['an async generator', "const AG = Object.getPrototypeOf(async function* () {}).constructor; return (await AG('yield process')().next()).value"],
    ['Reflect', "return Reflect.getPrototypeOf(args).constructor.constructor('return process')()"],
    ['eval', "return eval('process')"],
  ])('a constructor chain through %s finds the isolate’s own Function, which has no process', async (_, code) => {
    expect(await failure(run(code))).toMatchObject({ kind: 'client_error', message: 'ReferenceError: process is not defined' });
  });

  it('Error.prepareStackTrace and CallSite reach only the tool’s own frames, never the harness', async () => {
    const code = `Error.prepareStackTrace = (e, sites) => sites;
    const sites = new Error('x').stack;
    const reached = sites.flatMap((s) => [s.getFunction(), s.getThis()]).filter((v) => v != null);
    const fromHere = reached.map((v) => v.constructor.constructor('return typeof process')());
    // Try to call the harness (it would take a bigger result cap), then return more than the cap.
    for (const f of reached) if (typeof f === 'function' && !String(f).startsWith('async function anonymous')) try { f('start', 'return 1', '{}', 1e9) } catch {}
    return JSON.stringify({ frames: sites.length, sources: reached.map(String), fromHere }) + 'x'.repeat(2e6)`;
    expect(await failure(run(code, 128))).toMatchObject({ kind: 'client_error', message: 'the result is larger than 1048576 bytes of JSON' });
    const report = JSON.parse(((await run(code.replace("+ 'x'.repeat(2e6)", ''))) as string)) as { frames: number; sources: string[]; fromHere: string[] };
    expect(report.frames).toBeGreaterThan(1);
    expect(report.sources.join('\n')).not.toContain('argsJson');
    expect(report.fromHere.every((v) => v === 'undefined')).toBe(true);
  });

  it('the global object holds only ECMAScript built-ins', async () => {
    const names = (await run('return Object.getOwnPropertyNames(globalThis)')) as string[];
    for (const name of ['process', 'require', 'module', 'console', 'fetch', 'setTimeout', 'queueMicrotask', 'WebAssembly', 'SharedArrayBuffer', 'Atomics', 'Buffer']) {
      expect(names).not.toContain(name);
    }
  });

  it.each([
    ['require', "return require('node:fs').readFileSync('/etc/passwd', 'utf8')", 'ReferenceError: require is not defined'],
    ['import()', "return (await import('node:fs')).readFileSync('/etc/passwd', 'utf8')", 'Error: Not supported'],
    ['process.env', 'return process.env.DATABASE_URL', 'ReferenceError: process is not defined'],
    ['fetch', "return await fetch('http://127.0.0.1:5432/')", 'ReferenceError: fetch is not defined'],
    ['net', "return require('node:net').connect(5432, '127.0.0.1')", 'ReferenceError: require is not defined'],
    ['Atomics.wait', 'Atomics.wait(new Int32Array(4), 0, 0)', 'ReferenceError: Atomics is not defined'],
    ['SharedArrayBuffer', 'return new SharedArrayBuffer(8)', 'ReferenceError: SharedArrayBuffer is not defined'],
  ])('%s is not there', async (_, code, message) => {
    expect(await failure(run(code))).toMatchObject({ kind: 'client_error', message });
  });
});

describe('JavaScript tool escapes: only JSON comes back', () => {
  it('toJSON, getters, Symbol.species and Proxy traps run inside the isolate and yield plain JSON', async () => {
    await expect(run("return { toJSON() { return this.constructor.constructor('return typeof process')() } }")).resolves.toBe('undefined');
    await expect(run('let n = 0; return { get a() { return ++n }, get b() { return ++n } }')).resolves.toEqual({ a: 1, b: 2 });
    const species = 'class Evil extends Array { static get [Symbol.species]() { return function () { return { leaked: typeof globalThis.process } } } } return Evil.from([1, 2]).map((x) => x)';
    await expect(run(species)).resolves.toMatchObject({ leaked: 'undefined' });
    await expect(run("return new Proxy({}, { ownKeys: () => ['a'], getOwnPropertyDescriptor: () => ({ value: 1, enumerable: true, configurable: true }), get: () => 'x' })")).resolves.toEqual({ a: 'x' });
    await expect(run('return new Proxy(args, { get: (t, k) => (k === "n" ? 42 : Reflect.get(t, k)) })')).resolves.toEqual({ n: 42 });
  });

  it('a Proxy trap that never returns is stopped at the deadline', async () => {
    expect((await failure(run('return new Proxy({}, { ownKeys() { for (;;); } })', 32, 500))).kind).toBe('timeout');
  });

  it.each([
    ['a plain string over 1 MiB', "return 'x'.repeat(2e6)"],
    ['a getter that builds it while the result is serialised', "return { get a() { return 'x'.repeat(2e6) } }"],
    ['many small pieces', "return Array.from({ length: 300000 }, (_, i) => 'item' + i)"],
    ['multi-byte characters (under the cap in UTF-16 units, over it in bytes)', "return 'é'.repeat(600000)"],
  ])('refuses a result over 1 MiB: %s', async (_, code) => {
    expect(await failure(run(code, 128, 10_000))).toMatchObject({ kind: 'client_error', message: 'the result is larger than 1048576 bytes of JSON' });
  });
});

// Memory bombs get a long deadline so the memory limit, not the clock, stops them even on a loaded machine.
const MEMORY = 30_000;
const TIME = 1_000;
const bombs: [string, string, ToolErrorKind | ToolErrorKind[], number][] = [
  ['an array push loop', 'const a = []; for (;;) a.push({ n: a.length })', 'forbidden', MEMORY],
  ['string doubling', "let s = 'x'; for (;;) s += s", 'client_error', MEMORY], // V8's own RangeError: Invalid string length
  ['typed arrays', 'const keep = []; for (;;) keep.push(new Float64Array(1 << 20))', 'client_error', MEMORY], // Array buffer allocation failed
  ['a string split into 2^28 one-character strings (a fatal V8 error: kills its host)', "return 'a'.repeat(2 ** 28).split('').length", 'forbidden', MEMORY],
  // isolated-vm cannot interrupt this fill: the host is killed when it has not answered by the deadline.
  ['a 2^28-element array fill', 'return new Array(2 ** 28).fill(0).length', 'timeout', 2 * TIME],
  ['deep recursion', 'const f = (n) => f(n + 1) + 1; return f(0)', 'client_error', MEMORY],
  ['an infinite loop', 'for (;;) {}', 'timeout', TIME],
  ['an infinite loop of promise jobs', 'for (;;) await null', 'timeout', TIME],
  // Each turn allocates a promise: the memory limit or the deadline comes first, depending on the machine.
  ['a then-chain that never ends', 'const loop = () => Promise.resolve().then(loop); loop(); return new Promise(() => {})', ['forbidden', 'timeout'], TIME],
  ['a busy wait on the clock', 'const end = Date.now() + 1e9; while (Date.now() < end);', 'timeout', TIME],
  ['a promise that never settles', 'return new Promise(() => {})', 'client_error', TIME],
];

describe('JavaScript tool escapes: resource bombs are contained and the worker stays healthy', () => {
  const pool = createIsolatePool();
  const runner = createJavascriptRunner(pool);
  afterAll(() => pool.close());

  const rssMb = (pid: number) => {
    try {
      return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    } catch {
      return 0; // gone
    }
  };

  it('contains every bomb as the tool’s failure; the next call works, hosts die or shrink back, the worker’s heap is unchanged', async () => {
    await expect(runner(tool('return args.n + 1'), { n: 1 }, ctx())).resolves.toBe(2);
    const [firstHost] = pool.hostPids();
    const hostBefore = rssMb(firstHost!);
    const heapBefore = process.memoryUsage().heapUsed;
    const hostsSeen = new Set<number>(pool.hostPids());
    for (const [name, code, kind, timeoutMs] of bombs) {
      const error = await failure(runner(tool(code, 32, timeoutMs), {}, ctx()));
      expect({ name, kind: [kind].flat().includes(error.kind) ? kind : `${error.kind}: ${error.message}` }).toEqual({ name, kind });
      pool.hostPids().forEach((pid) => hostsSeen.add(pid));
      await expect(runner(tool('return args.n + 1'), { n: 41 }, ctx())).resolves.toBe(42);
    }
    // Every host that ran a bomb either died (fatal errors, deadlines) or is idle and back near its start size.
    const live = pool.hostPids();
    expect(live.length).toBeLessThanOrEqual(3);
    for (const pid of live) expect(rssMb(pid)).toBeLessThan(hostBefore + 200);
    expect(hostsSeen.size).toBeGreaterThan(live.length); // some were replaced
    // The bombs never ran in this process: its heap has not grown by anything like their size.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
  }, 300_000);

  it('every call gets a fresh isolate: what one call left behind is gone in the next, on the same host', async () => {
    const plant = "globalThis.stash = 'tenant A'; Object.prototype.polluted = true; JSON.stringify = () => '\"hijacked\"'; return 1";
    await expect(runner(tool(plant), {}, ctx())).resolves.toBe(1);
    const hostsAfterPlant = pool.hostPids();
    const look = 'return [typeof globalThis.stash, ({}).polluted === undefined, JSON.stringify({ a: 1 })]';
    await expect(runner(tool(look), {}, ctx())).resolves.toEqual(['undefined', true, '{"a":1}']);
    expect(pool.hostPids().filter((pid) => hostsAfterPlant.includes(pid)).length).toBeGreaterThan(0);
  });

  it('a cancelled call kills its host at once', async () => {
    const controller = new AbortController();
    const call = failure(runner(tool('for (;;) {}', 32, 60_000), {}, ctx(controller.signal)));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const busy = pool.hostPids();
    controller.abort();
    expect(await call).toMatchObject({ kind: 'timeout', message: 'the tool call was cancelled' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const stillThere = busy.filter((pid) => pool.hostPids().includes(pid) && rssMb(pid) > 0);
    expect(stillThere.length).toBeLessThan(busy.length);
    await expect(runner(tool('return 7'), {}, ctx())).resolves.toBe(7);
  });

  it('a host gets neither the worker’s environment nor its inherited file descriptors', async () => {
    process.env.ESCAPE_TEST_CANARY = 'secret-canary';
    const canaryPool = createIsolatePool();
    try {
      await expect(createJavascriptRunner(canaryPool)(tool('return 1'), {}, ctx())).resolves.toBe(1);
      const [pid] = canaryPool.hostPids();
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
      expect(environ.every((entry) => entry.startsWith('NODE_CHANNEL_'))).toBe(true);
      // Beyond stdio and the IPC channel (0-3), every descriptor is the host's own (opened with O_CLOEXEC):
      // none survived exec from the worker (this shell's runner, for one, leaks a pipe at fd 251).
      const fds = readdirSync(`/proc/${pid}/fd`).map(Number).filter((fd) => fd > 3);
      const inherited = fds.filter((fd) => (parseInt(/^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))![1]!, 8) & 0o2000000) === 0);
      expect(inherited.map((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`))).toEqual([]);
      const targets = readdirSync(`/proc/${pid}/fd`).map((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`));
      expect(targets.filter((t) => t.startsWith('/') && t !== '/dev/null')).toEqual([]);
      expect(readlinkSync(`/proc/${pid}/cwd`)).toBe('/');
    } finally {
      canaryPool.close();
      delete process.env.ESCAPE_TEST_CANARY;
    }
  });
});
