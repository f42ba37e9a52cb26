import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';

const root = path.join(__dirname, '../..');

// `npm ci` refuses a lock that misses a package any platform could need (another OS's @swc/core-* or
// @rollup/rollup-* binaries, say) or that no longer matches package.json. A dry run of it in an empty
// directory checks exactly that in about a second, without installing anything.
it('npm ci accepts package.json and package-lock.json as committed', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sao-lock-'));
  try {
    copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
    copyFileSync(path.join(root, 'package-lock.json'), path.join(dir, 'package-lock.json'));
    const result = spawnSync('npm', ['ci', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(result.stderr).not.toMatch(/Missing: |npm error/);
    expect(result.status).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
