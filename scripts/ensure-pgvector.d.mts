/** Pinned pgvector upstream version and the Debian suite whose source package carries it. */
export const PGVECTOR: { version: string; debianSuite: string };

/** True for a server on this machine (loopback address or Unix socket). */
export function isLocalDatabase(databaseUrl: string): boolean;

/**
 * Makes the `vector` extension available on a local server when it can (builds the pinned pgvector);
 * throws under CI when it cannot, else answers why not.
 */
export function ensurePgvector(options?: { databaseUrl?: string }): Promise<{ available: true } | { available: false; reason: string }>;
