import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const runner = path.join(__dirname, '../../src/tools/runners/javascript.ts');
const tsx = pathToFileURL(createRequire(__filename).resolve('tsx')).href;

/** Pids of the processes whose parent is `ppid` and whose command line mentions `needle`. */
function childrenOf(ppid: number, needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/<pid>/stat is the parent pid; the command name (field 2) may hold spaces, so split after ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === ppid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** A process that has exited but was not reaped yet (a zombie) counts as gone. */
function alive(pid: number): boolean {
  if (!existsSync(`/proc/${pid}`)) return false;
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe.runIf(process.platform === 'linux')('a JavaScript tool whose worker is SIGKILLed', () => {
  it('stops on its own deadline instead of spinning as an orphan', async () => {
    // A worker-like parent: runs one tool call with a busy loop and a 3 s deadline, and never returns.
    const script = `import(${JSON.stringify(pathToFileURL(runner).href)}).then((m) => (m.runJavascriptTool ?? m.default.runJavascriptTool)(
      { id: 't', name: 'spin', toolType: 'javascript', config: { code: 'while (true) {}' }, timeoutMs: 3000 },
      {}, { signal: new AbortController().signal, idempotencyKey: 'k', attempt: 1 }));
      setInterval(() => {}, 1000);`;
    const worker = spawn(process.execPath, ['--import', tsx, '-e', script], { stdio: 'ignore' });
    let sandbox: number | undefined;
    await expect.poll(() => (sandbox = childrenOf(worker.pid!, '--max-old-space-size')[0]), { timeout: 30_000, interval: 50 }).toBeDefined();
    worker.kill('SIGKILL');
    // The 3 s deadline runs from the child's start; 20 s leaves room for a loaded machine, not for "never".
    await expect.poll(() => alive(sandbox!), { timeout: 20_000, interval: 100 }).toBe(false);
  });
});
