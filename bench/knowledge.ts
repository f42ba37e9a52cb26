/**
 * Knowledge-base benchmark: ingestion throughput (extract -> chunk -> replace chunks, the ingest activity's
 * code without the Temporal dispatch around it) and full-text search latency over the resulting chunks; then,
 * where pgvector is installed, search at scale: BENCH_CHUNKS synthetic chunks with embeddings (bulk SQL,
 * bench/knowledge-scale.ts) searched by full text, vector and hybrid, first by exact scan (no HNSW index, as
 * before the index existed), then with the HNSW index that ensureVectorIndex builds, with recall@10 of the
 * approximate vector search against the exact one and an ef_search sweep (bench/knowledge-recall.ts), and
 * what match 'any' full text returns against ranking every chunk that matches (overlap of the top 10, share of
 * chunks of the question's topic, and that full ranking's latency: bench/knowledge-quality.ts).
 * Creates a throwaway database, prints tables to stdout and, last, one JSON line with every number. Progress
 * goes to stderr.
 *
 *   npm run bench:knowledge                          # default: 10,000 chunks at scale, about a minute
 *   BENCH_CHUNKS=100000 npm run bench:knowledge      # the issue-14 case: 100,000 chunks (several minutes)
 *
 * Settings: BENCH_DOCS, BENCH_CONCURRENCY, BENCH_SEARCH_RUNS, BENCH_SEED, BENCH_DATABASE_ADMIN_URL; at scale
 * BENCH_CHUNKS (0 skips it), BENCH_DIMS (384), BENCH_QUERIES (100), BENCH_SCALE_ROUNDS (2 timed passes over the
 * queries), BENCH_EF_SEARCH (the sweep, "40,64,100,200"). 384 dimensions by default: the size of the small
 * open models (all-MiniLM-L6-v2, bge-small, e5-small) a self-hosted tenant runs; 100,000 such vectors are
 * ~150 MB and stay inline in the heap, so the run fits a shared 2-core box. BENCH_DIMS=1536 gives OpenAI's
 * text-embedding-3-small size (TOASTed vectors, a 4x larger index, a slower build).
 */
import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { sql, type SQL } from 'drizzle-orm';
import postgres from 'postgres';
import { createDb, type Db, type DbHandle, type DbOrTx } from '../src/db/client';
import { ensureDatabase, runMigrations } from '../src/db/migrate';
import { knowledgeBase, knowledgeDocument } from '../src/db/schema/index';
import { countTokens } from '../src/knowledge/chunk';
import { ingestDocument } from '../src/knowledge/ingest';
import { searchChunks } from '../src/knowledge/search';
import { ensureVectorIndex, HNSW_EF_SEARCH } from '../src/knowledge/vector-index';
import { hasVectorStore } from '../src/knowledge/vector-store';
import { createProject } from '../src/tenancy/projects-store';
import { MARKERS, PHRASE, prng, VOCAB, zipfWord } from './knowledge-corpus';
import { ftsAnyQuality } from './knowledge-quality';
import { explainNearest, measureRankers, RANKERS, recallAt10, sweepEfSearch } from './knowledge-recall';
import { fillBase, makeCorpus, settle, topicQuery, topicVector } from './knowledge-scale';
import { formatTable, round } from './load';

function intEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name]?.trim();
  const n = raw ? Number(raw) : fallback;
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

const DOCS = intEnv('BENCH_DOCS', 200, 1);
const CONCURRENCY = intEnv('BENCH_CONCURRENCY', 4, 1);
const SEARCH_RUNS = intEnv('BENCH_SEARCH_RUNS', 50, 1);
const SEED = intEnv('BENCH_SEED', 42, 0);
const WORDS_PER_DOC = 1500;
const CHUNKS = intEnv('BENCH_CHUNKS', 10_000, 0);
const DIMS = intEnv('BENCH_DIMS', 384, 2);
const QUERY_COUNT = intEnv('BENCH_QUERIES', 100, 1);
const SCALE_ROUNDS = intEnv('BENCH_SCALE_ROUNDS', 2, 1);
const EF_SEARCH = (process.env.BENCH_EF_SEARCH?.trim() || '40,64,100,200').split(',').map((v) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new Error(`BENCH_EF_SEARCH must list integers 1..1000, got ${JSON.stringify(v)}`);
  return n;
});
const WARMUP_RUNS = 5;
const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const progress = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

