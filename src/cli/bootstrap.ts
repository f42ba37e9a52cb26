import { loadConfig } from '../config.js';
import { createDb } from '../db/client.js';
import { ensureDefaultProject } from '../tenancy/projects-store.js';

/**
 * Creates the default project and its admin key on first start. Prints one JSON line for
 * `scripts/start.mjs`; the key is in it only on that first run, since only its hash is stored.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const handle = createDb(config.DATABASE_URL, { max: 1, appName: 'smart-agents-bootstrap' });
  try {
    const result = await ensureDefaultProject(handle.db);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await handle.close();
  }
}

main().catch((err: unknown) => {
  console.error('bootstrap failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
