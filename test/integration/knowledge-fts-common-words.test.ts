import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DbHandle } from '../../src/db/client';
import { knowledgeChunk, knowledgeDocument } from '../../src/db/schema/index';
import { COMMON_WORD_CHUNKS, searchChunks } from '../../src/knowledge/search';
import { createKnowledgeBase } from '../../src/knowledge/store';
import { testConfig, testDb, testProject } from '../support/stack';

let handle: DbHandle;
beforeAll(() => {
  handle = testDb(testConfig());
});
afterAll(() => handle.close());

/** A base whose chunks all say "invoice", the first `rare` of them also "quillbrook" and "account". */
async function base(chunks: number, rare: number) {
  const { projectId } = await testProject(handle);
  const kb = await createKnowledgeBase(handle.db, projectId, { name: 'Words' });
  const [doc] = await handle.db.insert(knowledgeDocument)
    .values({ knowledgeBaseId: kb.id, title: 'Doc', contentHash: randomUUID(), processingStatus: 'completed' }).returning();
  await handle.db.insert(knowledgeChunk).values(Array.from({ length: chunks }, (_, i) => ({
    documentId: doc!.id, knowledgeBaseId: kb.id, chunkIndex: i,
    content: i < rare ? `The invoice of the quillbrook account, number ${i}.` : `Invoice invoice invoice, item ${i}.`,
  })));
  // The decision rests on the planner's statistics, as autovacuum keeps them after an ingest.
  await handle.db.execute(sql`analyze knowledge_chunk`);
  return kb.id;
}

describe("match 'any' in large bases", () => {
  it('leaves out a word that most chunks hold when a rarer word of the question remains', async () => {
    // Well past the threshold: the estimate spreads a word's share of the whole (shared) table evenly over bases.
    const kb = await base(3 * COMMON_WORD_CHUNKS, 3);
    // Every chunk holds "invoice"; the three that also say "quillbrook" are the answer, and only they are ranked.
    const hits = await searchChunks(handle.db, [kb], 'quillbrook invoice', { limit: 10, match: 'any' });
    expect(hits.map((h) => h.content).sort()).toEqual([0, 1, 2].map((i) => `The invoice of the quillbrook account, number ${i}.`));
    // A question of common words only, or of common words and words no chunk holds, is searched as before.
    expect(await searchChunks(handle.db, [kb], 'invoice item', { limit: 10, match: 'any' })).toHaveLength(10);
    expect(await searchChunks(handle.db, [kb], 'invoice zzyzxq', { limit: 10, match: 'any' })).toHaveLength(10);
    // Quotes keep websearch's own query (the phrase, ORed): nothing is left out.
    const quoted = await searchChunks(handle.db, [kb], '"invoice invoice" quillbrook', { limit: 10, match: 'any' });
    expect(quoted.some((h) => !h.content.includes('quillbrook'))).toBe(true);
  });

  it('ranks every chunk holding any word of the question in bases below the threshold', async () => {
    const kb = await base(40, 3);
    const hits = await searchChunks(handle.db, [kb], 'quillbrook invoice', { limit: 10, match: 'any' });
    expect(hits).toHaveLength(10);
    expect(hits.some((h) => !h.content.includes('quillbrook'))).toBe(true);
  });
});
