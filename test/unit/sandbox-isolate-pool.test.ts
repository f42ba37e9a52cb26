import { afterEach, describe, expect, it } from 'vitest';
import { createIsolatePool, IsolateHostError, type IsolateCall, type IsolatePool } from '../../src/sandbox/isolate-pool';

const call = (code: string, over: Partial<IsolateCall> = {}): IsolateCall =>
  ({ code, argsJson: '{"n":1}', memoryMb: 32, timeoutMs: 2_000, maxResultChars: 1024, ...over });

const gone = (pid: number) => {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
};

describe('isolate pool', () => {
  let pool: IsolatePool;
  afterEach(() => pool.close());

  it('reuses an idle host for the next call, in another process than this one', async () => {
    pool = createIsolatePool();
    await expect(pool.run(call('return args.n'))).resolves.toEqual({ ok: true, json: '1' });
    const [host] = pool.hostPids();
    expect(host).not.toBe(process.pid);
    await expect(pool.run(call('return 2'))).resolves.toEqual({ ok: true, json: '2' });
    expect(pool.hostPids()).toEqual([host]);
  });

  it('retires a host after maxCallsPerHost calls', async () => {
    pool = createIsolatePool({ maxCallsPerHost: 2 });
    await pool.run(call('return 1'));
    const [first] = pool.hostPids();
    await pool.run(call('return 2'));
    await pool.run(call('return 3'));
    expect(pool.hostPids()).not.toContain(first);
  });

  it('starts a new host when the idle one died', async () => {
    pool = createIsolatePool();
    await pool.run(call('return 1'));
    const [first] = pool.hostPids();
    process.kill(first!, 'SIGKILL');
    while (!gone(first!) || pool.hostPids().includes(first!)) await new Promise((resolve) => setTimeout(resolve, 20));
    await expect(pool.run(call('return 2'))).resolves.toEqual({ ok: true, json: '2' });
  });

  it('reports a host that died during the call, and says so when V8 died of memory', async () => {
    pool = createIsolatePool();
    const error = await pool.run(call("return 'a'.repeat(2 ** 28).split('').length", { timeoutMs: 60_000 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IsolateHostError);
    expect(error).toMatchObject({ reason: 'memory', message: expect.stringContaining('invalid size error') });
  });

  it('refuses a cancelled call before it starts a host', async () => {
    pool = createIsolatePool();
    const controller = new AbortController();
    controller.abort();
    await expect(pool.run(call('return 1'), controller.signal)).rejects.toMatchObject({ reason: 'cancelled' });
    expect(pool.hostPids()).toEqual([]);
  });
});
