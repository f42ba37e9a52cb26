import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { holdInstanceLock, InstanceLockHeld } from '../../src/db/instance-lock';
import { ensureDatabase } from '../../src/db/migrate';
import { testConfig } from '../support/stack';

const root = path.join(__dirname, '../..');

/** The per-run database with another name, so this file never holds the lock of the database other files use. */
function ownDatabaseUrl(): string {
  const url = new URL(testConfig().DATABASE_URL);
  url.pathname = `${url.pathname}_lock_${process.pid}`;
  return url.toString();
}

afterAll(async () => {
  const admin = new URL(ownDatabaseUrl());
  const name = admin.pathname.slice(1);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {} });
  await sql.unsafe(`drop database if exists "${name}" with (force)`);
  await sql.end();
});

describe('one `npm start` per database', () => {
  it('refuses a second holder, naming the first, and lets a new one in once the first is gone', async () => {
    const url = ownDatabaseUrl();
    await ensureDatabase(url);
    const first = await holdInstanceLock(url, 'npm start in checkout-a, pid 111');
    try {
      const refused = await holdInstanceLock(url, 'npm start in checkout-b, pid 222').catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(InstanceLockHeld);
      expect((refused as Error).message).toContain('checkout-a, pid 111');
    } finally {
      await first.release();
    }
    const again = await holdInstanceLock(url, 'npm start in checkout-b, pid 222');
    await again.release();
  });

  it('the CLI npm start runs holds the lock until signalled; a second one exits 3 with the reason', async () => {
    const env = { ...process.env, DATABASE_URL: ownDatabaseUrl(), SAO_CHECKOUT: '/somewhere/checkout-one' };
    const holder = spawn(process.execPath, ['--import', 'tsx', 'src/cli/hold-instance.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const lines = createInterface({ input: holder.stdout! });
      const [line] = (await once(lines, 'line')) as [string];
      expect(line).toBe('instance lock held');
      const second = spawn(process.execPath, ['--import', 'tsx', 'src/cli/hold-instance.ts'], { cwd: root, env: { ...env, SAO_CHECKOUT: '/elsewhere/checkout-two' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      second.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      const [code] = (await once(second, 'exit')) as [number];
      expect(code).toBe(3);
      expect(stderr).toContain('another `npm start` is already using the database');
      expect(stderr).toContain('npm start in checkout-one');
    } finally {
      holder.kill('SIGTERM');
      await once(holder, 'exit');
    }
  });
});
