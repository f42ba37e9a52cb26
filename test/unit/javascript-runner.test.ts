import { describe, expect, it } from 'vitest';
import { runJavascriptTool } from '../../src/tools/runners/javascript';
import { ToolError, type ResolvedTool, type ToolCallContext } from '../../src/tools/types';

function tool(code: string, config: Record<string, unknown> = {}, timeoutMs = 2_000): ResolvedTool {
  return { id: 't1', name: 'js', toolType: 'javascript', config: { code, ...config }, timeoutMs };
}

const ctx = (signal = new AbortController().signal): ToolCallContext => ({ signal, idempotencyKey: 'wf-1:call-1', attempt: 1 });

async function failure(promise: Promise<unknown>): Promise<ToolError> {
  const error: unknown = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ToolError);
  return error as ToolError;
}

describe('runJavascriptTool', () => {
  it('runs the body as an async function of args', async () => {
    await expect(runJavascriptTool(tool('return args.a + args.b'), { a: 2, b: 3 }, ctx())).resolves.toBe(5);
    await expect(runJavascriptTool(tool('await null; return args.items.length'), { items: [1, 2] }, ctx())).resolves.toBe(2);
  });

  it('returns a plain JSON copy of the result', async () => {
    const result = await runJavascriptTool(tool('return { at: new Date(0), skipped: undefined, list: [1, "x", null] }'), {}, ctx());
    expect(result).toEqual({ at: '1970-01-01T00:00:00.000Z', list: [1, 'x', null] });
    await expect(runJavascriptTool(tool('return undefined'), {}, ctx())).resolves.toBeNull();

    const bigint = await failure(runJavascriptTool(tool('return 10n'), {}, ctx()));
    expect(bigint).toMatchObject({ kind: 'client_error', message: expect.stringContaining('not JSON-serialisable') });
  });

  it('kills an infinite loop at the timeout', async () => {
    const started = Date.now();
    const error = await failure(runJavascriptTool(tool('while (true) {}', {}, 500), {}, ctx()));
    const elapsed = Date.now() - started;
    expect(error.kind).toBe('timeout');
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(2_000);
  });

  it('kills a loop of promise jobs at the timeout', async () => {
    const error = await failure(runJavascriptTool(tool('for (;;) await null;', {}, 300), {}, ctx()));
    expect(error.kind).toBe('timeout');
  });

  it('stops when the call is cancelled', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const error = await failure(runJavascriptTool(tool('while (true) {}', {}, 10_000), {}, ctx(controller.signal)));
    expect(error.kind).toBe('timeout');
  });

  it.each([
    ["return require('fs').readFileSync('/etc/passwd', 'utf8')", 'require is not defined'],
    ['process.exit(1)', 'process is not defined'],
    ["return await globalThis.fetch('http://127.0.0.1/')", 'globalThis.fetch is not a function'],
    ['setTimeout(() => {}, 1)', 'setTimeout is not defined'],
    ["return this.constructor.constructor('return process')().env", 'process is not defined'],
    ['return console.log(1)', 'console is not defined'],
  ])('contains %s', async (code, message) => {
    const error = await failure(runJavascriptTool(tool(code), {}, ctx()));
    expect(error.kind).toBe('client_error');
    expect(error.message).toContain(message);
  });

  it('has no buffers that would slip past the memory limit, and counts typed arrays against it', async () => {
    const result = await runJavascriptTool(tool('return [typeof WebAssembly, typeof SharedArrayBuffer, typeof Atomics, typeof Uint8Array]'), {}, ctx());
    expect(result).toEqual(['undefined', 'undefined', 'undefined', 'function']);
    const error = await failure(runJavascriptTool(tool('const keep = []; for (let i = 0; i < 8; i++) keep.push(new Uint8Array(16 * 2 ** 20)); return keep.length'), {}, ctx()));
    expect(error).toMatchObject({ kind: 'client_error', message: 'RangeError: Array buffer allocation failed' });
  });

  it('compiles the code as a function body, so it cannot close the wrapper', async () => {
    const error = await failure(runJavascriptTool(tool('return 1 }); (function () {'), {}, ctx()));
    expect(error.kind).toBe('invalid_input');
    expect(error.message).toContain('SyntaxError');
  });

  it('passes the code’s own error message back', async () => {
    const error = await failure(runJavascriptTool(tool('if (typeof args.a !== "number") throw new TypeError("a must be a number")'), {}, ctx()));
    expect(error).toMatchObject({ kind: 'client_error', message: 'TypeError: a must be a number' });
  });

  it('contains a memory hog', async () => {
    const hog = 'const keep = []; for (;;) keep.push(new Array(100_000).fill(1.5));';
    const error = await failure(runJavascriptTool(tool(hog, { memoryMb: 16 }, 10_000), {}, ctx()));
    expect(error).toMatchObject({ kind: 'forbidden', message: expect.stringContaining('memory limit') });
    // The host is unharmed: the next call works.
    await expect(runJavascriptTool(tool('return 1'), {}, ctx())).resolves.toBe(1);
  });

  it('reports a promise that can never settle', async () => {
    const error = await failure(runJavascriptTool(tool('return new Promise(() => {})'), {}, ctx()));
    expect(error).toMatchObject({ kind: 'client_error', message: expect.stringContaining('never settles') });
  });

  it('refuses bad config as invalid_input', async () => {
    expect((await failure(runJavascriptTool(tool('return ('), {}, ctx()))).kind).toBe('invalid_input');
    expect((await failure(runJavascriptTool(tool(''), {}, ctx()))).kind).toBe('invalid_input');
    expect((await failure(runJavascriptTool(tool('return 1', { memoryMb: 1 }), {}, ctx()))).kind).toBe('invalid_input');
  });
});

describe('runJavascriptTool output cap', () => {
  it('refuses a result over 1 MiB of JSON inside the sandbox', async () => {
    const error = await failure(runJavascriptTool(tool("return 'x'.repeat(1e8)", { memoryMb: 1024 }, 30_000), {}, ctx()));
    expect(error).toMatchObject({ kind: 'client_error', message: 'the result is larger than 1048576 bytes of JSON' });
    await expect(runJavascriptTool(tool("return 'x'.repeat(1000 * 1000)"), {}, ctx())).resolves.toHaveLength(1e6);
  });

  it('stops a huge result at the memory limit when the heap is small', async () => {
    const error = await failure(runJavascriptTool(tool("return 'x'.repeat(1e8)", {}, 30_000), {}, ctx()));
    expect(error).toMatchObject({ kind: 'forbidden', message: 'memory limit of 32 MB exceeded' });
  });
});
