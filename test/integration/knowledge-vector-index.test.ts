import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { DbHandle } from '../../src/db/client';
import { knowledgeChunk, knowledgeDocument } from '../../src/db/schema/index';
import { searchChunks } from '../../src/knowledge/search';
import { createKnowledgeBase } from '../../src/knowledge/store';
import { ensureVectorIndex, prepareIndexedSearch, vectorIndexName } from '../../src/knowledge/vector-index';
import { ensureVectorStore, nearestChunks, nearestChunksSql, saveEmbeddings } from '../../src/knowledge/vector-store';
import { testConfig, testDb, testProject } from '../support/stack';

/** As in test/e2e/knowledge-hybrid.test.ts: `npm test` says whether pgvector exists, a bare vitest asks the server. */
let pgvector = false;
let handle: DbHandle;
beforeAll(async () => {
  const flag = process.env.PGVECTOR_AVAILABLE;
  if (flag !== undefined) pgvector = flag === '1';
  else {
    const admin = postgres(inject('databaseUrl'), { max: 1, onnotice: () => {} });
    const [row] = await admin`select exists (select 1 from pg_available_extensions where name = 'vector') as ok`;
    pgvector = row?.ok === true;
    await admin.end();
  }
  handle = testDb(testConfig());
  if (pgvector) expect(await ensureVectorStore(handle.db)).toBe(true);
});
afterAll(() => handle?.close());
beforeEach(({ skip }) => {
  if (!pgvector) skip();
});

/** Sizes no other test file uses, so the indexes seen here are this file's own. */
const DIMS = 24;
const MODEL = 'vector-index-test';

