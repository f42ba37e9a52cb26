/**
 * Search latency per ranker and recall of the approximate (HNSW) vector search against exact search, over the
 * synthetic bases of bench/knowledge-scale.ts. Called twice by bench/knowledge.ts: before the HNSW index exists
 * (every vector search is an exact scan, as before the index; its top 10 are the ground truth) and after.
 */
import { performance } from 'node:perf_hooks';
import { sql } from 'drizzle-orm';
import type { Db } from '../src/db/client';
import { CANDIDATES_PER_RANKER, searchChunks, type SemanticSearch } from '../src/knowledge/search';
import { prepareIndexedSearch, vectorIndexName } from '../src/knowledge/vector-index';
import { nearestChunks, nearestChunksSql } from '../src/knowledge/vector-store';
import { percentiles } from './env';

export interface ScaleQuery { text: string; embedding: number[] }
export type Ranker = 'fts any' | 'fts all' | 'vector' | 'hybrid any' | 'hybrid all' | 'vector, other tenant';
export const RANKERS: Ranker[] = ['fts any', 'fts all', 'vector', 'hybrid any', 'hybrid all', 'vector, other tenant'];
const RECALL_K = 10;

export interface Bases { main: string; other: string }
/** Per query, the ids of the vector ranker's best {@link RECALL_K} in each base. */
export type TopTen = { main: string[][]; other: string[][] };

const topTen = (rows: Array<{ chunk_id: string; pos: number }>) => rows.filter((r) => r.pos <= RECALL_K).map((r) => r.chunk_id);

/** Mean over queries of |approximate ∩ exact| / |exact|. */
export function recallAt10(approx: string[][], exact: string[][]): number {
  const per = exact.map((truth, i) => (truth.length === 0 ? 1 : truth.filter((id) => approx[i]?.includes(id)).length / truth.length));
  return Math.round((per.reduce((a, b) => a + b, 0) / Math.max(1, per.length)) * 1000) / 1000;
}

/**
 * Runs every ranker on every query, `rounds` times, interleaved (query by query) so caches warm alike; the
 * first round of the first 10 queries is a warm-up and not counted. Also counts hits from a base other than
 * the one searched (must be 0: tenant scoping).
 */
export async function measureRankers(db: Db, bases: Bases, model: string, queries: ScaleQuery[], rounds: number, stop: AbortSignal) {
  const times = Object.fromEntries(RANKERS.map((r) => [r, [] as number[]])) as Record<Ranker, number[]>;
  const top: TopTen = { main: [], other: [] };
  let foreignHits = 0;
  const warmup = Math.min(10, queries.length);
  for (let round = -1; round < rounds; round++) {
    for (const [i, q] of queries.entries()) {
      if (round === -1 && i >= warmup) break;
      stop.throwIfAborted();
      const semantic: SemanticSearch = { model, embedQuery: async () => q.embedding };
      const baseOf = (hits: Array<{ knowledgeBaseId: string }>) => hits.map((h) => h.knowledgeBaseId);
      const vector = async (kb: string, into: string[][]) => {
        const rows = await nearestChunks(db, [kb], model, q.embedding, CANDIDATES_PER_RANKER);
        if (round === 0) into[i] = topTen(rows);
        return rows.map((r) => r.knowledge_base_id);
      };
      // Each returns the base of every hit.
      const runs: Record<Ranker, () => Promise<string[]>> = {
        'fts any': async () => baseOf(await searchChunks(db, [bases.main], q.text, { limit: 5, match: 'any' })),
        'fts all': async () => baseOf(await searchChunks(db, [bases.main], q.text, { limit: 5, match: 'all' })),
        vector: () => vector(bases.main, top.main),
        'hybrid any': async () => baseOf(await searchChunks(db, [bases.main], q.text, { limit: 5, match: 'any', semantic })),
        'hybrid all': async () => baseOf(await searchChunks(db, [bases.main], q.text, { limit: 5, match: 'all', semantic })),
        'vector, other tenant': () => vector(bases.other, top.other),
      };
      for (const ranker of RANKERS) {
        const t0 = performance.now();
        const hits = await runs[ranker]();
        if (round >= 0) times[ranker].push(performance.now() - t0);
        const searched = ranker === 'vector, other tenant' ? bases.other : bases.main;
        foreignHits += hits.filter((kb) => kb !== searched).length;
      }
    }
  }
  return { stats: Object.fromEntries(RANKERS.map((r) => [r, percentiles(times[r])])) as Record<Ranker, ReturnType<typeof percentiles>>, top, foreignHits };
}

/** The vector ranker alone at each `ef_search`: latency and recall@10 in both bases. */
export async function sweepEfSearch(db: Db, bases: Bases, model: string, queries: ScaleQuery[], efs: number[], exact: TopTen, stop: AbortSignal) {
  const rows = [];
  for (const ef of efs) {
    const times: number[] = [];
    const top: TopTen = { main: [], other: [] };
    for (const [i, q] of queries.entries()) {
      stop.throwIfAborted();
      const t0 = performance.now();
      top.main[i] = topTen(await nearestChunks(db, [bases.main], model, q.embedding, CANDIDATES_PER_RANKER, { efSearch: ef }));
      times.push(performance.now() - t0);
      top.other[i] = topTen(await nearestChunks(db, [bases.other], model, q.embedding, CANDIDATES_PER_RANKER, { efSearch: ef }));
    }
    rows.push({ efSearch: ef, ...percentiles(times), recallAt10: recallAt10(top.main, exact.main), recallAt10OtherTenant: recallAt10(top.other, exact.other) });
  }
  return rows;
}

/** EXPLAIN ANALYZE of nearestChunks' own statement, in a transaction set up as nearestChunks sets it up. */
export async function explainNearest(db: Db, kbId: string, model: string, embedding: number[]) {
  return db.transaction(async (tx) => {
    const kind = await prepareIndexedSearch(tx, embedding.length);
    const rows = await tx.execute<{ 'QUERY PLAN': string }>(
      sql`explain (analyze, format text) ${nearestChunksSql([kbId], model, embedding, CANDIDATES_PER_RANKER, kind)}`);
    // The query vector appears in the plan in full: shorten it.
    const plan = rows.map((r) => r['QUERY PLAN'].replace(/'\[[-0-9.e,]{40,}\]'/g, "'[…]'"));
    return { kind: kind ?? 'exact', usesHnsw: plan.some((l) => l.includes(vectorIndexName(embedding.length))), plan };
  });
}
