// Notices when whatever started this process has died, even by SIGKILL (Linux /proc; elsewhere only a
// changed parent pid). `npm run x` starts `sh -c '<script>'`, and sh may stay in between: then sh's parent
// (npm) is watched as well.
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

/** Calls `onOrphaned` once, within half a second of the parent (or the shell's parent) going away. */
export function watchParent(onOrphaned) {
  const parent = process.ppid;
  const shell = procStat(parent);
  const grandparent = shell && SHELLS.has(shell.comm) ? shell.ppid : null;
  const timer = setInterval(() => {
    const orphaned = process.ppid !== parent || (grandparent !== null && procStat(parent)?.ppid !== grandparent);
    if (!orphaned) return;
    clearInterval(timer);
    onOrphaned();
  }, 500);
  timer.unref();
}
