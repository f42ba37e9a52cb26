/** Creates `dir` (0700) and makes each of `files` in it that exists 0600. */
export function ensurePrivateDir(dir: string, files?: string[]): void;
/** Runs `fn` with the process umask set to `mask` (children spawned inside inherit it). */
export function withUmask<T>(mask: number, fn: () => T): T;