/** A deterministic unit vector; `topic` decides which coordinates dominate, so vectors of a topic are near. */
function vector(topic: number, i: number, dims = DIMS): number[] {
  const v = Array.from({ length: dims }, (_, d) => (d % 4 === topic % 4 ? 1 : 0) + Math.sin(i * 7.1 + d * 1.3) * 0.3);
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

/** A base of a new project with `count` chunks, embedded through saveEmbeddings (the ingestion path). */
async function baseWithEmbeddings(count: number, dims = DIMS, embed: (i: number) => number[] = (i) => vector(i, i, dims)) {
  const { projectId } = await testProject(handle);
  const kb = await createKnowledgeBase(handle.db, projectId, { name: 'Vectors' });
  const [doc] = await handle.db.insert(knowledgeDocument)
    .values({ knowledgeBaseId: kb.id, title: 'Doc', contentHash: randomUUID(), processingStatus: 'completed' }).returning();
  const chunks = await handle.db.insert(knowledgeChunk).values(Array.from({ length: count }, (_, i) => ({
    documentId: doc!.id, knowledgeBaseId: kb.id, chunkIndex: i, content: `chunk ${i} about topic ${i % 4}`,
  }))).returning({ id: knowledgeChunk.id, chunkIndex: knowledgeChunk.chunkIndex });
  await saveEmbeddings(handle.db, MODEL, chunks.map((c) => ({ chunkId: c.id, embedding: embed(c.chunkIndex) })));
  return { kb, chunks };
}

const indexDef = async (dims: number) => {
  const [row] = await handle.db.execute<{ def: string | null; valid: boolean | null }>(sql`
    select pg_get_indexdef(i.indexrelid) as def, i.indisvalid as valid from pg_index i where i.indexrelid = to_regclass(${vectorIndexName(dims)})`);
  return row;
};

async function explainNearest(kbIds: string[], embedding: number[]) {
  return handle.db.transaction(async (tx) => {
    const kind = await prepareIndexedSearch(tx, embedding.length);
    // The table is tiny: take sorting off the table so the plan shows whether the index *can* serve the query.
    await tx.execute(sql`set local enable_sort = off`);
    const rows = await tx.execute<{ 'QUERY PLAN': string }>(sql`explain ${nearestChunksSql(kbIds, MODEL, embedding, 50, kind)}`);
    return { kind, plan: rows.map((r) => r['QUERY PLAN']).join('\n') };
  });
}

describe('HNSW index per embedding size', () => {
  it('is created when embeddings of a new size are first saved, as a partial HNSW index on that size', async () => {
    await baseWithEmbeddings(40);
    const index = await indexDef(DIMS);
    expect(index?.valid).toBe(true);
    expect(index?.def).toContain(`USING hnsw (((embedding)::vector(${DIMS})) vector_cosine_ops) WHERE (dims = ${DIMS})`);
    // Idempotent: asking again finds it ready and builds nothing.
    expect(await ensureVectorIndex(handle.db, DIMS)).toEqual({ state: 'ready', index: vectorIndexName(DIMS) });
  });

  it('serves the nearest-neighbour query (EXPLAIN shows the hnsw index) and finds a stored vector first', async () => {
    const { kb, chunks } = await baseWithEmbeddings(60);
    const { kind, plan } = await explainNearest([kb.id], vector(7, 7));
    expect(kind).toBe('vector');
    expect(plan).toContain(`Index Scan using ${vectorIndexName(DIMS)}`);
    const hits = await nearestChunks(handle.db, [kb.id], MODEL, vector(7, 7), 5);
    expect(hits[0]).toMatchObject({ chunk_id: chunks.find((c) => c.chunkIndex === 7)!.id, pos: 1 });
  });

  it('never returns chunks of a base that was not asked for, even with identical vectors in another project', async () => {
    const mine = await baseWithEmbeddings(30);
    const theirs = await baseWithEmbeddings(300);
    const semantic = { model: MODEL, embedQuery: async () => vector(1, 1) };
    const hits = await searchChunks(handle.db, [mine.kb.id], 'topic', { limit: 50, match: 'any', semantic });
    expect(hits.length).toBeGreaterThan(0);
    expect(new Set(hits.map((h) => h.knowledgeBaseId))).toEqual(new Set([mine.kb.id]));
    const nearest = await nearestChunks(handle.db, [mine.kb.id], MODEL, vector(1, 1), 50);
    expect(nearest).toHaveLength(30);
    expect(nearest.every((r) => r.knowledge_base_id === mine.kb.id)).toBe(true);
    // Both bases asked for: each gets its own ranking, positions counted within the base.
    const both = await nearestChunks(handle.db, [mine.kb.id, theirs.kb.id], MODEL, vector(1, 1), 5);
    expect(both.filter((r) => r.knowledge_base_id === theirs.kb.id).map((r) => r.pos).sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('replaces a build that died half-way (an invalid index), and searches exactly meanwhile', async () => {
    const dims = 25;
    // A failed CREATE INDEX CONCURRENTLY leaves an invalid index behind; fail one under the HNSW index's name
    // (a unique index over a table with two rows of one model).
    await baseWithEmbeddings(2);
    await expect(handle.sql.unsafe(`create unique index concurrently ${vectorIndexName(dims)} on knowledge_chunk_embedding (model)`)).rejects.toThrow();
    expect((await indexDef(dims))?.valid).toBe(false);
    expect(await handle.db.transaction((tx) => prepareIndexedSearch(tx, dims))).toBeUndefined();
    const { kb, chunks } = await baseWithEmbeddings(10, dims, () => vector(0, 0, dims));
    // saveEmbeddings rebuilt it: valid, and an HNSW index now.
    const index = await indexDef(dims);
    expect(index).toMatchObject({ valid: true, def: expect.stringContaining('USING hnsw') });
    expect((await nearestChunks(handle.db, [kb.id], MODEL, vector(0, 0, dims), 50)).map((r) => r.chunk_id).sort()).toEqual(chunks.map((c) => c.id).sort());
  });

  it('lets concurrent callers race: one builds, the others are told, and one valid index results', async () => {
    const dims = 26;
    await baseWithEmbeddings(5, dims); // creates it
    await handle.db.execute(sql.raw(`drop index ${vectorIndexName(dims)}`));
    const states = await Promise.all([1, 2, 3].map(() => ensureVectorIndex(handle.db, dims)));
    expect(states.every((s) => s.state === 'ready' || s.state === 'building elsewhere')).toBe(true);
    expect(states.some((s) => s.state === 'ready')).toBe(true);
    expect((await indexDef(dims))?.valid).toBe(true);
  });

  it('leaves sizes HNSW cannot index (over 4000 dimensions) to exact search', async () => {
    const dims = 4001;
    const { kb, chunks } = await baseWithEmbeddings(3, dims, (i) => vector(i, i, dims));
    expect(await ensureVectorIndex(handle.db, dims)).toMatchObject({ state: 'unsupported' });
    expect(await indexDef(dims)).toBeUndefined();
    const hits = await nearestChunks(handle.db, [kb.id], MODEL, vector(2, 2, dims), 1);
    expect(hits.map((h) => h.chunk_id)).toEqual([chunks.find((c) => c.chunkIndex === 2)!.id]);
  });
});
