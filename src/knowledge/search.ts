import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';

export interface ChunkHit {
  chunkId: string;
  knowledgeBaseId: string;
  documentId: string;
  documentTitle: string;
  heading: string | null;
  content: string;
  rank: number;
}

/**
 * Full-text search over the chunks of some knowledge bases: `websearch_to_tsquery` (quotes, OR, -minus as
 * people type them), ranked with `ts_rank_cd` and served by the GIN index on `search_vector`. Bases are
 * given in priority order; a hit in an earlier base comes before a better-ranked hit in a later one.
 * `match: 'any'` ORs the words, for retrieval from a user's question, where requiring every word
 * ("how long do refunds take") would find nothing.
 */
export async function searchChunks(
  db: DbOrTx,
  knowledgeBaseIds: string[],
  query: string,
  { limit = 5, match = 'all' }: { limit?: number; match?: 'all' | 'any' } = {},
): Promise<ChunkHit[]> {
  if (knowledgeBaseIds.length === 0 || query.trim() === '') return [];
  const ids = sql.join(knowledgeBaseIds.map((id) => sql`${id}::uuid`), sql`, `);
  const rows = await db.execute<{
    chunk_id: string; knowledge_base_id: string; document_id: string; title: string; heading: string | null; content: string; rank: number;
  }>(sql`
    with q as (select ${match === 'any' ? sql`nullif(replace(websearch_to_tsquery('english', ${query})::text, ' & ', ' | '), '')::tsquery` : sql`websearch_to_tsquery('english', ${query})`} as tsq),
    bases as (select b.id, b.priority from unnest(array[${ids}]) with ordinality as b(id, priority))
    select c.id as chunk_id, c.knowledge_base_id, c.document_id, d.title, c.heading, c.content,
           ts_rank_cd(c.search_vector, q.tsq) as rank
    from knowledge_chunk c
    join knowledge_document d on d.id = c.document_id
    join bases b on b.id = c.knowledge_base_id
    cross join q
    where c.search_vector @@ q.tsq
    order by b.priority, rank desc, c.chunk_index
    limit ${limit}`);
  return rows.map((r) => ({
    chunkId: r.chunk_id, knowledgeBaseId: r.knowledge_base_id, documentId: r.document_id, documentTitle: r.title,
    heading: r.heading, content: r.content, rank: Number(r.rank),
  }));
}
