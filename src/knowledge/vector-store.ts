import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sql, type SQL } from 'drizzle-orm';
import type { Db, DbOrTx } from '../db/client.js';
import { migrationsFolder } from '../db/migrate.js';
import {
  ensureVectorIndex, ensureVectorIndexes, indexedEmbedding, indexedType, prepareIndexedSearch, type VectorIndexKind,
} from './vector-index.js';

/**
 * Chunk embeddings in `knowledge_chunk_embedding`. The table exists only where the `vector` extension does, so
 * it is not in the Drizzle schema and every query here is raw SQL, reached only after {@link hasVectorStore}.
 */

/** The migration that creates the store; idempotent, so it is also the run-time DDL (one source of truth). */
const STORE_MIGRATION = '0005_knowledge_embeddings.sql';
/** The advisory lock key of `runMigrations` (src/db/migrate.ts): never race a migrator over the same objects. */
const MIGRATIONS_LOCK = sql.raw('7223372036854775807');

/**
 * Creates the extension and table when pgvector was installed after migrations ran. Callers run it once per
 * process before first use; it answers whether the store exists now (false: no extension, or no right to create it).
 * Sizes stored before HNSW indexes existed get theirs in the background: over many rows a build can take minutes,
 * longer than the caller may wait, and search is exact (as before) until the index is valid.
 */
