/**
 * What `match: 'any'` full-text search returns at scale, next to ranking every chunk that matches the question
 * (what it did before it ranked only candidates: src/knowledge/fts-query.ts, ANY_RANK_BUDGET). Each synthetic
 * question is about one topic and a chunk is relevant when its document is about that topic (bench/knowledge-scale.ts).
 */
import { performance } from 'node:perf_hooks';
import { sql } from 'drizzle-orm';
import type { Db } from '../src/db/client';
import { searchQueries } from '../src/knowledge/fts-query';
import { searchChunks } from '../src/knowledge/search';
import { percentiles } from './env';
import { topicOfTitle } from './knowledge-scale';

const K = 10;
export interface TopicQuery { text: string; topic: number }

/** Every chunk of the base matching the question's ranked query, ranked: the top `K` of the full ranking. */
async function fullRanking(db: Db, kbId: string, text: string) {
  return db.execute<{ id: string; title: string }>(sql`
    with q as materialized (${searchQueries(text, 'any', [kbId])})
    select c.id, d.title from knowledge_chunk c cross join q join knowledge_document d on d.id = c.document_id
    where c.knowledge_base_id = ${kbId}::uuid and c.search_vector @@ q.tsq
    order by ts_rank_cd(c.search_vector, q.tsq) desc, c.chunk_index
    limit ${K}`);
}

const mean = (xs: number[]) => Math.round((xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)) * 1000) / 1000;

/**
 * Per question, the top {@link K} of searchChunks (match 'any', full text only) against the full ranking's:
 * overlap (share of the full ranking's top K that searchChunks also returns) and precision (share of relevant
 * chunks) of both, and the full ranking's latency (the cost the candidates avoid).
 */
export async function ftsAnyQuality(db: Db, kbId: string, queries: TopicQuery[], stop: AbortSignal) {
  const overlap: number[] = [], precision: number[] = [], fullPrecision: number[] = [], fullMs: number[] = [];
  const relevant = (titles: string[], topic: number) => titles.filter((t) => topicOfTitle(t) === topic).length / Math.max(1, titles.length);
  for (const q of queries) {
    stop.throwIfAborted();
    const hits = await searchChunks(db, [kbId], q.text, { limit: K, match: 'any' });
    const t0 = performance.now();
    const full = await fullRanking(db, kbId, q.text);
    fullMs.push(performance.now() - t0);
    const ids = new Set(hits.map((h) => h.chunkId));
    overlap.push(full.length === 0 ? 1 : full.filter((r) => ids.has(r.id)).length / full.length);
    precision.push(relevant(hits.map((h) => h.documentTitle), q.topic));
    fullPrecision.push(relevant(full.map((r) => r.title), q.topic));
  }
  return {
    k: K, queries: queries.length, overlapWithFullRanking: mean(overlap), precision: mean(precision),
    fullRankingPrecision: mean(fullPrecision), fullRankingMs: percentiles(fullMs),
  };
}
