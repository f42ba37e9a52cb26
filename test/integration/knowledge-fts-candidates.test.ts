import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { createDb, type DbHandle } from '../../src/db/client';
import { ensureDatabase, runMigrations } from '../../src/db/migrate';
import { knowledgeChunk, knowledgeDocument } from '../../src/db/schema/index';
import { ANY_RANK_BUDGET, searchChunks } from '../../src/knowledge/search';
import { createKnowledgeBase } from '../../src/knowledge/store';
import { testConfig, testProject } from '../support/stack';

let handle: DbHandle;
let kb: string;
/**
 * A database of its own: the estimate spreads a word's share of the whole table over the searched bases, so
 * these 10,000 chunks would change the estimates of other tests' bases in the shared database, and theirs ours.
 */
const ownUrl = new URL(testConfig().DATABASE_URL);
ownUrl.pathname = `${ownUrl.pathname}_fts_candidates`;

/**
 * A base large enough that "voucher", "journal" and "dossier" are each expected in more chunks than
 * ANY_RANK_BUDGET and "marrowfen" in fewer, with no word ten times rarer than another (so none is left out).
 * The chunks repeating "voucher" five times rank first among every chunk holding a word of these questions.
 * Words no other test uses: the estimate assumes a word is spread evenly over the bases sharing the table.
 */
function content(i: number): string {
  if (i < 1500) return `Marrowfen note ${i}.${i < 5 ? ' Voucher voucher voucher.' : ''}`;
  if (i < 5500) return `Voucher journal, item ${i}.`;
  if (i < 9500) return `Voucher voucher voucher voucher voucher, dossier ${i}.`;
  return i < 9503 ? `Dossier journal ${i}.` : `Filler ${i}.`;
}

beforeAll(async () => {
  expect(ANY_RANK_BUDGET).toBeLessThan(4000);
  await ensureDatabase(ownUrl.toString());
  await runMigrations(ownUrl.toString());
  handle = createDb(ownUrl.toString(), { max: 2, appName: 'smart-agents-test' });
  const { projectId } = await testProject(handle);
  kb = (await createKnowledgeBase(handle.db, projectId, { name: 'Words' })).id;
  const [doc] = await handle.db.insert(knowledgeDocument)
    .values({ knowledgeBaseId: kb, title: 'Doc', contentHash: randomUUID(), processingStatus: 'completed' }).returning();
  for (let from = 0; from < 10_000; from += 2000) {
    await handle.db.insert(knowledgeChunk).values(Array.from({ length: 2000 }, (_, j) => ({
      documentId: doc!.id, knowledgeBaseId: kb, chunkIndex: from + j, content: content(from + j),
    })));
  }
  // The choice rests on the planner's statistics, as autovacuum keeps them after an ingest.
  await handle.db.execute(sql`analyze knowledge_chunk`);
});
afterAll(async () => {
  await handle?.close();
  const adminUrl = new URL(ownUrl);
  adminUrl.pathname = '/postgres';
  const admin = postgres(adminUrl.toString(), { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${ownUrl.pathname.slice(1)}" with (force)`).finally(() => admin.end());
});

const index = (content: string) => Number(/(\d+)\./.exec(content)?.[1]);

describe("match 'any' ranks candidates in large bases", () => {
  it("ranks only chunks holding the question's rarest words, by all of its words", async () => {
    const hits = await searchChunks(handle.db, [kb], 'marrowfen voucher', { limit: 5, match: 'any' });
    // Ranking every chunk with either word put the five-"voucher" chunks first.
    expect(hits.map((h) => index(h.content)).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);
  });

  it('ranks the chunks holding every word when each word is common', async () => {
    const hits = await searchChunks(handle.db, [kb], 'voucher journal', { limit: 10, match: 'any' });
    expect(hits).toHaveLength(10);
    for (const h of hits) expect(h.content).toMatch(/^Voucher journal/);
  });

  it('ranks every match when the candidates are fewer than asked for', async () => {
    const hits = await searchChunks(handle.db, [kb], 'journal dossier', { limit: 10, match: 'any' });
    expect(hits).toHaveLength(10);
    expect(hits.slice(0, 3).map((h) => index(h.content)).sort()).toEqual([9500, 9501, 9502]);
  });
});
