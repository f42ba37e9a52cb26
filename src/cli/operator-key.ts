import { loadConfig } from '../config.js';
import { createDb } from '../db/client.js';
import { createApiKey } from '../tenancy/api-keys-store.js';
import { ensureDefaultProject } from '../tenancy/projects-store.js';

/**
 * Prints a new key with the `operator` permission (the codec endpoint: `temporal … --codec-auth "Bearer <key>"`).
 * No API call can make the first one, since an admin is one tenant's and an operator reads every tenant's
 * histories: whoever can reach the database is the operator. The key lives in the default project.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const handle = createDb(config.DATABASE_URL, { max: 1, appName: 'smart-agents-operator-key' });
  try {
    const project = await ensureDefaultProject(handle.db);
    // First run before any bootstrap: that project's admin key exists only now.
    if (project.created) process.stderr.write(`created the default project; its admin key (shown only now): ${project.apiKey}\n`);
    const { projectId } = project;
    const name = process.argv[2]?.trim() || 'operator';
    const { plaintext } = await createApiKey(handle.db, projectId, { name, permissions: ['operator'] });
    process.stdout.write(`${plaintext}\n`);
  } finally {
    await handle.close();
  }
}

main().catch((err: unknown) => {
  console.error('operator-key failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
