import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensurePrivateDir, withUmask } from '../../scripts/lib/private-data.mjs';

const mode = (file: string) => statSync(file).mode & 0o777;

describe.runIf(process.platform !== 'win32')('.data permissions', () => {
  it('makes an existing world-readable data directory and Temporal database owner-only', () => {
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'private-data-')), '.data');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    writeFileSync(path.join(dir, 'temporal.db'), 'history', { mode: 0o644 });
    chmodSync(path.join(dir, 'temporal.db'), 0o644);
    ensurePrivateDir(dir, ['temporal.db', 'temporal.db-wal']);
    expect(mode(dir)).toBe(0o700);
    expect(mode(path.join(dir, 'temporal.db'))).toBe(0o600);
  });

  it('creates a missing directory owner-only', () => {
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'private-data-')), 'fresh', '.data');
    ensurePrivateDir(dir);
    expect(mode(dir)).toBe(0o700);
  });

  it('hands umask 077 to the processes it starts, so the files they create are owner-only', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'private-data-')), 'temporal.db');
    const before = process.umask(0o022);
    try {
      const result = withUmask(0o077, () => spawnSync('sh', ['-c', 'echo x > "$0"', file]));
      expect(result.status).toBe(0);
      expect(mode(file)).toBe(0o600);
    } finally {
      expect(process.umask(before)).toBe(0o022); // withUmask put it back
    }
  });
});
