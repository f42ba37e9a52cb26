// Run by `npm start` before anything else touches the database: holds the database's instance lock for as
// long as the stack runs (see src/db/instance-lock.ts). Prints READY_LINE once held; exits 3 when another
// `npm start` holds it.
import path from 'node:path';
import { loadConfig } from '../config.js';
import { holdInstanceLock, InstanceLockHeld } from '../db/instance-lock.js';
import { ensureDatabase } from '../db/migrate.js';

export const READY_LINE = 'instance lock held';

async function main(): Promise<void> {
  const config = loadConfig();
  await ensureDatabase(config.DATABASE_URL);
  const checkout = process.env.SAO_CHECKOUT ?? process.cwd();
  const label = `npm start in ${path.basename(checkout)}, pid ${process.ppid}`;
  try {
    const lock = await holdInstanceLock(config.DATABASE_URL, label);
    console.log(READY_LINE);
    const stop = () => void lock.release().finally(() => process.exit(0));
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    setInterval(() => {}, 1 << 30); // held until signalled
  } catch (err) {
    if (!(err instanceof InstanceLockHeld)) throw err;
    console.error(err.message);
    process.exit(3);
  }
}

main().catch((err: unknown) => {
  console.error('could not take the database instance lock:', err instanceof Error ? err.message : err);
  process.exit(1);
});
