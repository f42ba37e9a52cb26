import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { basesHaveEmbeddings, nearestChunks } from './vector-store.js';

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

type Match = 'all' | 'any';
const idList = (ids: string[]) => sql.join(ids.map((id) => sql`${id}::uuid`), sql`, `);
/**
 * `match: 'any'` ignores a word the planner's statistics expect in at least this many chunks of the searched
 * bases when the question holds a word at least {@link COMMON_WORD_RATIO} times rarer: ranking every chunk that
 * holds a common word costs a few ms per thousand chunks (a third of a 100,000-chunk base: ~400 ms), and
 * `ts_rank_cd` weighs words by density, not rarity, so such chunks crowd out the ones holding the question's
 * distinctive words anyway. Smaller bases (and tables never analyzed) are searched as before.
 */
export const COMMON_WORD_CHUNKS = 1000;
export const COMMON_WORD_RATIO = 10;

/** 'any' is a subquery: computed once, not once per reference. 'all' stays inlined, a constant the planner can weigh. */
const materialized = (match: Match) => (match === 'any' ? sql`materialized ` : sql``);
const tsQuery = (query: string, match: Match, knowledgeBaseIds: string[]) =>
  match === 'any' ? anyWordQuery(query, knowledgeBaseIds) : sql`websearch_to_tsquery('english', ${query})`;

/**
 * The question's words ORed, without the common ones (see {@link COMMON_WORD_CHUNKS}; words of similar
 * frequency are all kept, so a question of common words only is searched as before: slow in a large base, but
 * never fewer answers). How many chunks hold a word is estimated, with no scan, from pg_stats: the word's share
 * of all chunks (the tsvector's most common elements; a word not listed counts as 0) times the searched bases'
 * rows (knowledge_base_id's most common values; a base not listed is small). That assumes a word is spread
 * evenly over the bases: a word common in one base only is underestimated by its base's share of the table,
 * and that base then ranks it as before. A word no chunk holds (a typo) is not a rarer word. Quotes, -minus and
 * OR (anything but plain words) keep the plain OR of websearch's query.
 */
const anyWordQuery = (query: string, knowledgeBaseIds: string[]) => sql`(
  with w as (select websearch_to_tsquery('english', ${query}) as tsq),
  words as (
    select distinct l.lexeme from w, unnest(tsvector_to_array(to_tsvector('english', ${query}))) as l(lexeme)
    where w.tsq::text !~ '[!<|]'),
  stats as (select s.* from pg_stats s where s.schemaname = current_schema() and s.tablename = 'knowledge_chunk'),
  base_rows as (
    select coalesce(sum(v.freq), 0) * max(t.reltuples) as n
    from pg_class t, stats s, unnest(s.most_common_vals::text::uuid[], s.most_common_freqs) as v(id, freq)
    where t.oid = 'knowledge_chunk'::regclass and s.attname = 'knowledge_base_id' and v.id in (${idList(knowledgeBaseIds)})),
  listed as (
    select e.lexeme, e.freq * b.n as n from stats s, base_rows b, unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) as e(lexeme, freq)
    where s.attname = 'search_vector' and e.lexeme is not null),
  present as (
    select words.lexeme, coalesce(listed.n, 0) as n from words left join listed using (lexeme)
    where coalesce(listed.n, 0) >= ${COMMON_WORD_CHUNKS} or exists (
      select 1 from knowledge_chunk c
      where c.knowledge_base_id in (${idList(knowledgeBaseIds)}) and c.search_vector @@ quote_literal(words.lexeme)::tsquery)),
  kept as (
    select lexeme from present
    where not (n >= ${COMMON_WORD_CHUNKS} and n > ${COMMON_WORD_RATIO} * (select min(n) from present)))
  select case
    when exists (select 1 from kept) and (select count(*) from kept) < (select count(*) from present)
      then (select string_agg(quote_literal(lexeme), ' | ') from kept)::tsquery
    else nullif(replace(w.tsq::text, ' & ', ' | '), '')::tsquery
  end
  from w)`;
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
 * ("how long do refunds take") would find nothing.
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
    with q as ${materialized(match)}(select ${tsQuery(query, match, knowledgeBaseIds)} as tsq),
    bases as (select b.id, b.priority from unnest(array[${idList(knowledgeBaseIds)}]) with ordinality as b(id, priority))
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
    heading: r.heading, content: r.content, rank: Number(r.rank), matchedBy: ['fts'],
  }));
}

/**
 * Per base, the best {@link CANDIDATES_PER_RANKER} full-text matches with their position. Each base is its own
 * `ORDER BY rank LIMIT n` (a top-N heap of n rows, with the columns the caller needs), instead of numbering every
 * match of every base and joining the best back to the table: a broad `match: 'any'` query can match a third of
 * a large base, and that join then read the whole table again.
 */
async function ftsCandidates(db: DbOrTx, knowledgeBaseIds: string[], query: string, match: Match): Promise<Candidate[]> {
  const perBase = knowledgeBaseIds.map((id) => sql`(
      select c.id, c.knowledge_base_id, c.document_id, c.heading, c.content, c.chunk_index, ts_rank_cd(c.search_vector, q.tsq) as rank
      from knowledge_chunk c cross join q
      where c.knowledge_base_id = ${id}::uuid and c.search_vector @@ q.tsq
      order by rank desc, c.chunk_index
      limit ${CANDIDATES_PER_RANKER})`);
  const rows = await db.execute<{
    chunk_id: string; knowledge_base_id: string; document_id: string; title: string; heading: string | null; content: string; pos: number;
  }>(sql`
    with q as ${materialized(match)}(select ${tsQuery(query, match, knowledgeBaseIds)} as tsq)
    select t.id as chunk_id, t.knowledge_base_id, t.document_id, d.title, t.heading, t.content,
           row_number() over (partition by t.knowledge_base_id order by t.rank desc, t.chunk_index)::int as pos
    from (${sql.join(perBase, sql` union all `)}) t
    join knowledge_document d on d.id = t.document_id`);
  return rows.map(toCandidate);
}
