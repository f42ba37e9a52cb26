import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKey } from '../../src/db/schema/index';
import { checkApiKey, touchApiKey } from '../../src/tenancy/api-keys-store';
import { testConfig, testDb, testProject } from '../support/stack';

// Authentication stamps a key's last use at most once a minute. The statement's own condition keeps the row from
// being written more often; the process also skips the statement itself for a key it stamped within the minute,
// so most authenticated requests send no write at all.
const config = testConfig();
let db: ReturnType<typeof testDb>;
beforeAll(() => {
  db = testDb(config);
});
afterAll(async () => {
  await db.close();
});

const lastUsed = async (id: string) => (await db.db.select({ at: apiKey.lastUsedAt }).from(apiKey).where(eq(apiKey.id, id)))[0]?.at;
const ageStamp = (id: string) => db.db.update(apiKey).set({ lastUsedAt: sql`now() - interval '2 minutes'` }).where(eq(apiKey.id, id));

describe('touchApiKey', () => {
  it('sends no statement for a key this process stamped within the minute, and stamps it again after', async () => {
    const { key } = await testProject(db);
    const checked = await checkApiKey(db.db, await key(['agents:read']));
    if (!checked.ok) throw new Error('key refused');
    const id = checked.auth.keyId;
    const t0 = Date.now();
    await touchApiKey(db.db, id, t0);
    expect(await lastUsed(id)).toBeInstanceOf(Date);

    // The row now says two minutes ago: a statement sent now would move it; the memo sends none.
    await ageStamp(id);
    const aged = await lastUsed(id);
    await touchApiKey(db.db, id, t0 + 59_000);
    expect(await lastUsed(id)).toEqual(aged);

    // A minute after this process's stamp, the statement goes out again.
    await touchApiKey(db.db, id, t0 + 61_000);
    expect((await lastUsed(id))!.getTime()).toBeGreaterThan(aged!.getTime());
  });
});
