/**
 * Knowledge-base benchmark: ingestion throughput (extract -> chunk -> replace chunks, the ingest activity's
 * code without the Temporal dispatch around it) and full-text search latency over the resulting chunks.
 * Creates a throwaway database, generates deterministic synthetic Markdown, prints a table to stdout and,
 * last, one JSON line with every number. Progress goes to stderr. `npm run bench:knowledge`; settings:
 * BENCH_DOCS, BENCH_CONCURRENCY, BENCH_SEARCH_RUNS, BENCH_SEED, BENCH_DATABASE_ADMIN_URL.
 */
import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { sql, type SQL } from 'drizzle-orm';
import postgres from 'postgres';
import { createDb, type Db, type DbOrTx } from '../src/db/client';
import { ensureDatabase, runMigrations } from '../src/db/migrate';
import { knowledgeBase, knowledgeDocument } from '../src/db/schema/index';
import { countTokens } from '../src/knowledge/chunk';
import { ingestDocument } from '../src/knowledge/ingest';
import { searchChunks } from '../src/knowledge/search';
import { createProject } from '../src/tenancy/projects-store';
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
const WARMUP_RUNS = 5;
const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const progress = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

// Stop words first: with Zipf weights they dominate as in real prose, and to_tsvector drops them, so the
// index sees a realistic share of the text. The rest is support/product vocabulary of a typical knowledge base.
const VOCAB = `
  the of and to a in is that for it as with be on not this are by from or at an can will your you we if customer account billing
  invoice payment refund policy order shipping delivery product service support request ticket agent response time days business
  team contact email phone address update change cancel subscription plan price discount credit card bank transfer receipt tax
  region country currency amount balance charge fee monthly annual renewal trial upgrade downgrade feature limit usage quota
  storage data export import report dashboard settings profile password security login access permission role admin user member
  invite organization workspace project integration webhook api key token error status issue problem solution step guide document
  article section example note warning important process review approval manager escalation priority urgent standard premium
  enterprise basic partner vendor supplier warehouse inventory stock item quantity package label tracking carrier return exchange
  damage warranty repair replacement claim form terms condition agreement contract notice period week month year hour minute
  schedule calendar meeting call chat message notification reminder alert mobile desktop browser application version release
  install configure connect sync backup restore network server cloud latency performance availability outage incident maintenance
  window compliance privacy consent record retention deletion audit log history timeline event activity quickly usually always
  never often sometimes carefully directly automatically manually securely new old current previous next first last available
  pending active inactive valid invalid free paid open close start stop send receive create delete edit view download upload share
  copy move check verify confirm submit complete follow ensure provide include require allow prevent help explain describe about
  after before during within without between under over through across per each every other lead staff training onboarding
  handbook holiday leave expense travel reimbursement payroll benefit`.trim().split(/\s+/);
// Rare markers: each appears in only a few chunks, the needle-in-a-haystack case of retrieval.
const MARKERS = ['zephyrine', 'quillbrook', 'marrowfen', 'tessaract', 'obsidianlark'];
// A fixed phrase sprinkled in now and then so the quoted-phrase query finds something.
const PHRASE = 'quarterly revenue forecast';

/** mulberry32: tiny, fast, and identical on every run for a given seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let weightSum = 0;
const cumulative = VOCAB.map((_, i) => (weightSum += 1 / (i + 1)));
function zipfWord(rand: () => number): string {
  const x = rand() * weightSum;
  let [lo, hi] = [0, cumulative.length - 1];
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    [lo, hi] = cumulative[mid]! < x ? [mid + 1, hi] : [lo, mid];
  }
  return VOCAB[lo]!;
}

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
    out(JSON.stringify({
      benchmark: 'knowledge',
      settings: { docs: DOCS, wordsPerDoc: WORDS_PER_DOC, concurrency: CONCURRENCY, searchRuns: SEARCH_RUNS, warmupRuns: WARMUP_RUNS, seed: SEED, cpus: os.cpus().length, node: process.version },
      ingest: { ...ingest, inputBytes, avgTokensPerChunk: avgTokens, includesTemporal: false },
      search: { queries: search, summary, explain: { query: MARKERS[0], match: 'all', ginIndexUsed: ginUsed, plan } },
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
