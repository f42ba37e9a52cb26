/** Absolute path of a Temporal CLI binary: TEMPORAL_CLI, .tools/bin/temporal, PATH, or built from the pinned Go module. */
export function ensureTemporalCli(): Promise<string>;
