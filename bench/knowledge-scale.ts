/**
 * Synthetic knowledge at scale for bench/knowledge.ts: BENCH_CHUNKS chunks with embeddings, written with bulk
 * SQL (no ingestion, no embeddings API), in one base of one project plus a tenth as many in another project's
 * base that shares the index. Text and vectors share one topic structure: a document is about one topic, its
 * chunks use that topic's words and lie near that topic's centroid, so full-text and vector rankers agree as
 * they do on real data.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Db, DbHandle } from '../src/db/client';
import { knowledgeBase } from '../src/db/schema/index';
import { createProject } from '../src/tenancy/projects-store';
import { prng, VOCAB, zipf, zipfWord } from './knowledge-corpus';

export const CHUNKS_PER_DOC = 50;
/** A document's title names its topic, so a hit can be judged relevant to a topic's question: {@link topicOfTitle}. */
const TOPIC_TITLE = 'Synthetic topic ';
export const topicOfTitle = (title: string): number | undefined =>
  title.startsWith(TOPIC_TITLE) ? Number(title.slice(TOPIC_TITLE.length).split(' ')[0]) : undefined;
const WORDS_PER_CHUNK = 120;
const TOPIC_WORDS = 40;
/** Dimensions of each topic's own subspace: chunks of a topic vary along a few directions, not all 384. */
const TOPIC_RANK = 8;

export interface Corpus {
  dims: number;
  topics: number;
  /** Vectors of every chunk share a direction (real embeddings are anisotropic: unrelated texts sit at cos ~0.2). */
  common: Float32Array;
  centroids: Float32Array[];
  bases: Float32Array[][];
  words: string[][];
  /** Pseudo-words: a vocabulary as large as a real corpus', so most words are rare. */
  rare: string[];
}

