import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const child = join(__dirname, '../fixtures/process-guards-child.ts');
const tsx = join(__dirname, '../../node_modules/.bin/tsx');
const run = (mode: string) => spawnSync(tsx, [child, mode], { encoding: 'utf8', timeout: 30_000 });
const lines = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

// A real Node process each time: the point is whether the process survives, which only a process can show.
describe('installProcessGuards', () => {
  it('logs an unhandled rejection and keeps the process running (Node 20 would exit with code 1)', () => {
    const result = run('reject');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('still running');
    const logged = lines(result.stdout).find((l) => l.msg === 'unhandled promise rejection');
    expect(logged).toMatchObject({ level: 50, err: { message: 'stray driver rejection' } });
  });

  it('still ends the process on an uncaught exception, after logging it', () => {
    const result = run('throw');
    expect(result.status).toBe(1);
    const logged = lines(result.stdout).find((l) => l.msg === 'uncaught exception; the worker exits');
    expect(logged).toMatchObject({ level: 60, err: { message: 'thrown outside any handler' } });
  });
});