function makeDocument(rand: () => number, n: number): { title: string; text: string } {
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const cap = (w: string) => w[0]!.toUpperCase() + w.slice(1);
  const title = `${cap(zipfWord(rand))} ${zipfWord(rand)} guide ${n}`;
  const out = [`# ${title}`];
  let words = 0;
  while (words < WORDS_PER_DOC) {
    out.push(`## ${Array.from({ length: int(2, 4) }, () => cap(VOCAB[int(40, VOCAB.length - 1)]!)).join(' ')}`);
    for (let p = int(1, 3); p > 0 && words < WORDS_PER_DOC; p--) {
      const sentences: string[] = [];
      for (let s = int(3, 6); s > 0; s--) {
        const ws = Array.from({ length: int(8, 20) }, () => zipfWord(rand));
        if (rand() < 0.004) ws.splice(int(0, ws.length), 0, MARKERS[int(0, MARKERS.length - 1)]!);
        if (rand() < 0.01) ws.splice(int(0, ws.length), 0, ...PHRASE.split(' '));
        words += ws.length;
        sentences.push(`${cap(ws.join(' '))}.`);
      }
      out.push(sentences.join(' '));
    }
  }
  return { title, text: `${out.join('\n\n')}\n` };
}

function percentiles(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
  return { n: sorted.length, p50: round(pct(50), 2), p95: round(pct(95), 2), p99: round(pct(99), 2), max: round(sorted.at(-1) ?? NaN, 2) };
}

const QUERIES: Array<[kind: string, query: string]> = [
  ['common word', 'customer'], ['common words', 'refund payment'], ['rare word', MARKERS[0]!], ['rare + common', `${MARKERS[1]} invoice`],
  ['multi-word', 'how long does a refund take for an annual subscription'], ['phrase', `"${PHRASE}"`], ['no match', 'nonexistentterm'],
];

/**
 * Runs searchChunks' own SQL under EXPLAIN ANALYZE: a stand-in `db` prefixes the statement searchChunks
 * builds, so the plan is that of the exact query measured, not of a copy that could drift from it.
 */
async function explain(db: Db, kbId: string, query: string, match: 'all' | 'any'): Promise<string[]> {
  let plan: string[] = [];
  const spy = {
    execute: async (q: SQL) => {
      const rows = await db.execute<{ 'QUERY PLAN': string }>(sql`explain (analyze, format text) ${q}`);
      plan = rows.map((r) => r['QUERY PLAN']);
      return [];
    },
  } as unknown as DbOrTx;
  await searchChunks(spy, [kbId], query, { limit: 5, match });
  return plan;
}

