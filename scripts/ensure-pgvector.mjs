// Makes the `vector` extension (pgvector) available to a local PostgreSQL server, for hybrid search.
// Run directly (`npm run setup:pgvector`) it prints one progress line per step on stderr and exits 0 when the
// extension is available (1 when it cannot be installed). Debian ships pgvector's source package only for
// releases newer than bookworm, so the pinned upstream version is taken from Debian's source archive (apt
// checks its signatures) and built against the running server's major version.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { findOnPath } from './ensure-temporal.mjs';
import { projectRoot, withLock } from './lib/project.mjs';

/** Pinned upstream version, and the Debian suite whose source package carries it (any Debian revision). */
export const PGVECTOR = { version: '0.8.0', debianSuite: 'trixie' };

const defaultUrl = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const log = (msg) => process.stderr.write(`${msg}\n`);

/** True for a server on this machine (loopback address or Unix socket): the only kind we may build into. */
export function isLocalDatabase(databaseUrl) {
  const url = new URL(databaseUrl);
  const host = url.searchParams.get('host') ?? url.hostname;
  return host === '' || host.startsWith('/') || ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host);
}

/** Runs a command with its output captured (shown only when it fails); resolves to { code, output }. */
function exec(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk) => (output = (output + chunk).slice(-20_000));
    child.stdout.setEncoding('utf8').on('data', keep);
    child.stderr.setEncoding('utf8').on('data', keep);
    child.on('error', (err) => resolve({ code: 127, output: String(err) }));
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

