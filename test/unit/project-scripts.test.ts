import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { canConnect, isStaleLock, needsInstall, run, waitForTcp, withLock } from '../../scripts/lib/project.mjs';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'sao-scripts-'));

function setMtime(file: string, secondsAgo: number): void {
  const t = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(file, t, t);
}

describe('needsInstall', () => {
  it('is true without node_modules and when package-lock.json changed after the last install', () => {
    const root = tmp();
    writeFileSync(path.join(root, 'package-lock.json'), '{}');
    expect(needsInstall(root)).toBe(true);
    mkdirSync(path.join(root, 'node_modules'));
    const hidden = path.join(root, 'node_modules', '.package-lock.json');
    writeFileSync(hidden, '{}');
    setMtime(path.join(root, 'package-lock.json'), 60);
    expect(needsInstall(root)).toBe(false);
    setMtime(hidden, 120);
    expect(needsInstall(root)).toBe(true);
  });
});

describe('withLock', () => {
  it('lets one holder in at a time, across concurrent callers', async () => {
    const dir = path.join(tmp(), 'build.lock');
    let inside = 0;
    let maxInside = 0;
    const work = () =>
      withLock(dir, async () => {
        maxInside = Math.max(maxInside, ++inside);
        await sleep(100);
        inside--;
      }, { onWait: () => {} });
    await Promise.all([work(), work(), work()]);
    expect(maxInside).toBe(1);
  });

  it('takes over a lock whose owner died or stopped refreshing it', async () => {
    const dir = path.join(tmp(), 'build.lock');
    mkdirSync(dir);
    // A pid far above any real one on this host: the owner is gone.
    writeFileSync(path.join(dir, 'owner.json'), JSON.stringify({ pid: 2 ** 30, host: os.hostname() }));
    expect(isStaleLock(dir)).toBe(true);
    await expect(withLock(dir, async () => 'ran')).resolves.toBe('ran');

    mkdirSync(dir);
    writeFileSync(path.join(dir, 'owner.json'), JSON.stringify({ pid: process.pid, host: os.hostname() }));
    expect(isStaleLock(dir)).toBe(false);
    setMtime(dir, 120);
    expect(isStaleLock(dir, { staleMs: 30_000 })).toBe(true);
  });
});

describe('run', () => {
  it('resolves to the exit code, or 128 + signal number when killed', async () => {
    expect(await run(process.execPath, ['-e', 'process.exit(3)'])).toBe(3);
    expect(await run(process.execPath, ['-e', 'process.kill(process.pid, "SIGTERM")'])).toBe(128 + 15);
  });
});

describe('waitForTcp', () => {
  it('resolves once something listens and times out when nothing does', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await expect(waitForTcp('127.0.0.1', port, 2000)).resolves.toBeUndefined();
    await new Promise((resolve) => server.close(resolve));
    expect(await canConnect('127.0.0.1', port)).toBe(false);
    await expect(waitForTcp('127.0.0.1', port, 300)).rejects.toThrow(/timed out/);
  });
});