export async function ensureVectorStore(db: Db): Promise<boolean> {
  const ddl = readFileSync(path.join(migrationsFolder, STORE_MIGRATION), 'utf8');
  await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${MIGRATIONS_LOCK})`);
    await tx.execute(sql.raw(ddl));
  });
  const ok = await hasVectorStore(db);
  if (ok) void ensureVectorIndexes(db).catch(() => {});
  return ok;
}

export async function hasVectorStore(db: DbOrTx): Promise<boolean> {
  const [row] = await db.execute<{ ok: boolean }>(sql`select to_regclass('knowledge_chunk_embedding') is not null as ok`);
  return row?.ok === true;
}

/** pgvector's text form, sent as a parameter and cast with `::vector`. */
export const vectorLiteral = (v: number[]): string => `[${v.join(',')}]`;

/** Chunks of a document with no embedding from `model` yet (a retry or a second run skips the done ones). */
export async function chunksToEmbed(db: DbOrTx, documentId: string, model: string, dims?: number) {
  return db.execute<{ id: string; text: string }>(sql`
    select c.id, concat_ws(E'\n', c.heading, c.content) as text
    from knowledge_chunk c
    left join knowledge_chunk_embedding e on e.chunk_id = c.id and e.model = ${model}
      and (${dims ?? null}::int is null or e.dims = ${dims ?? null}::int)
    where c.document_id = ${documentId}::uuid and e.chunk_id is null
    order by c.chunk_index`);
}

/** Sizes whose index this process has seen ready: the catalog is asked once per size, not once per batch. */
const indexedSizes = new WeakMap<Db, Set<number>>();

/**
 * Stores embeddings keyed on the chunk: a repeat writes the same row again, and a chunk replaced by a re-ingest
 * meanwhile is skipped (the join), never a foreign-key error. The first embeddings of a size create that size's
 * HNSW index (see vector-index.ts), while it covers only them.
 */
export async function saveEmbeddings(db: Db, model: string, rows: Array<{ chunkId: string; embedding: number[] }>): Promise<number> {
  if (rows.length === 0) return 0;
  const values = sql.join(rows.map((r) => sql`(${r.chunkId}::uuid, ${vectorLiteral(r.embedding)}::vector)`), sql`, `);
  const saved = await db.execute(sql`
    insert into knowledge_chunk_embedding (chunk_id, knowledge_base_id, model, dims, embedding)
    select c.id, c.knowledge_base_id, ${model}, vector_dims(v.embedding), v.embedding
    from (values ${values}) as v(chunk_id, embedding)
    join knowledge_chunk c on c.id = v.chunk_id
    on conflict (chunk_id) do update
      set model = excluded.model, dims = excluded.dims, embedding = excluded.embedding, created_at = now()`);
  const ready = indexedSizes.get(db) ?? new Set<number>();
  indexedSizes.set(db, ready);
  for (const dims of new Set(rows.map((r) => r.embedding.length))) {
    if (!ready.has(dims) && (await ensureVectorIndex(db, dims)).state === 'ready') ready.add(dims);
  }
  return saved.count;
}

/** Whether any of these bases has embeddings from `model`: without them, search stays full-text only. */
export async function basesHaveEmbeddings(db: DbOrTx, knowledgeBaseIds: string[], model: string): Promise<boolean> {
  if (!(await hasVectorStore(db))) return false;
  const ids = sql.join(knowledgeBaseIds.map((id) => sql`${id}::uuid`), sql`, `);
  const [row] = await db.execute<{ ok: boolean }>(sql`
    select exists (select 1 from knowledge_chunk_embedding where knowledge_base_id in (${ids}) and model = ${model}) as ok`);
  return row?.ok === true;
}

export type NearestChunkRow = {
  chunk_id: string; knowledge_base_id: string; document_id: string; title: string; heading: string | null; content: string; pos: number;
};

/**
 * Per base, the `perBase` chunks nearest to `embedding` by cosine distance, with their position (1 = nearest).
 * The HNSW index of this size serves it when there is one (approximate, see vector-index.ts), else it is exact.
 */
export async function nearestChunks(
  db: DbOrTx,
  knowledgeBaseIds: string[],
  model: string,
  embedding: number[],
  perBase: number,
  { efSearch }: { efSearch?: number } = {},
): Promise<NearestChunkRow[]> {
  // One transaction, so the HNSW settings are local to this search and never leak to the pooled connection.
  return db.transaction(async (tx) => {
    const kind = await prepareIndexedSearch(tx, embedding.length, efSearch);
    return [...(await tx.execute<NearestChunkRow>(nearestChunksSql(knowledgeBaseIds, model, embedding, perBase, kind)))];
  });
}

/**
 * The statement of {@link nearestChunks} (exported for EXPLAIN). Each base is its own ordered scan, `ORDER BY
 * distance LIMIT perBase`, the shape an HNSW index serves, with the base id as its own parameter so the planner
 * weighs that base's size: a large base walks the index, a small one reads its rows by the base index and sorts
 * them (exact, and cheaper than walking a graph mostly made of other bases). With `kind` it orders by the
 * indexed expression and names the size as a literal, so the planner can match the partial index `WHERE dims
 * = N`. Relaxed-order index scans may return neighbours slightly out of order, so positions are numbered from
 * the distances afterwards.
 */
export function nearestChunksSql(knowledgeBaseIds: string[], model: string, embedding: number[], perBase: number, kind?: VectorIndexKind): SQL {
  const dims = embedding.length;
  const [distance, size] = kind
    ? [sql`${indexedEmbedding(kind, dims)} <=> ${vectorLiteral(embedding)}::${indexedType(kind, dims)}`, sql.raw(String(dims))]
    : [sql`e.embedding <=> ${vectorLiteral(embedding)}::vector`, sql`${dims}`];
  const perBaseScans = knowledgeBaseIds.map((id) => sql`(
        select e.knowledge_base_id, e.chunk_id, ${distance} as distance
        from knowledge_chunk_embedding e
        where e.knowledge_base_id = ${id}::uuid and e.model = ${model} and e.dims = ${size}
        order by distance
        limit ${perBase})`);
  return sql`
    with nearest as (
      select n.knowledge_base_id, n.chunk_id, row_number() over (partition by n.knowledge_base_id order by n.distance, n.chunk_id) as pos
      from (${sql.join(perBaseScans, sql` union all `)}) n)
    select c.id as chunk_id, c.knowledge_base_id, c.document_id, d.title, c.heading, c.content, r.pos::int as pos
    from nearest r
    join knowledge_chunk c on c.id = r.chunk_id
    join knowledge_document d on d.id = c.document_id`;
}
