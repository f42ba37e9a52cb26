import { loadConfig } from '../config.js';
import { ensureDatabase, runMigrations } from '../db/migrate.js';

async function main(): Promise<void> {
  const config = loadConfig();
  await ensureDatabase(config.DATABASE_URL);
  await runMigrations(config.DATABASE_URL);
  console.log('migrations applied');
}

main().catch((err: unknown) => {
  console.error('migration failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