async function main(stop: AbortSignal): Promise<number> {
  const cleanup: Array<() => Promise<unknown>> = [];
  try {
    const dbName = `sao_bench_kb_${process.pid}_${randomBytes(4).toString('hex')}`;
    const dbUrl = new URL(ADMIN_URL);
    dbUrl.pathname = `/${dbName}`;
    progress(`creating database ${dbName}`);
    cleanup.push(() => dropDatabase(dbName));
    await ensureDatabase(dbUrl.toString());
    await runMigrations(dbUrl.toString());
    const handle = createDb(dbUrl.toString(), { max: CONCURRENCY + 2, appName: 'bench-knowledge' });
    cleanup.push(() => handle.close());
    const { db } = handle;

    const { project } = await createProject(db, { name: 'Knowledge bench', slug: `kb-bench-${process.pid}` });
    const [kb] = await db.insert(knowledgeBase).values({ projectId: project.id, name: 'Bench KB' }).returning();
    const rand = prng(SEED);
    const docs = Array.from({ length: DOCS }, (_, i) => makeDocument(rand, i));
    const inputBytes = docs.reduce((n, d) => n + Buffer.byteLength(d.text), 0);
    const ids: string[] = [];
    for (let i = 0; i < docs.length; i += 100) {
      const rows = await db.insert(knowledgeDocument).values(docs.slice(i, i + 100).map((d, j) => ({
        knowledgeBaseId: kb!.id, title: d.title, contentType: 'text/markdown', rawText: d.text, fileSize: Buffer.byteLength(d.text),
        contentHash: createHash('sha256').update(`${i + j}\n${d.text}`).digest('hex'),
      }))).returning({ id: knowledgeDocument.id });
      ids.push(...rows.map((r) => r.id));
    }
    stop.throwIfAborted();

    // The ~0.8 s tiktoken rank load happens once per worker process, not per document; keep it out of the numbers.
    countTokens('warm up');
    progress(`ingesting ${DOCS} documents (${round(inputBytes / 1e6, 2)} MB), concurrency ${CONCURRENCY}`);
    const perDoc: number[] = [];
    let [totalChunks, next] = [0, 0];
    const started = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < ids.length) {
        stop.throwIfAborted();
        const id = ids[next++]!;
        const t0 = performance.now();
        const { chunks } = await ingestDocument(db, id);
        perDoc.push(performance.now() - t0);
        totalChunks += chunks;
      }
    }));
    const wallMs = performance.now() - started;
    const ingest = {
      documents: DOCS, chunks: totalChunks, wallMs: round(wallMs), docsPerSec: round(DOCS / (wallMs / 1000)),
      chunksPerSec: round(totalChunks / (wallMs / 1000)), perDocMs: percentiles(perDoc),
    };

    // Freshly inserted chunks sit in the GIN index's pending list (fastupdate) until a vacuum merges them; until
    // then the planner prices the index far too high and seq-scans. Autovacuum does this shortly after a bulk
    // ingest in a live system, so measure the settled state: merged index, current statistics.
    await db.execute(sql`vacuum analyze knowledge_chunk`);
    progress(`searching: ${QUERIES.length} queries x 2 modes x ${SEARCH_RUNS} runs (after ${WARMUP_RUNS} warm-up runs)`);
    const search: Array<{ kind: string; query: string; match: 'all' | 'any'; hits: number; usesGin: boolean } & ReturnType<typeof percentiles>> = [];
    const byMode: Record<'all' | 'any', number[]> = { all: [], any: [] };
    for (const match of ['all', 'any'] as const) {
      for (const [kind, query] of QUERIES) {
        stop.throwIfAborted();
        let hits = 0;
        for (let i = 0; i < WARMUP_RUNS; i++) hits = (await searchChunks(db, [kb!.id], query, { limit: 5, match })).length;
        const times: number[] = [];
        for (let i = 0; i < SEARCH_RUNS; i++) {
          const t0 = performance.now();
          await searchChunks(db, [kb!.id], query, { limit: 5, match });
          times.push(performance.now() - t0);
        }
        byMode[match].push(...times);
        const usesGin = (await explain(db, kb!.id, query, match)).some((l) => l.includes('knowledge_chunk_search_idx'));
        search.push({ kind, query, match, hits, usesGin, ...percentiles(times) });
      }
    }
    const plan = await explain(db, kb!.id, MARKERS[0]!, 'all');
    const [{ avgTokens } = { avgTokens: 0 }] = await db.execute<{ avgTokens: number }>(sql`select round(avg(token_count))::int as "avgTokens" from knowledge_chunk`);

    const scale = CHUNKS > 0 && (await hasVectorStore(db)) ? await searchAtScale(handle, stop) : undefined;
    if (CHUNKS > 0 && !scale) progress('scale: skipped, the vector extension (pgvector) is not installed (npm run setup:pgvector)');

    const out = (s = '') => process.stdout.write(`${s}\n`);
    out();
    out(`Knowledge benchmark: ${DOCS} synthetic Markdown docs of ~${WORDS_PER_DOC} words (seed ${SEED}), ${os.cpus().length} CPUs, Node ${process.version}`);
    out('Ingestion = ingestDocument() per document: extract -> chunk (js-tiktoken) -> replace chunks in one transaction.');
    out('Temporal workflow dispatch around the activity is NOT included (see bench/turns.ts for that overhead).');
    out();
    out(formatTable(
      ['documents', 'chunks', 'avg tokens/chunk', 'concurrency', 'wall ms', 'docs/s', 'chunks/s', 'doc p50 ms', 'doc p95 ms', 'doc max ms'],
      [[DOCS, totalChunks, avgTokens, CONCURRENCY, ingest.wallMs, ingest.docsPerSec, ingest.chunksPerSec, ingest.perDocMs.p50, ingest.perDocMs.p95, ingest.perDocMs.max]],
    ));
    out();
    out(`Search = searchChunks(db, [kb], q, { limit: 5, match }) over ${totalChunks} chunks, ${SEARCH_RUNS} sequential runs per row`);
    out(formatTable(
      ['query', 'mode', 'hits', 'GIN', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
      search.map((s) => [`${s.kind}: ${s.query}`, s.match, s.hits, s.usesGin ? 'yes' : 'no', s.p50, s.p95, s.p99, s.max]),
    ));
    out();
    const summary = { all: percentiles(byMode.all), any: percentiles(byMode.any), overall: percentiles([...byMode.all, ...byMode.any]) };
    out(formatTable(['mode', 'samples', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'], Object.entries(summary).map(([m, s]) => [m, s.n, s.p50, s.p95, s.p99, s.max])));
    out();
    const ginUsed = plan.some((l) => l.includes('knowledge_chunk_search_idx'));
    out(`EXPLAIN ANALYZE of searchChunks('${MARKERS[0]}', match 'all'): GIN index knowledge_chunk_search_idx ${ginUsed ? 'USED' : 'NOT used'}`);
    // The top of the plan plus, when present, the index scan node (it sits deep under the joins).
    const idxLine = plan.findIndex((l) => l.includes('knowledge_chunk_search_idx'));
    for (const line of plan.slice(0, Math.max(12, idxLine + 2))) out(`  ${line}`);
    if (scale) printScale(scale, out);
    out(JSON.stringify({
      benchmark: 'knowledge',
      settings: { docs: DOCS, wordsPerDoc: WORDS_PER_DOC, concurrency: CONCURRENCY, searchRuns: SEARCH_RUNS, warmupRuns: WARMUP_RUNS, seed: SEED, cpus: os.cpus().length, node: process.version },
      ingest: { ...ingest, inputBytes, avgTokensPerChunk: avgTokens, includesTemporal: false },
      search: { queries: search, summary, explain: { query: MARKERS[0], match: 'all', ginIndexUsed: ginUsed, plan } },
      scale: scale ?? null,
    }));
    return 0;
  } finally {
    progress('cleaning up');
    for (const fn of cleanup.reverse()) {
      await fn().catch((err: unknown) => {
        process.exitCode = 1;
        progress(`cleanup failed: ${err instanceof Error ? err.message : String(err)}`);
      });
    }
  }
}

/**
 * The scale case: a base of CHUNKS chunks and another project's base of a tenth as many, both in one HNSW index
 * of their size. Exact first (also the ground truth for recall), then the index is built the way the product
 * builds it and everything is measured again with the same queries.
 */
async function searchAtScale(handle: DbHandle, stop: AbortSignal) {
  const { db } = handle;
  const model = `bench-embed-${DIMS}`;
  const topics = Math.max(10, Math.round(CHUNKS / 1000));
  const corpus = makeCorpus(SEED, DIMS, topics);
  const otherChunks = Math.max(1, Math.round(CHUNKS / 10));
  progress(`scale: writing ${CHUNKS} + ${otherChunks} chunks with ${DIMS}-d embeddings (${topics} topics)`);
  let t0 = performance.now();
  const fill = (name: string, chunks: number, seed: number) => fillBase(handle, corpus, { name, chunks, seed, model, concurrency: CONCURRENCY, stop });
  const bases = { main: await fill('Scale KB', CHUNKS, SEED), other: await fill('Other tenant KB', otherChunks, SEED + 1) };
  await settle(db);
  const loadMs = round(performance.now() - t0);
  const rand = prng(SEED ^ 0x9e3779b9);
  const queries = Array.from({ length: QUERY_COUNT }, () => {
    const topic = Math.floor(rand() * topics);
    return { topic, text: topicQuery(corpus, rand, topic), embedding: topicVector(corpus, rand, topic) };
  });

  progress(`scale: exact search (no HNSW index), ${QUERY_COUNT} queries x ${RANKERS.length} rankers x ${SCALE_ROUNDS} rounds`);
  const exact = await measureRankers(db, bases, model, queries, SCALE_ROUNDS, stop);
  const exactPlan = await explainNearest(db, bases.main, model, queries[0]!.embedding);
  progress('scale: building the HNSW index (ensureVectorIndex: CREATE INDEX CONCURRENTLY)');
  t0 = performance.now();
  const index = await ensureVectorIndex(db, DIMS);
  const buildMs = round(performance.now() - t0);
  if (index.state !== 'ready') throw new Error(`the HNSW index was not built: ${JSON.stringify(index)}`);
  await db.execute(sql`analyze knowledge_chunk_embedding`);
  const [size] = await db.execute<{ mb: number }>(sql`select round(pg_relation_size(to_regclass(${index.index})) / 1e6, 1)::float8 as mb`);
  progress(`scale: HNSW search (ef_search ${HNSW_EF_SEARCH})`);
  const hnsw = await measureRankers(db, bases, model, queries, SCALE_ROUNDS, stop);
  const hnswPlan = await explainNearest(db, bases.main, model, queries[0]!.embedding);
  progress(`scale: ef_search sweep ${EF_SEARCH.join(', ')}`);
  const sweep = await sweepEfSearch(db, bases, model, queries, EF_SEARCH, exact.top, stop);
  progress("scale: match 'any' top 10 against ranking every match");
  const ftsAny = await ftsAnyQuality(db, bases.main, queries, stop);
  return {
    settings: { chunks: CHUNKS, otherTenantChunks: otherChunks, dims: DIMS, topics, queries: QUERY_COUNT, rounds: SCALE_ROUNDS, efSearch: HNSW_EF_SEARCH, model },
    load: { ms: loadMs, chunksPerSec: round((CHUNKS + otherChunks) / (loadMs / 1000)) },
    index: { name: index.index, buildMs, sizeMb: Number(size?.mb ?? NaN) },
    exact: exact.stats,
    hnsw: hnsw.stats,
    recallAt10: { main: recallAt10(hnsw.top.main, exact.top.main), otherTenant: recallAt10(hnsw.top.other, exact.top.other) },
    foreignHits: exact.foreignHits + hnsw.foreignHits,
    sweep,
    ftsAnyQuality: ftsAny,
    explain: { exact: { kind: exactPlan.kind, usesHnsw: exactPlan.usesHnsw }, hnsw: { kind: hnswPlan.kind, usesHnsw: hnswPlan.usesHnsw, plan: hnswPlan.plan } },
  };
}

function printScale(scale: Awaited<ReturnType<typeof searchAtScale>>, out: (s?: string) => void) {
  const { settings: st } = scale;
  out();
  out(`Search at scale: ${st.chunks} chunks (${st.topics} topics, ${st.dims}-d embeddings) + ${st.otherTenantChunks} in another project's base, one index;`);
  out(`${st.queries} queries x ${st.rounds} rounds per ranker; limit 5 for fts/hybrid (match any = retrieval, all = search API), 50 per base for vector.`);
  out(`Loaded in ${scale.load.ms} ms (${scale.load.chunksPerSec} chunks/s); HNSW ${scale.index.name} built in ${scale.index.buildMs} ms, ${scale.index.sizeMb} MB.`);
  out(formatTable(
    ['ranker', 'exact p50 ms', 'exact p95 ms', `hnsw p50 ms`, `hnsw p95 ms`, 'p95 speed-up'],
    RANKERS.map((r) => [r, scale.exact[r].p50, scale.exact[r].p95, scale.hnsw[r].p50, scale.hnsw[r].p95, `x${round(scale.exact[r].p95 / scale.hnsw[r].p95, 1)}`]),
  ));
  out(`recall@10 of HNSW (ef_search ${st.efSearch}) against exact: ${scale.recallAt10.main} (other tenant's base: ${scale.recallAt10.otherTenant}); hits from a base not searched: ${scale.foreignHits}`);
  const [any, all] = [scale.hnsw['hybrid any'], scale.hnsw['hybrid all']];
  out(`goal (issue 14), hybrid p95 < 50 ms with recall@10 >= 0.95: hybrid any (a turn's retrieval) p50 ${any.p50} ms, p95 ${any.p95} ms;`
    + ` hybrid all p95 ${all.p95} ms; recall@10 ${scale.recallAt10.main}`);
  const fq = scale.ftsAnyQuality;
  out(`fts any, top ${fq.k} of ${fq.queries} questions: ${fq.overlapWithFullRanking} overlap with ranking every chunk that matches (as before candidates),`);
  out(`  relevant (chunk of the question's topic) ${fq.precision} against ${fq.fullRankingPrecision}; ranking every match: p50 ${fq.fullRankingMs.p50} ms, p95 ${fq.fullRankingMs.p95} ms`);
  out(`EXPLAIN of the vector query: exact run ${scale.explain.exact.usesHnsw ? 'USED' : 'did not use'} HNSW, indexed run ${scale.explain.hnsw.usesHnsw ? 'USED' : 'did NOT use'} ${scale.index.name}`);
  out();
  out(formatTable(['ef_search', 'vector p50 ms', 'vector p95 ms', 'recall@10', 'recall@10 other tenant'],
    scale.sweep.map((s) => [s.efSearch, s.p50, s.p95, s.recallAt10, s.recallAt10OtherTenant])));
}

async function dropDatabase(name: string): Promise<void> {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${name}" with (force)`).finally(() => admin.end({ timeout: 5 }));
}

// A signal aborts between steps so `finally` still drops the database; a second one exits at once.
const stopping = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping and dropping the database (again to exit at once)`);
    stopping.abort(new Error(`interrupted by ${signal}`));
    process.once(signal, () => process.exit(130));
  });
}

main(stopping.signal).then(
  (code) => void (process.exitCode ||= code),
  (err: unknown) => {
    progress(stopping.signal.aborted ? 'interrupted' : `failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = stopping.signal.aborted ? 130 : 1;
  },
);
