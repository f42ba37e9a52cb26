export const MIN_NODE_MAJOR: number;
export const PINNED_NODE: { version: string; integrity: Record<string, string> };
export function nodeMajor(version?: string): number;
export function nodePackageName(platform?: string, arch?: string): string;
export function runtimeDir(root?: string, version?: string): string;
export function runtimeNodePath(root?: string, version?: string): string;
/** Resolves when the running Node is >= 24; otherwise fetches the pinned Node once, re-runs the script under it and exits. */
export function ensureSupportedNode(opts?: { root?: string; script?: string; args?: string[]; version?: string }): Promise<void>;
