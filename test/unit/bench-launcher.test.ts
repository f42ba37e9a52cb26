import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from '../../scripts/bench.mjs';

const repo = path.join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

function executable(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  chmodSync(file, 0o755);
}

/**
 * A clean checkout in miniature: the real scripts/, a lock file, no node_modules, and on PATH an `npm` whose
 * `ci` installs a do-nothing `tsx` (and says so on stdout, as npm does) and logs each call; a stand-in
 * Temporal CLI in .tools/bin. `bench/probe.mjs` reports what it was started with, as one JSON line.
 */
function cleanCheckout() {
  const root = mkdtempSync(path.join(os.tmpdir(), 'sao-bench-launcher-'));
  cpSync(path.join(repo, 'scripts'), path.join(root, 'scripts'), { recursive: true });
  writeFileSync(path.join(root, 'package-lock.json'), '{}');
  const npmLog = path.join(root, 'npm-calls.log');
  executable(path.join(root, 'fake-bin', 'npm'), [
    '#!/bin/sh',
    `echo "npm $*" >> ${JSON.stringify(npmLog)}`,
    'echo "added 1 package (fake npm on stdout)"',
    'mkdir -p node_modules/tsx',
    `echo '{"name":"tsx","type":"module","exports":"./index.mjs"}' > node_modules/tsx/package.json`,
    'echo "" > node_modules/tsx/index.mjs',
    `echo '{}' > node_modules/.package-lock.json`,
    '',
  ].join('\n'));
  const cli = path.join(root, '.tools', 'bin', 'temporal');
  executable(cli, '#!/bin/sh\nexit 0\n');
  mkdirSync(path.join(root, 'bench'));
  writeFileSync(path.join(root, 'bench', 'probe.mjs'), [
    "import { existsSync } from 'node:fs';",
    'process.stdout.write(JSON.stringify({',
    "  installed: existsSync('node_modules/.package-lock.json'),",
    '  temporalCli: process.env.TEMPORAL_CLI ?? null,',
    '  execArgv: process.execArgv,',
    '  args: process.argv.slice(2),',
    "}) + '\\n');",
    'process.exit(7);',
    '',
  ].join('\n'));
  const { TEMPORAL_CLI: _cli, TEMPORAL_ADDRESS: _address, SAO_NODE_RUNTIME: _mark, ...env } = process.env;
  env.PATH = `${path.join(root, 'fake-bin')}${path.delimiter}${path.dirname(process.execPath)}${path.delimiter}/usr/bin:/bin`;
  const launch = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [path.join(root, 'scripts', 'bench.mjs'), ...args], {
      cwd: root, env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: 60_000,
    });
  const npmCalls = () => (existsSync(npmLog) ? readFileSync(npmLog, 'utf8').trim().split('\n') : []);
  return { root, cli, env, launch, npmCalls };
}