async function must(cmd, args, opts) {
  const result = await exec(cmd, args, opts);
  if (result.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited with ${result.code}:\n${result.output.split('\n').slice(-30).join('\n')}`);
  }
  return result.output;
}

/** One progress line per step: its name, then how long it took. */
async function step(name, fn) {
  process.stderr.write(`pgvector: ${name} ... `);
  const started = Date.now();
  try {
    const value = await fn();
    process.stderr.write(`done (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
    return value;
  } catch (err) {
    process.stderr.write(`failed (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
    throw err;
  }
}

/** Whether the server offers `vector`, and its major version. */
async function probe(databaseUrl) {
  const { default: postgres } = await import('postgres');
  const sql = postgres(databaseUrl, { max: 1, connect_timeout: 10, onnotice: () => {} });
  try {
    const [row] = await sql`select current_setting('server_version_num')::int / 10000 as major,
      exists (select 1 from pg_available_extensions where name = 'vector') as available`;
    return { major: Number(row.major), available: row.available === true };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

const aptEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };

async function installServerDev(major) {
  const pkg = `postgresql-server-dev-${major}`;
  const status = await exec('dpkg-query', ['-W', '-f=${Status}', pkg]);
  if (status.code === 0 && status.output.includes('install ok installed')) return;
  // A list from the machine's image may miss the package or name a version the mirror no longer has.
  await step('apt-get update', () => must('apt-get', ['update', '-q'], { env: aptEnv }));
  await step(`apt-get install ${pkg}`, () =>
    must('apt-get', ['install', '-y', '-q', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=300', pkg], { env: aptEnv }));
}

/** The Debian mirror this machine's apt already uses (so no host is named here). */
async function debianMirror() {
  const lines = (await must('apt-cache', ['policy'])).split('\n');
  for (let i = 0; i < lines.length - 1; i++) {
    const m = /^\s*\d+\s+(\S+)\s+\S+\/main\s/.exec(lines[i]);
    if (m && /[ ,]o=Debian(,|$)/.test(lines[i + 1]) && /[ ,]l=Debian(,|$)/.test(lines[i + 1])) return m[1];
  }
  throw new Error('no Debian main archive in the apt configuration');
}

/** Downloads Debian's pgvector source package into `dir` with a private apt state, and unpacks upstream's tarball. */
async function fetchSource(dir) {
  const mirror = await debianMirror();
  mkdirSync(path.join(dir, 'lists', 'partial'), { recursive: true });
  mkdirSync(path.join(dir, 'cache', 'archives', 'partial'), { recursive: true });
  writeFileSync(path.join(dir, 'sources.list'),
    `deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror} ${PGVECTOR.debianSuite} main\n`);
  // A private list and cache directory: the machine's own apt state is left exactly as it was.
  const apt = ['-q', '-o', `Dir::Etc::sourcelist=${path.join(dir, 'sources.list')}`, '-o', 'Dir::Etc::sourceparts=-',
    '-o', `Dir::State::Lists=${path.join(dir, 'lists')}`, '-o', `Dir::Cache=${path.join(dir, 'cache')}`, '-o', 'APT::Sandbox::User=root'];
  await must('apt-get', [...apt, 'update']);
  const versions = [...(await must('apt-cache', [...apt, 'showsrc', 'pgvector'])).matchAll(/^Version: (\S+)$/gm)].map((m) => m[1]);
  const version = versions.find((v) => v.startsWith(`${PGVECTOR.version}-`));
  if (!version) throw new Error(`Debian ${PGVECTOR.debianSuite} has no pgvector ${PGVECTOR.version} source (found: ${versions.join(', ') || 'none'})`);
  await must('apt-get', [...apt, 'source', '--download-only', `pgvector=${version}`], { cwd: dir });
  await must('tar', ['-xzf', `pgvector_${PGVECTOR.version}.orig.tar.gz`], { cwd: dir });
  const src = readdirSync(dir).find((name) => name.startsWith('pgvector-') && existsSync(path.join(dir, name, 'Makefile')));
  if (!src) throw new Error('the pgvector source tarball has no Makefile');
  return path.join(dir, src);
}

async function buildAndInstall(major) {
  const pgConfig = `/usr/lib/postgresql/${major}/bin/pg_config`;
  await installServerDev(major);
  if (!existsSync(pgConfig)) throw new Error(`${pgConfig} is missing after installing postgresql-server-dev-${major}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pgvector-'));
  try {
    const src = await step(`download Debian's pgvector ${PGVECTOR.version} source (${PGVECTOR.debianSuite})`, () => fetchSource(dir));
    // OPTFLAGS empty drops upstream's -march=native, as Debian's own build does: a machine image may be
    // resumed on another CPU, and an illegal instruction in a backend would take the whole server down.
    const vars = [`PG_CONFIG=${pgConfig}`, 'OPTFLAGS='];
    await step('make', () => must('make', ['-j2', ...vars], { cwd: src }));
    await step('make install', () => must('make', ['install', ...vars], { cwd: src }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Why this process may not build into the server, or undefined when it may. */
function cannotInstall(databaseUrl) {
  if (!isLocalDatabase(databaseUrl)) return 'the database server is not on this machine';
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'installing needs root on Linux';
  if (!findOnPath('apt-get') || !findOnPath('make')) return 'apt-get and make are needed to install it';
  return undefined;
}

/**
 * Makes `vector` available on the server at `databaseUrl` when it can: already there, or built from the pinned
 * source when the server is local and we are root with apt-get. Under CI (`CI` set) a failure throws, so CI
 * never quietly tests without hybrid search; elsewhere it warns and answers `{ available: false, reason }`.
 */
export async function ensurePgvector({ databaseUrl = defaultUrl } = {}) {
  const started = Date.now();
  try {
    const first = await probe(databaseUrl);
    if (first.available) return { available: true };
    const refused = cannotInstall(databaseUrl);
    if (refused) throw new Error(`the vector extension is not installed, and ${refused}`);
    await withLock(path.join(projectRoot, '.tools', 'pgvector-install.lock'), async () => {
      if ((await probe(databaseUrl)).available) return; // installed by the process we waited for
      log(`pgvector: the server (PostgreSQL ${first.major}) lacks the vector extension; building pgvector ${PGVECTOR.version}`);
      await buildAndInstall(first.major);
    }, { onWait: () => log('pgvector: another process is installing it; waiting') });
    if (!(await probe(databaseUrl)).available) throw new Error('pgvector was installed but the server still does not list it');
    log(`pgvector: available (${((Date.now() - started) / 1000).toFixed(1)} s in all)`);
    return { available: true };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (process.env.CI) throw new Error(`pgvector is required under CI: ${reason}`);
    log(`WARNING: pgvector is not available, so hybrid (vector) search is off and its tests are skipped: ${reason}`);
    return { available: false, reason };
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  ensurePgvector({ databaseUrl: process.argv[2] ?? process.env.DATABASE_URL ?? defaultUrl }).then(
    (result) => {
      if (result.available) log('pgvector: the vector extension is available');
      process.exit(result.available ? 0 : 1);
    },
    (err) => {
      log(err instanceof Error ? err.message : String(err));
      process.exit(1);
    },
  );
}
