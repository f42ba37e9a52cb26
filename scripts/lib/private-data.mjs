// The dev stack keeps state in .data/: Temporal's SQLite history (tool outputs, prompts, answers) and local
// keys. Other users of the machine must not read it, so the directory is owner-only and so is what is in it.
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Creates `dir` if needed and makes it owner-only (0700), and each of `files` in it that exists 0600: an older
 * checkout left them world-readable, and `mkdir`'s mode applies only to a directory it creates.
 */
export function ensurePrivateDir(dir, files = []) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  for (const file of files) {
    const full = path.join(dir, file);
    if (existsSync(full)) chmodSync(full, 0o600);
  }
}

/**
 * Runs `fn` with the process umask set to `mask`, restoring it after. Children spawned inside inherit it, so
 * files a child creates later (SQLite's -wal and -shm, a new database) get owner-only permissions.
 */
export function withUmask(mask, fn) {
  const previous = process.umask(mask);
  try {
    return fn();
  } finally {
    process.umask(previous);
  }
}
