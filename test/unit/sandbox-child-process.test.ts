import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInSandbox, SandboxError, type SandboxLimits } from '../../src/sandbox/child-process';

const limits: SandboxLimits = { memoryMb: 64, cpuSeconds: 1, timeoutMs: 20_000, maxOutputBytes: 1024 };

async function failure(promise: Promise<unknown>): Promise<SandboxError> {
  const error: unknown = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(SandboxError);
  return error as SandboxError;
}

describe('runInSandbox', () => {
  it('runs a module export in another process and returns its JSON result', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sandbox-'));
    const module = path.join(dir, 'task.ts');
    writeFileSync(module, 'export function double(input: { n: number }): { n: number; pid: number } { return { n: input.n * 2, pid: process.pid }; }\n');
    let spawned = 0;
    const result = await runInSandbox<{ n: number; pid: number }>({ module, exportName: 'double' }, { n: 21 }, limits, { onSpawn: (pid) => (spawned = pid) });
    expect(result.n).toBe(42);
    expect(result.pid).toBe(spawned);
    expect(result.pid).not.toBe(process.pid);
  });

  it('passes the task’s own error back by name and message', async () => {
    const error = await failure(runInSandbox({ source: 'throw new RangeError("bad " + input.x)' }, { x: 1 }, limits));
    expect(error).toMatchObject({ reason: 'task_error', errorName: 'RangeError', message: 'bad 1' });
  });

  it.each(['rlimit', 'watchdog'] as const)('kills a busy loop at the CPU limit (%s)', async (cpuLimitVia) => {
    const error = await failure(runInSandbox({ source: 'for (;;) {}' }, null, limits, { cpuLimitVia }));
    expect(error.reason).toBe('cpu_limit');
    expect(error.message).toContain('CPU time limit of 1 s');
  });

  it('kills an idle child at the wall-clock deadline', async () => {
    const error = await failure(runInSandbox({ source: 'return new Promise((r) => setTimeout(r, 60000))' }, null, { ...limits, timeoutMs: 300 }));
    expect(error.reason).toBe('timeout');
  });

  it('stops at the memory limit', async () => {
    const hog = 'const keep = []; for (;;) keep.push(new Array(100000).fill(1.5));';
    const error = await failure(runInSandbox({ source: hog }, null, { ...limits, memoryMb: 16, cpuSeconds: 10 }));
    expect(error.reason).toBe('memory_limit');
  });

  it('refuses a result larger than the output cap inside the child', async () => {
    const error = await failure(runInSandbox({ source: 'return "x".repeat(5000)' }, null, limits));
    expect(error).toMatchObject({ reason: 'output_limit', message: expect.stringContaining('larger than 1024 bytes') });
  });

  it('stops reading past the cap whatever the child writes', async () => {
    // The task writes to the result pipe itself, bypassing the child's own check.
    const flood = "const out = new (require('node:net').Socket)({ fd: 3, readable: false }); for (let i = 0; i < 100; i++) out.write('y'.repeat(1e5)); return new Promise(() => {});";
    const error = await failure(runInSandbox({ source: flood }, null, limits));
    expect(error.reason).toBe('output_limit');
  });

  it('is cancelled by the signal', async () => {
    const controller = new AbortController();
    const run = runInSandbox({ source: 'for (;;) {}' }, null, { ...limits, cpuSeconds: 30 }, { signal: controller.signal, onSpawn: () => controller.abort() });
    expect((await failure(run)).reason).toBe('cancelled');
  });

  it('gives the child no environment', async () => {
    process.env.SANDBOX_TEST_SECRET = 'do not leak';
    try {
      const env = await runInSandbox<string[]>({ source: 'return Object.keys(process.env).filter((k) => !k.startsWith("NODE_CHANNEL"))' }, null, limits);
      expect(env).toEqual([]);
    } finally {
      delete process.env.SANDBOX_TEST_SECRET;
    }
  });
});
