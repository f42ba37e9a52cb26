// Preloaded into the services npm scripts start (`node --import ./scripts/lib/exit-with-parent.mjs …`): when
// whatever started the service dies, even by SIGKILL, the service stops too instead of running on as an
// orphan. It sends itself SIGTERM, so the service's own graceful shutdown runs (the worker drains its tasks).
// `npm run x` starts `sh -c '<script>'`, and sh may stay in between: then sh's parent (npm) is watched as well.
import { readFileSync } from 'node:fs';

const SHELLS = new Set(['sh', 'dash', 'bash', 'zsh', 'ash', 'busybox']);

/** The parent pid of `pid` and its command name, from /proc (Linux); null elsewhere or once it is gone. */
function procStat(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    return { comm: stat.slice(stat.indexOf('(') + 1, close), ppid: Number(stat.slice(close + 2).split(' ')[1]) };
  } catch {
    return null;
  }
}

const parent = process.ppid;
const shell = procStat(parent);
const grandparent = shell && SHELLS.has(shell.comm) ? shell.ppid : null;

const timer = setInterval(() => {
  const orphaned = process.ppid !== parent || (grandparent !== null && procStat(parent)?.ppid !== grandparent);
  if (!orphaned) return;
  clearInterval(timer);
  process.stderr.write('the process that started this one exited: shutting down\n');
  process.kill(process.pid, 'SIGTERM');
}, 500);
timer.unref();