describe('bench launcher (scripts/bench.mjs)', () => {
  it('runs every bench:* npm script through the launcher, with the Temporal CLI for those that start the stack', () => {
    const benches = Object.entries(pkg.scripts).filter(([name]) => name.startsWith('bench:'));
    expect(benches.length).toBeGreaterThan(0);
    for (const [name, command] of benches) {
      const [node, launcher, ...rest] = command.split(' ');
      expect([node, launcher], name).toEqual(['node', 'scripts/bench.mjs']);
      const { needs, bench } = parseBenchArgs(rest);
      expect(existsSync(path.join(repo, bench)), `${name}: ${bench}`).toBe(true);
      const source = readFileSync(path.join(repo, bench), 'utf8');
      // The bench stack, or a dev server of its own (bench:temporal-floor).
      const startsStack = /startBenchStack|escalations-shared|TestWorkflowEnvironment\.createLocal/.test(source);
      expect(needs.temporal, `${name} starts the bench stack or a dev server: --temporal`).toBe(startsStack);
      expect(needs.pgvector, `${name} searches vectors: --pgvector`).toBe(/hasVectorStore/.test(source));
    }
  });

  it('reads flags only before the benchmark file and passes the rest on', () => {
    expect(parseBenchArgs(['--temporal', 'bench/turns.ts', '--pgvector', 'x'])).toEqual({
      needs: { temporal: true, pgvector: false }, bench: 'bench/turns.ts', args: ['--pgvector', 'x'],
    });
    expect(() => parseBenchArgs(['--temporal'])).toThrow(/usage/);
  });

  it('on a clean checkout installs node_modules and finds the Temporal CLI first, then runs the bench with tsx and its exit code; stdout is the bench\'s alone', () => {
    const { root, cli, launch, npmCalls } = cleanCheckout();
    try {
      const first = launch(['--temporal', 'bench/probe.mjs', 'a', 'b']);
      expect(first.status, first.stderr).toBe(7);
      expect(npmCalls()).toEqual(['npm ci --no-audit --no-fund']);
      // npm's own stdout went to stderr: the bench's stdout is its output and nothing else.
      expect(first.stderr).toContain('added 1 package (fake npm on stdout)');
      const lines = first.stdout.trim().split('\n');
      expect(lines).toHaveLength(1);
      const seen = JSON.parse(lines[0]!) as { installed: boolean; temporalCli: string; execArgv: string[]; args: string[] };
      expect(seen).toMatchObject({ installed: true, temporalCli: cli, args: ['a', 'b'] });
      expect(seen.execArgv.join(' ')).toContain('--import tsx');

      // Installed once: the next run goes straight to the bench.
      expect(launch(['--temporal', 'bench/probe.mjs']).status).toBe(7);
      expect(npmCalls()).toHaveLength(1);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('looks for no CLI when the bench needs none or TEMPORAL_ADDRESS names a server (a bad TEMPORAL_CLI would stop the run)', () => {
    const { root, launch } = cleanCheckout();
    try {
      const bad = { TEMPORAL_CLI: path.join(root, 'no-such-temporal') };
      for (const [args, env] of [
        [['bench/probe.mjs'], bad],
        [['--temporal', 'bench/probe.mjs'], { ...bad, TEMPORAL_ADDRESS: '127.0.0.1:7233' }],
      ] as const) {
        const result = launch([...args], env);
        expect(result.status, result.stderr).toBe(7);
        expect(JSON.parse(result.stdout).temporalCli).toBe(bad.TEMPORAL_CLI);
      }
      const refused = launch(['--temporal', 'bench/probe.mjs'], bad);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('does not exist');
      expect(refused.stdout).toBe('');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('passes a signal on once even when it arrives twice (terminal and npm), and exits with the bench\'s code', async () => {
    const { root, env } = cleanCheckout();
    try {
      mkdirSync(path.join(root, 'node_modules', 'tsx'), { recursive: true });
      writeFileSync(path.join(root, 'node_modules', 'tsx', 'package.json'), '{"name":"tsx","type":"module","exports":"./index.mjs"}');
      writeFileSync(path.join(root, 'node_modules', 'tsx', 'index.mjs'), '');
      writeFileSync(path.join(root, 'node_modules', '.package-lock.json'), '{}');
      writeFileSync(path.join(root, 'bench', 'wait.mjs'), [
        'let n = 0;',
        "process.on('SIGTERM', () => { if (n++ === 0) setTimeout(() => process.exit(40 + n), 1500); });",
        "process.stdout.write('ready\\n');",
        'setInterval(() => {}, 1000);',
        '',
      ].join('\n'));
      const child = spawn(process.execPath, [path.join(root, 'scripts', 'bench.mjs'), 'bench/wait.mjs'], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve) => child.stdout.on('data', (c: Buffer) => c.toString().includes('ready') && resolve()));
      child.kill('SIGTERM');
      child.kill('SIGTERM');
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code).toBe(41);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
