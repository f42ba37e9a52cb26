import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.join(__dirname, '../..');
const scripts = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

function stat(pid: number): { ppid: number; state: string } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: state!, ppid: Number(ppid) };
  } catch {
    return null;
  }
}

/** The live process running `needle` (a file only this test uses), not the launcher passing it on. */
function find(needle: string): number | undefined {
  return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number).find((pid) => {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return args.includes(needle) && !args.includes('scripts/node.mjs') && stat(pid)?.state !== 'Z';
    } catch {
      return false;
    }
  });
}

const gone = (pid: number) => stat(pid) === null || stat(pid)!.state === 'Z';

describe.runIf(process.platform === 'linux').each(['worker', 'gateway'])('npm run %s', (name) => {
  it('stops the service when whatever started it is SIGKILLed; the one process in between is node itself running scripts/node.mjs', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'npm-script-'));
    const entry = path.join(dir, 'service.ts');
    const ready = path.join(dir, 'ready');
    // Preloads run before the entry, so once `ready` exists the parent watch is armed.
    writeFileSync(entry, `setInterval(() => {}, 1000);\nprocess.on('SIGTERM', () => process.exit(0));\nrequire('node:fs').writeFileSync(${JSON.stringify(ready)}, '');\n`);
    const command = scripts[name]!.replace(/src\/(worker|server)\.ts/, entry);
    expect(command).toContain(entry);
    // Stands in for npm: it runs the script with `sh -c`, as npm does, and is then killed.
    const npm = spawn(process.execPath, ['-e', `require('node:child_process').spawn('sh', ['-c', ${JSON.stringify(command)}], { stdio: 'inherit' }); setInterval(() => {}, 1000);`], { cwd: root, stdio: 'ignore' });
    let service: number | undefined;
    try {
      await expect.poll(() => existsSync(ready), { timeout: 30_000, interval: 100 }).toBe(true);
      service = find(entry);
      expect(service).toBeDefined();
      // The process that runs the file is node itself, started by the launcher that picks Node >= 24 (no tsx
      // CLI that can die alone); the launcher was started by the shell.
      const launcher = stat(service!)!.ppid;
      expect(readFileSync(`/proc/${launcher}/cmdline`, 'utf8').split('\0')).toContain('scripts/node.mjs');
      expect(readFileSync(`/proc/${stat(launcher)!.ppid}/cmdline`, 'utf8').split('\0')[0]).toBe('sh');
      npm.kill('SIGKILL');
      await expect.poll(() => gone(service!), { timeout: 15_000, interval: 100 }).toBe(true);
    } finally {
      // A failed assertion must not leave the stand-in and its service running (seen: a failed run's stayed up).
      npm.kill('SIGKILL');
      if (service !== undefined && !gone(service)) process.kill(service, 'SIGKILL');
    }
  });
});
