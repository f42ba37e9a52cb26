#!/usr/bin/env node
// `node scripts/bench.mjs [--temporal] [--pgvector] bench/<name>.ts [bench arguments]`: what the `bench:*` npm
// scripts run, so a benchmark works on a clean clone by itself, as `npm start` does. It installs what is
// missing first (Node 24, node_modules, with --temporal the Temporal CLI unless TEMPORAL_ADDRESS names a
// server, with --pgvector the vector extension when it can), then runs the benchmark under Node with tsx
// and exits with its exit code. stdout belongs to the benchmark (its table and last JSON line): everything
// this script and the installers print goes to stderr.
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensurePgvector } from './ensure-pgvector.mjs';
import { ensureTemporalCli } from './ensure-temporal.mjs';
import { ensureSupportedNode } from './lib/node-runtime.mjs';
import { watchParent } from './lib/parent-watch.mjs';
import { needsInstall, projectRoot, run } from './lib/project.mjs';

const FLAGS = new Set(['--temporal', '--pgvector']);
const defaultAdminUrl = 'postgres://postgres@127.0.0.1:5432/postgres';

/** Splits `[flags] <bench file> [bench args]`; flags are only read before the file. */
export function parseBenchArgs(argv) {
  const needs = { temporal: false, pgvector: false };
  let i = 0;
  for (; i < argv.length && FLAGS.has(argv[i]); i++) needs[argv[i].slice(2)] = true;
  const bench = argv[i];
  if (!bench || bench.startsWith('--')) throw new Error(`usage: node scripts/bench.mjs [--temporal] [--pgvector] bench/<name>.ts [args]; got ${JSON.stringify(argv)}`);
  return { needs, bench, args: argv.slice(i + 1) };
}

/**
 * `npm ci` writes its progress to stdout, which is the benchmark's: the install runs in a child of its own
 * whose stdout is our stderr (the same ensureNodeModules, lock and ABI marker as `npm start` and `npm test`).
 */
async function ensureNodeModulesOnStderr() {
  if (!needsInstall()) return;
  const lib = pathToFileURL(path.join(projectRoot, 'scripts', 'lib', 'project.mjs')).href;
  const code = await run(process.execPath, ['--input-type=module', '-e', `await (await import(${JSON.stringify(lib)})).ensureNodeModules();`], {
    cwd: projectRoot,
    stdio: ['ignore', 2, 2],
  });
  if (code !== 0) throw new Error(`installing node_modules failed (exit code ${code})`);
}

/** Installs what the benchmark needs; resolves to the environment additions it runs with. */
export async function prepareBench(needs, env = process.env) {
  await ensureNodeModulesOnStderr();
  const extra = {};
  // With an external server the benchmark starts no dev server, so it needs no CLI (as `npm start`).
  if (needs.temporal && !env.TEMPORAL_ADDRESS?.trim()) extra.TEMPORAL_CLI = await ensureTemporalCli();
  if (needs.pgvector) {
    const pgvector = await ensurePgvector({ databaseUrl: env.BENCH_DATABASE_ADMIN_URL ?? defaultAdminUrl });
    extra.PGVECTOR_AVAILABLE = pgvector.available ? '1' : '0';
  }
  return extra;
}

/**
 * Runs the benchmark under this Node with tsx as a loader (in the same process: no tsx CLI in between) and
 * resolves to its exit code. A signal reaching us is passed on once: a terminal's Ctrl-C reaches the
 * benchmark itself too, and npm forwards it again, so the same signal within a second is one request
 * (a benchmark exits at once, without cleanup, on a second one).
 */
export function runBenchProcess(bench, args, env) {
  // The file is named from the caller's directory (npm's is the project root); tsx and the preload from the project's.
  const file = path.resolve(bench);
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', './scripts/lib/exit-with-parent.mjs', file, ...args], {
    cwd: projectRoot,
    env,
    stdio: 'inherit',
    // Its own process group: only what we pass on reaches it, once.
    detached: process.platform !== 'win32',
  });
  const lastSent = new Map();
  const pass = (sig) => {
    const now = Date.now();
    if (now - (lastSent.get(sig) ?? -Infinity) < 1000) return;
    lastSent.set(sig, now);
    try {
      child.kill(sig);
    } catch {
      // already gone
    }
  };
  const handlers = ['SIGINT', 'SIGTERM', 'SIGHUP'].map((sig) => [sig, () => pass(sig)]);
  for (const [sig, fn] of handlers) process.on(sig, fn);
  // When npm is killed, we live on: watch our parent and pass it on (the benchmark's own exit-with-parent
  // preload covers this process being SIGKILLed).
  watchParent(() => pass('SIGTERM'));
  return new Promise((resolve) => {
    const done = (code) => {
      for (const [sig, fn] of handlers) process.off(sig, fn);
      resolve(code);
    };
    child.on('error', (err) => {
      process.stderr.write(`could not run ${bench}: ${err.message}\n`);
      done(1);
    });
    child.on('exit', (code, signal) => done(code ?? 128 + (os.constants.signals[signal] ?? 0)));
  });
}

async function main() {
  // First of all: on a Node older than 24 this fetches Node 24 once and re-runs this script under it.
  await ensureSupportedNode();
  const { needs, bench, args } = parseBenchArgs(process.argv.slice(2));
  const extra = await prepareBench(needs);
  return runBenchProcess(bench, args, { ...process.env, ...extra });
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`[bench] ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
