// Helpers shared by the repo's scripts. Plain Node on purpose: they run before node_modules exists.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** Absolute path of the repository, derived from this file's location so it works from any cwd. */
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const isWindows = process.platform === 'win32';

/** Written after every install: which Node ABI node_modules' native packages were installed for. */
const installMarker = (root) => path.join(root, 'node_modules', '.sao-install.json');

/**
 * True when `npm ci` must run: node_modules is missing, package-lock.json changed after the last install
 * (npm writes node_modules/.package-lock.json at the end of every install), or the last install ran under
 * a Node with another ABI (native packages such as isolated-vm pick their binary for the installing Node).
 */
export function needsInstall(root = projectRoot, abi = process.versions.modules) {
  const hidden = path.join(root, 'node_modules', '.package-lock.json');
  if (!existsSync(hidden)) return true;
  if (statSync(path.join(root, 'package-lock.json')).mtimeMs > statSync(hidden).mtimeMs) return true;
  // No marker: installed by hand (`npm ci`), trusted as is.
  if (!existsSync(installMarker(root))) return false;
  try {
    return JSON.parse(readFileSync(installMarker(root), 'utf8')).abi !== abi;
  } catch {
    return true;
  }
}

/**
 * Runs `npm ci` when needed; a lock keeps two scripts started together from installing over each other.
 * No fallback: a lock file `npm ci` refuses is a bug to fix in the repository, and CI must see it fail.
 */
export async function ensureNodeModules() {
  if (!needsInstall()) return;
  await withLock(path.join(projectRoot, '.tools', 'npm-ci.lock'), async () => {
    if (!needsInstall()) return; // another process installed while we waited
    process.stderr.write(`node_modules is missing, older than package-lock.json or built for another Node: running npm ci (Node ${process.version})\n`);
    const code = await run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: projectRoot, shell: isWindows });
    if (code !== 0) throw new Error(`npm ci failed with exit code ${code}; package-lock.json must match package.json (regenerate it with \`npm install\`)`);
    writeFileSync(installMarker(projectRoot), JSON.stringify({ abi: process.versions.modules, node: process.version }) + '\n');
  });
}

function exitCode(code, signal) {
  if (code !== null) return code;
  return 128 + (os.constants.signals[signal] ?? 0);
}

/** Runs a command to completion with inherited stdio; resolves to its exit code (128+n when killed by signal n). */
export function run(cmd, args = [], opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'inherit', ...opts });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(exitCode(code, signal)));
  });
}

/** Like `run`, but captures stdout (stderr still goes to the terminal). */
export function capture(cmd, args = [], opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: exitCode(code, signal), stdout }));
  });
}

function prefixLines(stream, prefix, out, onLine) {
  createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
    out.write(`${prefix} ${line}\n`);
    onLine?.(line);
  });
}

/**
 * Starts a long-running service whose output lines are prefixed with `[name]`. It runs in its own process
 * group so that Ctrl-C reaches only the caller, which then stops services in order (app before Temporal),
 * and so that `stop` also ends grandchildren (tsx runs the real node process as its child).
 */
export function spawnService(name, cmd, args = [], env = process.env, { onLine } = {}) {
  const child = spawn(cmd, args, { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'], detached: !isWindows });
  prefixLines(child.stdout, `[${name}]`, process.stdout, onLine);
  prefixLines(child.stderr, `[${name}]`, process.stderr);
  const exited = new Promise((resolve) => {
    child.on('error', (err) => resolve({ code: 127, signal: null, error: err }));
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  let done = false;
  exited.then(() => (done = true));
  const signal = (sig) => {
    if (done) return;
    try {
      if (isWindows) child.kill(sig);
      else process.kill(-child.pid, sig);
    } catch {
      // already gone
    }
  };
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  async function stop(graceMs = 15_000) {
    signal('SIGTERM');
    const timer = setTimeout(() => signal('SIGKILL'), graceMs);
    const result = await exited;
    clearTimeout(timer);
    return result;
  }
  return { name, child, exited, stop, kill: () => signal('SIGKILL'), get running() { return !done && child.pid !== undefined; } };
}

/** Resolves true when something accepts TCP connections on host:port right now. */
export function canConnect(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const finish = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/** Waits until host:port accepts TCP connections; rejects after `timeoutMs`. */
export async function waitForTcp(host, port, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await canConnect(host, port))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${host}:${port}`);
    await sleep(200);
  }
}

/** Waits until `url` answers 200; rejects after `timeoutMs`. */
export async function waitForHttp(url, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${url} to answer 200`);
    await sleep(250);
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/**
 * A lock directory is stale when its owner stopped refreshing it (crashed or killed) or, on this host,
 * when the owner pid is gone. A lock with no owner file yet is young by definition until its age says otherwise.
 */
export function isStaleLock(dir, { staleMs = 30_000, now = Date.now() } = {}) {
  let age;
  try {
    age = now - statSync(dir).mtimeMs;
  } catch {
    return false; // released meanwhile
  }
  if (age > staleMs) return true;
  try {
    const owner = JSON.parse(readFileSync(path.join(dir, 'owner.json'), 'utf8'));
    return owner.host === os.hostname() && !isAlive(owner.pid);
  } catch {
    return false;
  }
}

/**
 * Runs `fn` while holding a mkdir-based lock (mkdir is atomic on every filesystem we care about).
 * The holder touches the directory every few seconds so others can tell a live lock from a dead one.
 */
export async function withLock(dir, fn, { staleMs = 30_000, onWait } = {}) {
  mkdirSync(path.dirname(dir), { recursive: true });
  let waited = false;
  for (;;) {
    try {
      mkdirSync(dir);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    }
    if (isStaleLock(dir, { staleMs })) {
      // Rename first so only one of several waiters removes the stale lock.
      const grave = `${dir}.stale-${process.pid}-${Date.now()}`;
      try {
        renameSync(dir, grave);
        rmSync(grave, { recursive: true, force: true });
      } catch {
        // someone else cleaned it up
      }
      continue;
    }
    if (!waited) (onWait ?? ((d) => process.stderr.write(`waiting for another process holding ${d}\n`)))(dir);
    waited = true;
    await sleep(500);
  }
  writeFileSync(path.join(dir, 'owner.json'), JSON.stringify({ pid: process.pid, host: os.hostname() }));
  const heartbeat = setInterval(() => {
    const t = new Date();
    try {
      utimesSync(dir, t, t);
    } catch {
      // lock removed under us; nothing sensible to do but finish
    }
  }, Math.max(1000, staleMs / 6));
  heartbeat.unref();
  try {
    return await fn();
  } finally {
    clearInterval(heartbeat);
    rmSync(dir, { recursive: true, force: true });
  }
}
