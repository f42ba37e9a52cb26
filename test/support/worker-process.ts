import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Config } from '../../src/config';

const root = path.join(__dirname, '..', '..');

/**
 * The real worker entry point in a process of its own, so a test can SIGKILL it without warning. Node
 * runs the TypeScript through tsx's loader in that same process: `tsx`'s CLI would fork a second process
 * that outlives a SIGKILL sent to the first. The exit-with-parent preload (as in `npm run worker`) stops it when
 * the test process ends without killing it (a failed assertion before the test's own kill), so a failed run
 * leaves no worker polling behind.
 */
export function spawnWorker(config: Config): ChildProcess {
  const env = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v ?? '')]));
  return spawn(process.execPath, ['--import', 'tsx', '--import', './scripts/lib/exit-with-parent.mjs', 'src/worker.ts'], {
    cwd: root,
    env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
}
