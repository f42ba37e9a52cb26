import type { ChildProcess, SpawnOptions } from 'node:child_process';

/** Absolute path of the repository. */
export const projectRoot: string;
/** True when node_modules is missing, older than package-lock.json, or installed under another Node ABI. */
export function needsInstall(root?: string, abi?: string): boolean;
/** Runs `npm ci` when needed (no fallback: a lock npm ci refuses fails the run). */
export function ensureNodeModules(): Promise<void>;
/** Runs a command with inherited stdio; resolves to its exit code (128+n when killed by signal n). */
export function run(cmd: string, args?: string[], opts?: SpawnOptions): Promise<number>;
/** Like `run`, capturing stdout. */
export function capture(cmd: string, args?: string[], opts?: SpawnOptions): Promise<{ code: number; stdout: string }>;

export interface Service {
  name: string;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>;
  /** SIGTERM to the process group, SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): void;
  readonly running: boolean;
}
/** Starts a long-running process in its own process group, prefixing its output lines with `[name]`; `onLine` sees each stdout line. */
export function spawnService(name: string, cmd: string, args?: string[], env?: NodeJS.ProcessEnv, opts?: { onLine?: (line: string) => void }): Service;
export function canConnect(host: string, port: number, timeoutMs?: number): Promise<boolean>;
export function waitForTcp(host: string, port: number, timeoutMs?: number): Promise<void>;
export function waitForHttp(url: string, timeoutMs?: number): Promise<void>;
export function isStaleLock(dir: string, opts?: { staleMs?: number; now?: number }): boolean;
/** Runs `fn` while holding a mkdir-based lock shared with other processes. */
export function withLock<T>(dir: string, fn: () => Promise<T>, opts?: { staleMs?: number; onWait?: (dir: string) => void }): Promise<T>;
