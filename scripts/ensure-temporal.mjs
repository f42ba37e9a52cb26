// Finds or builds the `temporal` CLI (dev server + operator commands) without downloading prebuilt binaries.
// Run directly, it prints only the binary's path on stdout; progress goes to stderr.
import { accessSync, constants, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot, run, withLock } from './lib/project.mjs';

/** Pinned: later tags carry a `replace` directive in go.mod, which `go install pkg@version` refuses. */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

const exe = process.platform === 'win32' ? '.exe' : '';
const toolsBin = path.join(projectRoot, '.tools', 'bin');
const log = (msg) => process.stderr.write(`${msg}\n`);

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable `name` on PATH, or undefined. */
export function findOnPath(name, envPath = process.env.PATH ?? '') {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name + exe);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function findGo() {
  const fallback = `/usr/local/go/bin/go${exe}`;
  return findOnPath('go') ?? (isExecutable(fallback) ? fallback : undefined);
}

const noGoMessage = `The Temporal CLI was not found and Go is not installed to build it.
Do one of these, then run the command again:
  - install Go 1.25 or newer (https://go.dev/doc/install) and make sure \`go\` is on PATH;
    the CLI is then built once into .tools/bin (5-10 minutes);
  - install the Temporal CLI yourself (https://docs.temporal.io/cli#install) and put \`temporal\` on PATH;
  - set TEMPORAL_CLI=/absolute/path/to/temporal;
  - for \`npm start\` only: set TEMPORAL_ADDRESS=host:port to use a Temporal server you already run.`;

async function buildTemporalCli(target) {
  const go = findGo();
  if (!go) throw new Error(noGoMessage);
  // Build into a private directory and rename, so a concurrent reader never sees a half-written binary.
  const stage = path.join(projectRoot, '.tools', `build-${process.pid}`);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  log(`Building the Temporal CLI (${TEMPORAL_CLI_MODULE}) with ${go} into ${toolsBin}.`);
  log('This happens once and takes 5-10 minutes on a cold Go cache; later runs reuse the binary.');
  try {
    const env = { ...process.env, GOBIN: stage, CGO_ENABLED: process.env.CGO_ENABLED ?? '0' };
    // Go's own output goes to stderr too: stdout is reserved for the path.
    const code = await run(go, ['install', TEMPORAL_CLI_MODULE], { env, stdio: ['ignore', 2, 2] });
    if (code !== 0) throw new Error(`go install ${TEMPORAL_CLI_MODULE} failed with exit code ${code}`);
    mkdirSync(toolsBin, { recursive: true });
    renameSync(path.join(stage, `temporal${exe}`), target);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  log(`Temporal CLI built: ${target}`);
  return target;
}

/**
 * Absolute path of a usable `temporal` CLI. Order: $TEMPORAL_CLI (must exist), <repo>/.tools/bin/temporal,
 * `temporal` on PATH, else build it with Go into .tools/bin (one builder at a time, others wait for it).
 */
export async function ensureTemporalCli() {
  const fromEnv = process.env.TEMPORAL_CLI?.trim();
  if (fromEnv) {
    const resolved = path.resolve(fromEnv);
    if (!isExecutable(resolved)) throw new Error(`TEMPORAL_CLI=${fromEnv} does not exist or is not executable`);
    return resolved;
  }
  const local = path.join(toolsBin, `temporal${exe}`);
  if (isExecutable(local)) return local;
  const onPath = findOnPath('temporal');
  if (onPath) return onPath;
  return withLock(path.join(projectRoot, '.tools', 'temporal-build.lock'), async () => {
    if (isExecutable(local)) return local; // built by the process we waited for
    return buildTemporalCli(local);
  }, { onWait: () => log('Another process is building the Temporal CLI; waiting for it to finish...') });
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  ensureTemporalCli().then(
    (file) => process.stdout.write(`${file}\n`),
    (err) => {
      log(err instanceof Error ? err.message : String(err));
      process.exit(1);
    },
  );
}
