import { sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { idList, searchQueries, type Match } from './fts-query.js';
import { basesHaveEmbeddings, nearestChunks } from './vector-store.js';

export { ANY_RANK_BUDGET, COMMON_WORD_CHUNKS, COMMON_WORD_RATIO } from './fts-query.js';

export type Ranker = 'fts' | 'vector';

export interface ChunkHit {
  chunkId: string;
  knowledgeBaseId: string;
  documentId: string;
  documentTitle: string;
  heading: string | null;
  content: string;
  /** `ts_rank_cd` for full-text search; the reciprocal-rank-fusion score when vectors took part. */
  rank: number;
  /** Which rankers found the chunk (absent in activity results recorded before hybrid search). */
  matchedBy?: Ranker[];
}

/** A chunk as one ranker placed it: `pos` 1 is that ranker's best within the chunk's base. */
export type Candidate = Omit<ChunkHit, 'rank' | 'matchedBy'> & { pos: number };

/** What hybrid search needs: the model whose embeddings to compare against, and a way to embed the query. */
export interface SemanticSearch {
  model: string;
  embedQuery: (query: string) => Promise<number[]>;
  /** Told when the query cannot be embedded; the search then answers from full-text search alone. */
  onError?: (err: unknown) => void;
}

/** The usual RRF constant: damps the weight of the very first places so neither ranker dominates. */
export const RRF_K = 60;
/** Each ranker contributes its best this many chunks per base. */
export const CANDIDATES_PER_RANKER = 50;

/**
 * Reciprocal rank fusion: a chunk scores Σ 1/(k + position) over the rankers that found it, so agreeing
 * rankers lift a chunk without comparing their incomparable raw scores. Bases keep their priority order:
 * a hit in an earlier base comes before a better-scored hit in a later one.
 */
export function fuseRankings(baseOrder: string[], rankings: Partial<Record<Ranker, Candidate[]>>, limit: number, k = RRF_K): ChunkHit[] {
  const fused = new Map<string, ChunkHit & { matchedBy: Ranker[] }>();
  for (const [ranker, candidates] of Object.entries(rankings) as Array<[Ranker, Candidate[]]>) {
    for (const { pos, ...chunk } of candidates) {
      const hit = fused.get(chunk.chunkId) ?? { ...chunk, rank: 0, matchedBy: [] };
      hit.rank += 1 / (k + pos);
      if (!hit.matchedBy.includes(ranker)) hit.matchedBy.push(ranker);
      fused.set(chunk.chunkId, hit);
    }
  }
  const priority = (hit: ChunkHit) => {
    const i = baseOrder.indexOf(hit.knowledgeBaseId);
    return i === -1 ? baseOrder.length : i;
  };
  return [...fused.values()]
    .sort((a, b) => priority(a) - priority(b) || b.rank - a.rank || a.chunkId.localeCompare(b.chunkId))
    .slice(0, limit);
}

const toCandidate = (r: { chunk_id: string; knowledge_base_id: string; document_id: string; title: string; heading: string | null; content: string; pos: number }): Candidate => ({
  chunkId: r.chunk_id, knowledgeBaseId: r.knowledge_base_id, documentId: r.document_id, documentTitle: r.title,
  heading: r.heading, content: r.content, pos: Number(r.pos),
});

/**
 * Searches the chunks of some knowledge bases, given in priority order. Full-text search always:
 * `websearch_to_tsquery` (quotes, OR, -minus as people type them), ranked with `ts_rank_cd` and served by the
 * GIN index on `search_vector`. With `semantic`, and when these bases have embeddings of its model, the
 * query's embedding ranks chunks by cosine distance too and the two rankings are fused ({@link fuseRankings}).
 * `match: 'any'` ORs the words, for retrieval from a user's question, where requiring every word
 * ("how long do refunds take") would find nothing; in a large base it ranks only candidates, the chunks holding
 * the question's rarest words (see ANY_RANK_BUDGET in fts-query.ts).
 */
export async function searchChunks(
  db: DbOrTx,
  knowledgeBaseIds: string[],
  query: string,
  { limit = 5, match = 'all', semantic }: { limit?: number; match?: Match; semantic?: SemanticSearch } = {},
): Promise<ChunkHit[]> {
  if (knowledgeBaseIds.length === 0 || query.trim() === '') return [];
  if (semantic && (await basesHaveEmbeddings(db, knowledgeBaseIds, semantic.model))) {
    let embedding: number[] | undefined;
    try {
      embedding = await semantic.embedQuery(query);
    } catch (err) {
      semantic.onError?.(err);
    }
    if (embedding) {
      // The two rankers are independent: on a pool they run on two connections at once (a transaction's one
      // connection runs them in turn), so a hybrid search takes as long as the slower of them, not the sum.
      const [fts, vector] = await Promise.all([
        ftsCandidates(db, knowledgeBaseIds, query, match),
        nearestChunks(db, knowledgeBaseIds, semantic.model, embedding, CANDIDATES_PER_RANKER),
      ]);
      return fuseRankings(knowledgeBaseIds, { fts, vector: vector.map(toCandidate) }, limit);
    }
  }
  return ftsSearch(db, knowledgeBaseIds, query, match, limit);
}

async function ftsSearch(db: DbOrTx, knowledgeBaseIds: string[], query: string, match: Match, limit: number): Promise<ChunkHit[]> {
  const rows = await db.execute<{
    chunk_id: string; knowledge_base_id: string; document_id: string; title: string; heading: string | null; content: string; rank: number;
  }>(sql`
    with ${queriesCte(query, match, knowledgeBaseIds)},
    bases as (select b.id, b.priority from unnest(array[${idList(knowledgeBaseIds)}]) with ordinality as b(id, priority))
    select t.id as chunk_id, t.knowledge_base_id, t.document_id, d.title, t.heading, t.content, t.rank
    from (${bestPerBase(knowledgeBaseIds, match, limit)}) t
    join knowledge_document d on d.id = t.document_id
    join bases b on b.id = t.knowledge_base_id
    order by b.priority, t.rank desc, t.chunk_index
    limit ${limit}`);
  return rows.map((r) => ({
    chunkId: r.chunk_id, knowledgeBaseId: r.knowledge_base_id, documentId: r.document_id, documentTitle: r.title,
    heading: r.heading, content: r.content, rank: Number(r.rank), matchedBy: ['fts'],
  }));
}

/** Per base, the best {@link CANDIDATES_PER_RANKER} full-text matches with their position. */
async function ftsCandidates(db: DbOrTx, knowledgeBaseIds: string[], query: string, match: Match): Promise<Candidate[]> {
  const rows = await db.execute<{
    chunk_id: string; knowledge_base_id: string; document_id: string; title: string; heading: string | null; content: string; pos: number;
  }>(sql`
    with ${queriesCte(query, match, knowledgeBaseIds)}
    select t.id as chunk_id, t.knowledge_base_id, t.document_id, d.title, t.heading, t.content,
           row_number() over (partition by t.knowledge_base_id order by t.rank desc, t.chunk_index)::int as pos
    from (${bestPerBase(knowledgeBaseIds, match, CANDIDATES_PER_RANKER)}) t
    join knowledge_document d on d.id = t.document_id`);
  return rows.map(toCandidate);
}

/** 'any' is computed once, not once per reference; 'all' stays inlined, a constant the planner can weigh. */
const queriesCte = (query: string, match: Match, knowledgeBaseIds: string[]) =>
  sql`q as ${match === 'any' ? sql`materialized` : sql`not materialized`} (${searchQueries(query, match, knowledgeBaseIds)})`;

const ranked = (kbId: string, filter: SQL, perBase: number, onlyIf: SQL = sql`true`) => sql`
      select c.id, c.knowledge_base_id, c.document_id, c.heading, c.content, c.chunk_index, ts_rank_cd(c.search_vector, q.tsq) as rank
      from knowledge_chunk c cross join q
      where c.knowledge_base_id = ${kbId}::uuid and c.search_vector @@ ${filter} and ${onlyIf}
      order by rank desc, c.chunk_index
      limit ${perBase}`;

/**
 * Per base, its best `perBase` matches of `q.tsq` by `ts_rank_cd`, each base its own `ORDER BY rank LIMIT n` (a
 * top-N heap of n rows, with the columns the caller needs): a broad `match: 'any'` query can match a third of a
 * large base, and numbering every match then joining the best back to the table read the whole table again.
 * When `q.narrowed`, only the matches of `q.fq` are ranked, unless fewer than `perBase` chunks of the base match
 * it: then all of `q.tsq`'s (the fallback's conditions do not depend on the row, so it is skipped, not run).
 */
function bestPerBase(knowledgeBaseIds: string[], match: Match, perBase: number): SQL {
  const perBaseSql = knowledgeBaseIds.map((id) => match === 'all' ? sql`(${ranked(id, sql`q.tsq`, perBase)})` : sql`(
      with hits as materialized (${ranked(id, sql`q.fq`, perBase)}),
      enough as (select not q.narrowed or (select count(*) from hits) >= ${perBase} as ok from q)
      select hits.* from hits where (select ok from enough)
      union all
      (${ranked(id, sql`q.tsq`, perBase, sql`not (select ok from enough)`)}))`);
  return sql.join(perBaseSql, sql` union all `);
}