function gaussian(rand: () => number): number {
  let u = 0;
  while (u === 0) u = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

function unitVector(rand: () => number, dims: number): Float32Array {
  const v = Float32Array.from({ length: dims }, () => gaussian(rand));
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

const SYLLABLES = 'ka lo mi ne ru sa ti vo zu be da fe gi ho ja ku le mo nu pi re si to va we xi yo ze bra cri dro fla gri plo sta tre vla zor kin'.split(' ');

export function makeCorpus(seed: number, dims: number, topics: number): Corpus {
  const rand = prng(seed ^ 0x5eed);
  const rare = [...new Set(Array.from({ length: 30_000 }, () =>
    Array.from({ length: 2 + Math.floor(rand() * 3) }, () => SYLLABLES[Math.floor(rand() * SYLLABLES.length)]).join('')))];
  return {
    dims,
    topics,
    common: unitVector(rand, dims),
    centroids: Array.from({ length: topics }, () => unitVector(rand, dims)),
    bases: Array.from({ length: topics }, () => Array.from({ length: TOPIC_RANK }, () => unitVector(rand, dims))),
    words: Array.from({ length: topics }, () => Array.from({ length: TOPIC_WORDS }, () => rare[Math.floor(rand() * rare.length)]!)),
    rare,
  };
}

/** A unit vector of `topic`: common direction + centroid + topic-subspace spread + isotropic noise (within-topic cos ~0.6). */
export function topicVector(corpus: Corpus, rand: () => number, topic: number): number[] {
  const v = new Float64Array(corpus.dims);
  const centroid = corpus.centroids[topic]!;
  const spread = corpus.bases[topic]!.map(() => 0.25 * gaussian(rand));
  const noise = 0.5 / Math.sqrt(corpus.dims);
  for (let i = 0; i < corpus.dims; i++) {
    let x = 0.5 * corpus.common[i]! + centroid[i]! + noise * gaussian(rand);
    for (let k = 0; k < TOPIC_RANK; k++) x += spread[k]! * corpus.bases[topic]![k]![i]!;
    v[i] = x;
  }
  const norm = Math.hypot(...v);
  return Array.from(v, (x) => Math.round((x / norm) * 1e6) / 1e6);
}

const topicSamplers = new WeakMap<Corpus, Array<(rand: () => number) => string>>();
function topicWord(corpus: Corpus, topic: number, rand: () => number): string {
  const samplers = topicSamplers.get(corpus) ?? corpus.words.map((w) => zipf(w));
  topicSamplers.set(corpus, samplers);
  return samplers[topic]!(rand);
}

function chunkText(corpus: Corpus, rand: () => number, topic: number): { heading: string; content: string } {
  const heading = Array.from({ length: 2 + Math.floor(rand() * 3) }, () => topicWord(corpus, topic, rand)).join(' ');
  const words: string[] = [];
  for (let i = 0; i < WORDS_PER_CHUNK; i++) {
    const r = rand();
    words.push(r < 0.25 ? topicWord(corpus, topic, rand) : r < 0.3 ? corpus.rare[Math.floor(rand() * corpus.rare.length)]! : zipfWord(rand));
    if (i % 15 === 14) words[i] += '.';
  }
  return { heading, content: words.join(' ') };
}

/** A question about `topic`: two of its frequent words and one everyday content word (no stop word). */
export function topicQuery(corpus: Corpus, rand: () => number, topic: number): string {
  const pick = () => corpus.words[topic]![Math.floor(rand() * 10)]!;
  return `${pick()} ${pick()} ${VOCAB[40 + Math.floor(rand() * (VOCAB.length - 40))]}`;
}

/**
 * Writes `chunks` chunks (documents of {@link CHUNKS_PER_DOC}, one topic each) with their embeddings into a new
 * base of a new project, `concurrency` batches at a time. Embeddings are written directly, not through
 * saveEmbeddings, so no HNSW index exists until the caller builds one.
 */
export async function fillBase(
  handle: DbHandle, corpus: Corpus, opts: { name: string; chunks: number; seed: number; model: string; concurrency: number; stop: AbortSignal },
): Promise<string> {
  const { db, sql: pg } = handle;
  const { project } = await createProject(db, { name: opts.name, slug: `kb-scale-${opts.seed}-${randomUUID().slice(0, 8)}` });
  const [kb] = await db.insert(knowledgeBase).values({ projectId: project.id, name: opts.name }).returning();
  const docs = Math.ceil(opts.chunks / CHUNKS_PER_DOC);
  let next = 0;
  await Promise.all(Array.from({ length: opts.concurrency }, async () => {
    while (next < docs) {
      opts.stop.throwIfAborted();
      const first = next;
      next += 20;
      await writeDocuments(pg, corpus, kb!.id, opts, first, Math.min(docs, first + 20));
    }
  }));
  return kb!.id;
}

async function writeDocuments(
  pg: DbHandle['sql'], corpus: Corpus, kbId: string, opts: { chunks: number; seed: number; model: string }, from: number, to: number,
): Promise<void> {
  const docIds: string[] = [];
  const docTopics: number[] = [];
  const c = { id: [] as string[], doc: [] as string[], index: [] as number[], heading: [] as string[], content: [] as string[], vector: [] as string[] };
  for (let d = from; d < to; d++) {
    // Each document has its own stream, so the data do not depend on how batches were interleaved.
    const rand = prng(opts.seed * 1_000_003 + d);
    const topic = Math.floor(rand() * corpus.topics);
    const docId = randomUUID();
    docIds.push(docId);
    docTopics.push(topic);
    for (let i = 0; i < CHUNKS_PER_DOC && d * CHUNKS_PER_DOC + i < opts.chunks; i++) {
      const { heading, content } = chunkText(corpus, rand, topic);
      c.id.push(randomUUID()); c.doc.push(docId); c.index.push(i); c.heading.push(heading); c.content.push(content);
      c.vector.push(`[${topicVector(corpus, rand, topic).join(',')}]`);
    }
  }
  await pg.begin(async (tx) => {
    await tx`insert into knowledge_document (id, knowledge_base_id, title, content_type, content_hash, processing_status, total_chunks)
      select id, ${kbId}::uuid, ${TOPIC_TITLE} || topic || ' ' || id, 'text/markdown', md5(id::text), 'completed', ${CHUNKS_PER_DOC}
      from unnest(${docIds}::uuid[], ${docTopics}::int[]) as t(id, topic)`;
    await tx`insert into knowledge_chunk (id, document_id, knowledge_base_id, chunk_index, heading, content, token_count)
      select id, doc, ${kbId}::uuid, idx, heading, content, ${Math.round(WORDS_PER_CHUNK * 1.3)}
      from unnest(${c.id}::uuid[], ${c.doc}::uuid[], ${c.index}::int[], ${c.heading}::text[], ${c.content}::text[]) as t(id, doc, idx, heading, content)`;
    await tx`insert into knowledge_chunk_embedding (chunk_id, knowledge_base_id, model, dims, embedding)
      select id, ${kbId}::uuid, ${opts.model}, ${corpus.dims}, v::vector
      from unnest(${c.id}::uuid[], ${c.vector}::text[]) as t(id, v)`;
  });
}

/** Settles the tables as autovacuum would after a bulk load: merged GIN pending list, current statistics. */
export async function settle(db: Db): Promise<void> {
  await db.execute(sql`vacuum analyze knowledge_chunk`);
  await db.execute(sql`vacuum analyze knowledge_chunk_embedding`);
  await db.execute(sql`vacuum analyze knowledge_document`);
}
